// Narrow tiles (Tile::narrow_outputs) convert a block pass by pass; every other tile sample by
// sample. The two loops must give the same bits, whatever the converters, noise and encoding.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/threads.h"
#include "tile_fixtures.h"

namespace mho::testing {
namespace {

// Restores the library's settings when a test ends, also on failure.
struct Settings {
  int narrow = Tile::narrow_outputs, threads = mho::threads();
  ~Settings() {
    Tile::narrow_outputs = narrow;
    mho::set_threads(threads);
  }
};

template <typename T>
RowMat<T> run(const TileSpec& s, const RowMatD& w, const RowMatD& x, int narrow) {
  Tile::narrow_outputs = narrow;
  // Two splits: a block boundary inside the batch, and a short tail.
  return forward_in_splits<T>(s, w, x, {int(x.rows()) - 37, 37}, 5, s.drift ? 3600.0 : 0.0);
}

template <typename T>
void expect_same_bits(const TileSpec& s, int n_out, const std::string& what) {
  const RowMatD w = normal_matrix(s.rows, n_out, 21, 0.3);
  RowMatD x = normal_matrix(700, s.rows, 22);
  for (Eigen::Index i = 0; i < x.size(); i += 5) x.data()[i] = 0.0;  // some undriven rows
  for (int r = 0; r < 30; ++r) x.row(r * 7).setZero();              // and whole undriven passes
  const RowMat<T> per_sample = run<T>(s, w, x, 0);
  const RowMat<T> per_pass = run<T>(s, w, x, n_out);
  ASSERT_EQ(per_sample.rows(), per_pass.rows());
  ASSERT_GT(per_sample.cwiseAbs().maxCoeff(), T(0)) << what;
  EXPECT_EQ(0, std::memcmp(per_sample.data(), per_pass.data(), sizeof(T) * std::size_t(per_pass.size())))
      << what << ": the pass-major loop changed an output bit";
}

std::vector<std::pair<std::string, TileSpec>> narrow_specs() {
  std::vector<std::pair<std::string, TileSpec>> out;
  TileSpec bs = realistic_spec(9, 64);
  bs.dac.mode = "bitserial";
  bs.dac.bits_per_plane = 1;
  bs.bits_per_cell = 2;
  bs.adc.noise_lsb = 0.0;
  out.push_back({"bit-serial, 2-bit cells, read noise", bs});
  TileSpec noisy = bs;
  noisy.adc.noise_lsb = 0.5;
  noisy.adc.inl_lsb = 0.7;
  out.push_back({"bit-serial with ADC noise and INL", noisy});
  TileSpec offset = bs;
  offset.encoding = "offset";
  offset.subtract = "digital";
  out.push_back({"offset encoding, digital subtraction (reference columns)", offset});
  TileSpec two = bs;
  two.dac.signed_mode = "two_pass";
  two.drift_compensation = "per_column";
  two.cell.drift = "constant";
  two.cell.drift_params = {0.05, 0.01};
  out.push_back({"two-pass signed inputs, drift compensation", two});
  TileSpec multi = realistic_spec(9, 64);
  multi.dac.mode = "multilevel";
  out.push_back({"multilevel DAC, 8-bit cells", multi});
  TileSpec ideal_adc = bs;
  ideal_adc.adc.bits = 0;
  out.push_back({"ideal ADC", ideal_adc});
  TileSpec charge = TileSpec::ideal(9, 64);
  charge.accumulation = "charge";
  charge.cap.scheme = "binary_weighted";
  charge.weight_bits = 4;
  charge.bits_per_cell = 4;
  charge.cell.bits = 16;
  charge.cap.mismatch_sigma = 0.01;
  charge.cap.injection_offset_V = 1e-3;
  charge.programming_error = charge.read_noise = true;
  charge.dac.mode = "bitserial";
  charge.dac.input_bits = 4;
  charge.dac.range = "fixed";
  charge.adc.bits = 6;
  charge.adc.range = "calibrated";
  out.push_back({"charge domain, mismatch, kT/C and injection", charge});
  return out;
}

TEST(TileNarrow, PassMajorLoopGivesTheSameBitsAsPerSample) {
  Settings keep;
  for (int threads : {1, 2}) {
    mho::set_threads(threads);  // at 2 threads the pass-major loop runs only inside blocks
    for (const auto& [name, spec] : narrow_specs())
      for (int n_out : {1, 2, 3}) {
        expect_same_bits<float>(spec, n_out, name + ", float, " + std::to_string(n_out) + " outputs");
        expect_same_bits<double>(spec, n_out, name + ", double, " + std::to_string(n_out) + " outputs");
      }
  }
}

}  // namespace
}  // namespace mho::testing
