// What a programmed tile holds: Tile::state_bytes() against glibc's count of the bytes in use,
// the default design within 12 bytes per cell, and the operands rebuilt in the other
// precision with the bits of a tile that never switched.
#include <malloc.h>

#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "crossbar/tile.h"
#include "devices/presets.h"
#include "tile_fixtures.h"

namespace mho {
namespace {

using testing::normal_matrix;
using testing::RowMatD;

// data/default_design.yaml's hardware section (python/mho/config.py builds the same spec).
TileSpec default_design() {
  TileSpec s;
  s.rows = 256;
  s.cols = 256;
  s.cell = cell_preset("rram_neurosim_22nm");
  s.weight_bits = 8;
  s.bits_per_cell = 2;
  s.weight_scale = "per_column";
  s.encoding = "differential";
  s.subtract = "analog";
  s.dac.input_bits = 8;
  s.dac.mode = "bitserial";
  s.dac.bits_per_plane = 1;
  s.dac.signed_mode = "unsigned";
  s.adc.bits = 8;
  s.adc.columns_per_adc = 8;
  s.seed = 1;
  return s;
}

// Bytes malloc has handed out and not taken back, in its arenas and in its own mappings.
std::size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

double bytes_per_cell(const Tile& t) {
  return double(t.state_bytes()) / (double(t.num_inputs()) * t.physical_columns());
}

TEST(TileMemory, StateBytesAreTheHeapTheTilesHold) {
  const TileSpec s = default_design();
  const RowMatD w = normal_matrix(s.rows, s.max_outputs(), 11, 0.1);
  const RowMat<float> x = normal_matrix(32, s.rows, 12).cwiseAbs().cast<float>();
  {  // first calls set up OpenMP's and the BLAS's own allocations outside the count
    Tile warm(s, 99);
    warm.program(w);
    warm.calibrate<float>(x);
    warm.forward<float>(x);
    warm.forward<double>(x.cast<double>());
  }
  constexpr int kTiles = 16;
  std::vector<std::unique_ptr<Tile>> tiles;
  tiles.reserve(kTiles);
  const std::size_t before = heap_in_use();
  for (int k = 0; k < kTiles; ++k) {
    tiles.push_back(std::make_unique<Tile>(s, std::uint64_t(k)));
    tiles.back()->program(w, 0);
    tiles.back()->calibrate<float>(x);
    tiles.back()->forward<float>(x);
  }
  const double held = double(heap_in_use() - before);
  double reported = 0.0;
  for (const auto& t : tiles) reported += double(t->state_bytes());
  // What state_bytes() leaves out: the spec's strings (the cell preset's source text, in the
  // spec and the cell model) and malloc's 16-byte headers, a few KiB per tile.
  EXPECT_GE(held, reported);
  EXPECT_LE(held, reported + kTiles * 8192.0) << "held " << held << " B, reported " << reported << " B";
}

TEST(TileMemory, DefaultDesignWithinTwelveBytesPerCell) {
  // Per cell: per device of the programmed block, both of a differential pair and every slice.
  const TileSpec s = default_design();
  Tile t(s, 3);
  t.program(normal_matrix(s.rows, s.max_outputs(), 21, 0.1), 4);
  ASSERT_EQ(t.physical_columns(), s.cols);
  const double after_program = bytes_per_cell(t);  // the double operands
  EXPECT_LE(after_program, 12.0);
  const RowMat<float> x = normal_matrix(16, s.rows, 22).cwiseAbs().cast<float>();
  t.calibrate<float>(x);
  t.forward<float>(x);
  // Weights (8 bytes per 8 devices) and float value and variance matrices (one column per
  // output and slice: 4 bytes per 2 devices each): 5 bytes per cell, and the GEMM columns'
  // lists and per-output vectors (about 13 KiB, 0.2 bytes per cell).
  EXPECT_LE(bytes_per_cell(t), 5.25);
  EXPECT_GE(bytes_per_cell(t), 5.0);
  EXPECT_LT(bytes_per_cell(t), after_program);
}

// A tile that reads in float, double, float and double in turn gives the bits of tiles that
// only ever read in one precision (same samples): switching rebuilds the same operands.
// Fixed converter ranges, so that no calibration (whose ranges depend on its precision) differs.
template <typename T>
RowMat<T> read_alone(const TileSpec& s, const RowMatD& w, const RowMatD& x, double t_s, int first, int n) {
  Tile t(s, 5);
  t.program(w, 2);
  if (t_s > 0.0) t.set_time(t_s);
  return t.forward<T>(x.middleRows(first, n).cast<T>(), first);
}

void expect_switching_changes_no_bit(TileSpec s, double t_s) {
  s.dac.range = "fixed";
  s.adc.range = "fixed";
  const RowMatD w = normal_matrix(s.rows, 6, 31, 0.2);
  const RowMatD x = 0.3 * normal_matrix(40, s.rows, 32).cwiseAbs();
  Tile t(s, 5);
  t.program(w, 2);
  if (t_s > 0.0) t.set_time(t_s);
  EXPECT_EQ(t.forward<float>(x.topRows(10).cast<float>()), read_alone<float>(s, w, x, t_s, 0, 10));
  EXPECT_EQ(t.forward<double>(x.middleRows(10, 10)), read_alone<double>(s, w, x, t_s, 10, 10));
  EXPECT_EQ(t.forward<float>(x.middleRows(20, 10).cast<float>()), read_alone<float>(s, w, x, t_s, 20, 10));
  const Eigen::VectorXd alpha = t.drift_scale();
  if (t_s > 0.0) t.set_time(t_s);  // the compensation read again, from float operands
  EXPECT_EQ(t.drift_scale(), alpha);
  EXPECT_EQ(t.forward<double>(x.middleRows(30, 10)), read_alone<double>(s, w, x, t_s, 30, 10));
}

TEST(TileMemory, SwitchingPrecisionChangesNoBit) {
  expect_switching_changes_no_bit(default_design(), 0.0);
  TileSpec pcm = default_design();
  pcm.rows = pcm.cols = 64;
  pcm.cell = cell_preset("pcm_joshi2020");
  pcm.drift_compensation = "per_column";
  expect_switching_changes_no_bit(pcm, 3600.0);
  TileSpec wires = default_design();
  wires.rows = wires.cols = 48;
  wires.wires.r_row_ohm = wires.wires.r_col_ohm = 2.0;
  expect_switching_changes_no_bit(wires, 0.0);
}

}  // namespace
}  // namespace mho
