#include <gtest/gtest.h>

#include "tile_fixtures.h"

namespace mho {
namespace {

using testing::normal_matrix;
using testing::realistic_spec;
using testing::RowMatD;

template <typename T>
RowMat<T> run(TileSpec s, const RowMatD& w, const RowMatD& x, std::vector<int> splits,
              std::uint64_t chip = 0) {
  Tile t(s, 3);
  t.program(w, chip);
  t.set_time(100.0);
  RowMat<T> xt = x.cast<T>();
  t.calibrate<T>(xt.topRows(64));
  RowMat<T> y(x.rows(), w.cols());
  int at = 0;
  for (int n : splits) {
    y.middleRows(at, n) = t.forward<T>(xt.middleRows(at, n));
    at += n;
  }
  EXPECT_EQ(at, x.rows());
  return y;
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
