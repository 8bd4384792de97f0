#include "adc_dac/dac.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/percentile.h"

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
  const double inv_lsb = max_code_ / x_max;
  const double inv_plane = 1.0 / plane_max_;
#pragma omp parallel for schedule(static)
  for (Eigen::Index b = 0; b < B; ++b) {
    for (Eigen::Index i = 0; i < n; ++i) {
      const double v = double(x(b, i));
      for (int k = 0; k < P; ++k) {
        const DacPlane& pl = planes_[k];
        double mag, sgn = 1.0;
        if (bipolar) {
          mag = std::abs(v);
          sgn = v < 0 ? -1.0 : 1.0;
        } else {
          mag = pl.pass == 0 ? std::max(v, 0.0) : std::max(-v, 0.0);
        }
        double level;
        if (is_ideal()) {
          level = mag / x_max;
        } else {
          const long code = std::lround(std::min(mag * inv_lsb, double(max_code_)));
          level = double((code >> pl.shift_bits) & plane_max_) * inv_plane;
        }
        levels(k * B + b, i) = T(sgn * level);
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
