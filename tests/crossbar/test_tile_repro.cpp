#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <random>

#include "crossbar/gemm.h"
#include "tile_fixtures.h"

namespace mho {
namespace {

using testing::normal_matrix;
using testing::realistic_spec;
using testing::RowMatD;

template <typename T>
RowMat<T> run(const TileSpec& s, const RowMatD& w, const RowMatD& x, std::vector<int> splits,
              std::uint64_t chip = 0) {
  return testing::forward_in_splits<T>(s, w, x, splits, chip, 100.0);
}

class Repro : public ::testing::TestWithParam<const char*> {};

TEST_P(Repro, SameSeedBitIdenticalForAnyThreadsAndSplit) {
  TileSpec s = realistic_spec(128, 128);
  s.dac.mode = GetParam();
  s.dac.bits_per_plane = 2;
  s.bits_per_cell = 4;
  s.cell.drift = "constant";
  s.cell.drift_params = {0.05, 0.01};
  s.cell.stuck_at_min_prob = 0.01;
  s.seed = 42;
  RowMatD w = normal_matrix(100, 30, 31), x = normal_matrix(300, 100, 32);
  set_num_threads(2);
  RowMat<float> a = run<float>(s, w, x, {300});
  RowMat<float> b = run<float>(s, w, x, {1, 2, 7, 90, 200});
  set_num_threads(1);
  RowMat<float> c = run<float>(s, w, x, {300});
  RowMat<float> d = run<float>(s, w, x, {150, 149, 1});
  set_num_threads(2);
  EXPECT_TRUE(a == b);
  EXPECT_TRUE(a == c);
  EXPECT_TRUE(a == d);
  RowMatD e = run<double>(s, w, x, {300}), f = run<double>(s, w, x, {17, 283});
  EXPECT_TRUE(e == f);
  // Another seed or another chip gives another draw.
  TileSpec s2 = s;
  s2.seed = 43;
  EXPECT_FALSE(a == run<float>(s2, w, x, {300}));
  EXPECT_FALSE(a == run<float>(s, w, x, {300}, 1));
}

INSTANTIATE_TEST_SUITE_P(Modes, Repro, ::testing::Values("multilevel", "bitserial"));

TEST(Repro, ExplicitSampleOffsetReplaysAStream) {
  TileSpec s = realistic_spec(64, 64);
  RowMatD w = normal_matrix(64, 16, 33), x = normal_matrix(50, 64, 34);
  Tile t(s);
  t.program(w);
  t.calibrate<double>(x);
  RowMatD all = t.forward<double>(x);
  RowMatD tail = t.forward<double>(x.bottomRows(20), 30);
  EXPECT_TRUE(tail == all.bottomRows(20));
  RowMatD again = t.forward<double>(x.topRows(10), 0);
  EXPECT_TRUE(again == all.topRows(10));
}

}  // namespace
}  // namespace mho

namespace mho {
namespace {

// Without an ADC nothing masks last-bit differences: float outputs of an ideal single-pass
// tile must still be identical for splits of one sample and splits across the BLAS chunks.
TEST(Repro, IdealOutputsBitIdenticalForAnySplit) {
  TileSpec s = TileSpec::ideal(96, 64);
  s.read_noise = true;
  s.cell.read_noise = "proportional";
  s.cell.read_sigma = {0.01};
  RowMatD w = normal_matrix(96, 24, 41), x = normal_matrix(1300, 96, 42);
  auto run = [&](std::vector<int> splits, int threads) {
    set_num_threads(threads);
    Tile t(s);
    t.program(w);
    RowMat<float> xf = x.cast<float>(), y(x.rows(), 24);
    int at = 0;
    for (int n : splits) {
      y.middleRows(at, n) = t.forward<float>(xf.middleRows(at, n));
      at += n;
    }
    set_num_threads(2);
    return y;
  };
  const RowMat<float> a = run({1300}, 2);
  EXPECT_TRUE(a == run({1, 1, 509, 3, 1, 600, 185}, 2));
  EXPECT_TRUE(a == run({1300}, 1));
  EXPECT_TRUE(a == run({512, 512, 276}, 1));
}

}  // namespace
}  // namespace mho

namespace mho {
namespace {

// Every combination issue 10 names: multi-level and bit-serial DACs, 1-4 bits per cell, 1-2
// bits per plane, with and without wires, awkward shapes (30, 61, 122 outputs; rows not a
// multiple of 16), float32 and float64: the same bits for 1-4 threads and for any batch split.
struct Combo {
  const char* mode;
  int bits_per_cell, bits_per_plane;
  bool wires;
};
void PrintTo(const Combo& c, std::ostream* os) {
  *os << c.mode << ", " << c.bits_per_cell << " bits/cell, " << c.bits_per_plane << " bits/plane"
      << (c.wires ? ", wires" : "");
}

class ReproCombos : public ::testing::TestWithParam<Combo> {};

template <typename T>
RowMat<T> combo_run(const TileSpec& s, const RowMatD& w, const RowMatD& x, int threads,
                    const std::vector<int>& splits) {
  set_num_threads(threads);
  RowMat<T> y = run<T>(s, w, x, splits);
  set_num_threads(2);
  return y;
}

TEST_P(ReproCombos, BitIdenticalForOneToFourThreadsAndAnySplit) {
  const Combo c = GetParam();
  // Shapes cycle with the combination so that each shape meets every mode.
  static const int kShapes[][2] = {{70, 30}, {61, 61}, {45, 122}};
  const int pick = (c.bits_per_cell + c.bits_per_plane + (c.wires ? 1 : 0)) % 3;
  const int n_in = kShapes[pick][0], n_out = kShapes[pick][1];
  TileSpec s = realistic_spec(80, 0);
  s.weight_bits = 4;
  s.bits_per_cell = c.bits_per_cell;
  s.cols = s.physical_columns(n_out);
  s.dac.mode = c.mode;
  s.dac.input_bits = 4;
  s.dac.bits_per_plane = c.bits_per_plane;
  s.adc.bits = 6;
  s.seed = 7;
  if (c.wires) {
    s.wires.r_row_ohm = 2.0;
    s.wires.r_col_ohm = 3.0;
  }
  const RowMatD w = normal_matrix(n_in, n_out, 51), x = normal_matrix(203, n_in, 52);
  const std::vector<int> whole = {203}, split1 = {1, 2, 7, 64, 129}, split2 = {100, 3, 100};
  const RowMat<float> f = combo_run<float>(s, w, x, 1, whole);
  const RowMatD d = combo_run<double>(s, w, x, 1, whole);
  for (int threads = 1; threads <= 4; ++threads) {
    EXPECT_TRUE(f == combo_run<float>(s, w, x, threads, threads % 2 ? split1 : whole)) << threads << " threads, float";
    EXPECT_TRUE(d == combo_run<double>(s, w, x, threads, threads % 2 ? whole : split1)) << threads << " threads, double";
  }
  EXPECT_TRUE(f == combo_run<float>(s, w, x, 3, split2));
  EXPECT_TRUE(d == combo_run<double>(s, w, x, 4, split2));
  // Not trivially equal: the outputs carry the data.
  EXPECT_GT(f.cwiseAbs().maxCoeff(), 0.0f);
}

std::vector<Combo> all_combos() {
  std::vector<Combo> v;
  for (const char* mode : {"multilevel", "bitserial"})
    for (int bpc = 1; bpc <= 4; ++bpc)
      for (int bpp = 1; bpp <= 2; ++bpp)
        for (bool wires : {false, true}) v.push_back({mode, bpc, bpp, wires});
  return v;
}

INSTANTIATE_TEST_SUITE_P(All, ReproCombos, ::testing::ValuesIn(all_combos()),
                         [](const ::testing::TestParamInfo<Combo>& i) {
                           return std::string(i.param.mode) + "_bpc" + std::to_string(i.param.bits_per_cell) +
                                  "_bpp" + std::to_string(i.param.bits_per_plane) +
                                  (i.param.wires ? "_wires" : "");
                         });

// The bare products, on shapes whose calls mix OpenBLAS's main and edge kernels.
TEST(ReproGemm, AlignedAndPlainProductsIgnoreThreadCount) {
  for (const auto& sh : {std::array<int, 3>{512, 60, 100}, {300, 61, 45}, {1000, 30, 70}, {129, 122, 61}}) {
    const RowMatD a64 = normal_matrix(sh[0], sh[2], 61), b64 = normal_matrix(sh[2], sh[1], 62);
    const RowMat<float> a = a64.cast<float>(), b = b64.cast<float>();
    const std::int64_t chunk = gemm_chunk_rows(sh[1], sh[2]);
    RowMat<float> ref_aligned(sh[0], sh[1]), ref_plain;
    set_num_threads(1);
    gemm_aligned<float>(a, b, ref_aligned, 5, chunk);
    gemm<float>(a, b, ref_plain);
    for (int threads = 2; threads <= 4; ++threads) {
      set_num_threads(threads);
      RowMat<float> y(sh[0], sh[1]), z;
      gemm_aligned<float>(a, b, y, 5, chunk);
      gemm<float>(a, b, z);
      EXPECT_TRUE(y == ref_aligned) << sh[0] << "x" << sh[1] << "x" << sh[2] << ", " << threads << " threads";
      EXPECT_TRUE(z == ref_plain) << sh[0] << "x" << sh[1] << "x" << sh[2] << ", " << threads << " threads";
    }
    set_num_threads(2);
    // And they compute the product.
    EXPECT_LT((ref_plain.cast<double>() - a64 * b64).cwiseAbs().maxCoeff(), 1e-4 * sh[2]);
  }
}

}  // namespace
}  // namespace mho

namespace mho {
namespace {

// Energies are summed in fixed point so that grouping cannot change the total; the fast
// conversion equals the exact one, and the sum is the same in any order.
TEST(ReproEnergy, FixedPointConversionExactAndOrderFree) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> e(-57.0, 0.0);  // 7e-18 J .. 1 J
  std::vector<double> j;
  for (int i = 0; i < 200000; ++i) j.push_back(std::exp2(e(rng)));
  EnergyQ fwd = 0, bwd = 0;
  for (double v : j) {
    ASSERT_TRUE(energy_q(v) == EnergyQ(v * 0x1p100)) << v;
    fwd += energy_q(v);
  }
  for (auto it = j.rbegin(); it != j.rend(); ++it) bwd += energy_q(*it);
  EXPECT_TRUE(fwd == bwd);
  long double exact = 0.0L;
  for (double v : j) exact += v;
  EXPECT_NEAR(double(energy_J(fwd)), double(exact), 1e-12 * double(exact));
}

}  // namespace
}  // namespace mho
