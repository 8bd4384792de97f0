#include "adc_dac/dac.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/percentile.h"
#include "common/threads.h"

namespace mho {

Dac::Dac(DacSpec spec) : spec_(std::move(spec)) {
  spec_.validate();
  const int bits = spec_.input_bits;
  int per_plane = bits;
  if (spec_.mode == "bitserial") per_plane = std::min(spec_.bits_per_plane, bits);
  const int n_planes = bits == 0 ? 1 : (bits + per_plane - 1) / per_plane;
  plane_max_ = bits == 0 ? 1 : (1 << per_plane) - 1;
  max_code_ = bits == 0 ? 1 : (1 << bits) - 1;
  const int passes = spec_.signed_mode == "two_pass" ? 2 : 1;
  for (int p = 0; p < passes; ++p)
    for (int k = 0; k < n_planes; ++k) planes_.push_back({k * per_plane, p == 0 ? 1 : -1, p});
}

double Dac::multiplier(int k, double x_max) const {
  const DacPlane& pl = planes_.at(k);
  if (is_ideal()) return pl.sign * x_max;
  const double x_lsb = x_max / max_code_;
  return pl.sign * std::ldexp(1.0, pl.shift_bits) * plane_max_ * x_lsb;
}

template <typename T>
double Dac::calibrated_range(
    const Eigen::Ref<const Eigen::Matrix<T, -1, -1, Eigen::RowMajor>>& x) const {
  std::vector<double> a(x.size());
  Eigen::Index i = 0;
  for (Eigen::Index r = 0; r < x.rows(); ++r)
    for (Eigen::Index c = 0; c < x.cols(); ++c) a[i++] = std::abs(double(x(r, c)));
  const double r = nearest_rank_percentile(a, spec_.percentile);
  return r > 0.0 ? r : 1.0;
}

template <typename T>
void Dac::encode(const Eigen::Ref<const Eigen::Matrix<T, -1, -1, Eigen::RowMajor>>& x,
                 double x_max, Eigen::Matrix<T, -1, -1, Eigen::RowMajor>& levels) const {
  const Eigen::Index B = x.rows(), n = x.cols();
  const int P = num_planes();
  levels.resize(P * B, n);
  const bool bipolar = spec_.signed_mode == "bipolar";
  const bool ideal = is_ideal();
  const T inv = ideal ? T(1.0 / x_max) : T(max_code_ / x_max);
  const T top = T(max_code_), inv_plane = T(1.0 / plane_max_);
  // Rows in chunks, each a flat run of elements when x's rows are contiguous (a tile's inputs
  // usually are; narrow arrays, 9 inputs for a 3x3 depthwise group, would otherwise spend their
  // time on loop overhead). Element by element the same operations either way.
  constexpr Eigen::Index kChunk = 64;
  const Eigen::Index chunks = (B + kChunk - 1) / kChunk;
  const bool flat = x.outerStride() == n;
#pragma omp parallel num_threads(threads())
  {
    // Magnitude codes of the chunk's rows (continuous levels for the ideal DAC), then the planes.
    std::vector<T> code(static_cast<std::size_t>(n * kChunk));
#pragma omp for schedule(static)
    for (Eigen::Index q = 0; q < chunks; ++q) {
      const Eigen::Index b0 = q * kChunk, rows = std::min(kChunk, B - b0);
      // (row pointer, element count) runs: one for the chunk when flat, else one per row.
      const Eigen::Index runs = flat ? 1 : rows, len = flat ? rows * n : n;
      for (Eigen::Index u = 0; u < runs; ++u) {
        const T* xr = x.row(b0 + u).data();
        T* c = code.data() + u * n;
        for (Eigen::Index i = 0; i < len; ++i) {
          const T a = std::abs(xr[i]) * inv;
          c[i] = ideal ? a : std::min(std::nearbyint(a), top);
        }
      }
      for (int k = 0; k < P; ++k) {
        const DacPlane& pl = planes_[k];
        const int shift = pl.shift_bits, mask = plane_max_;
        for (Eigen::Index u = 0; u < runs; ++u) {
          const T* xr = x.row(b0 + u).data();
          const T* c = code.data() + u * n;
          T* out = levels.row(k * B + b0 + u).data();
          for (Eigen::Index i = 0; i < len; ++i) {
            const T v = xr[i];
            const T mag = ideal ? c[i] : T((int(c[i]) >> shift) & mask) * inv_plane;
            // bipolar: the sign drives the voltage; two-pass: pass 0 takes x > 0, pass 1 x < 0.
            const bool on = bipolar || (pl.pass == 0 ? v > T(0) : v < T(0));
            const T sgn = (bipolar && v < T(0)) ? T(-1) : T(1);
            out[i] = on ? sgn * mag : T(0);
          }
        }
      }
    }
  }
}

#define MHO_DAC_INSTANTIATE(T)                                                             \
  template double Dac::calibrated_range<T>(                                               \
      const Eigen::Ref<const Eigen::Matrix<T, -1, -1, Eigen::RowMajor>>&) const;          \
  template void Dac::encode<T>(const Eigen::Ref<const Eigen::Matrix<T, -1, -1, Eigen::RowMajor>>&, \
                               double, Eigen::Matrix<T, -1, -1, Eigen::RowMajor>&) const;
MHO_DAC_INSTANTIATE(float)
MHO_DAC_INSTANTIATE(double)

}  // namespace mho
