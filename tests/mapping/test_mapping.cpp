#include <gtest/gtest.h>

#include <vector>

#include "mapping/mapping.h"

namespace mho {
namespace {

TileSpec spec(int rows, int cols, int weight_bits, int cell_bits, const char* encoding = "differential") {
  TileSpec s;
  s.rows = rows;
  s.cols = cols;
  s.weight_bits = weight_bits;
  s.cell.bits = cell_bits;
  s.encoding = encoding;
  return s;
}

// Every (group, row, col) of every layer's matrices is covered by exactly one placement, and
// no two placements overlap within one array.
void expect_each_weight_once(const std::vector<MatrixLayer>& mats, const TileSpec& s) {
  Mapping m(mats, s);
  for (const MatrixLayer& l : mats) {
    std::vector<int> hits(std::size_t(l.groups) * l.rows * l.cols, 0);
    for (const Placement& p : m.placements()) {
      if (p.layer != l.layer) continue;
      EXPECT_LE(p.rows, s.rows);
      EXPECT_LE(s.physical_columns(p.cols), s.cols);
      for (int r = p.row0; r < p.row0 + p.rows; ++r)
        for (int c = p.col0; c < p.col0 + p.cols; ++c) hits[(std::size_t(p.group) * l.rows + r) * l.cols + c]++;
    }
    for (int h : hits) ASSERT_EQ(h, 1) << "layer " << l.layer;
  }
}

TEST(Mapping, EveryWeightPlacedExactlyOnce) {
  const std::vector<MatrixLayer> mats = {{0, "a", 1, 25, 6},   {1, "b", 1, 600, 300}, {2, "c", 4, 300, 70},
                                         {3, "dw", 32, 9, 1},  {4, "e", 1, 256, 128}, {5, "f", 2, 1000, 3}};
  expect_each_weight_once(mats, spec(256, 256, 8, 8));
  expect_each_weight_once(mats, spec(128, 256, 8, 2));
  expect_each_weight_once(mats, spec(64, 100, 6, 4, "offset"));
}

TEST(Mapping, TileCountsAndUtilizationByHand) {
  // 400x120 on 256x256, differential, one slice: 2 row blocks x 1 column block (128 outputs
  // per array); weight cells 400*120*2 of 2*65536.
  Mapping m({{0, "fc", 1, 400, 120}}, spec(256, 256, 8, 8));
  ASSERT_EQ(m.layers().size(), 1u);
  EXPECT_EQ(m.layers()[0].row_blocks, 2);
  EXPECT_EQ(m.layers()[0].col_blocks, 1);
  EXPECT_EQ(m.arrays(), 2);
  EXPECT_EQ(m.weight_cells(), 400LL * 120 * 2);
  EXPECT_DOUBLE_EQ(m.utilization(), 96000.0 / 131072.0);
  // 4 slices of 2-bit cells: 32 outputs per array -> 4 column blocks, 8 arrays, 8 cells per weight.
  Mapping s4({{0, "fc", 1, 400, 120}}, spec(256, 256, 8, 2));
  EXPECT_EQ(s4.layers()[0].col_blocks, 4);
  EXPECT_EQ(s4.arrays(), 8);
  EXPECT_EQ(s4.weight_cells(), 400LL * 120 * 8);
  // Offset encoding, 2 slices: (256 - 2) / 2 = 127 outputs per array.
  EXPECT_EQ(spec(256, 256, 8, 4, "offset").max_outputs(), 127);
}

TEST(Mapping, DoublingTheArrayByHand) {
  // 600x300 at 256x256 (128 outputs): 3 x 3 = 9 arrays; at 512x512 (256 outputs): 2 x 2 = 4.
  const std::vector<MatrixLayer> mats = {{0, "l", 1, 600, 300}};
  Mapping small(mats, spec(256, 256, 8, 8)), big(mats, spec(512, 512, 8, 8));
  EXPECT_EQ(small.arrays(), 9);
  EXPECT_EQ(big.arrays(), 4);
  EXPECT_DOUBLE_EQ(small.utilization(), 600.0 * 300 * 2 / (9.0 * 256 * 256));
  EXPECT_DOUBLE_EQ(big.utilization(), 600.0 * 300 * 2 / (4.0 * 512 * 512));
}

TEST(Mapping, DepthwiseGroupsPackBlockDiagonally) {
  // 32 groups of 9x1: min(256 / 9, 128 / 1) = 28 per array -> 2 arrays.
  Mapping m({{0, "dw", 32, 9, 1}}, spec(256, 256, 8, 8));
  EXPECT_EQ(m.layers()[0].groups_per_array, 28);
  EXPECT_EQ(m.arrays(), 2);
  EXPECT_EQ(m.placements()[27].array, 0);
  EXPECT_EQ(m.placements()[28].array, 1);
}

TEST(Mapping, ReplicationAndErrors) {
  Mapping r({{0, "fc", 1, 400, 120}}, spec(256, 256, 8, 8), {{0, 3}});
  EXPECT_EQ(r.arrays(), 6);
  EXPECT_DOUBLE_EQ(r.utilization(), 96000.0 / 131072.0);  // copies hold weights too
  EXPECT_THROW(Mapping({{0, "fc", 1, 4, 4}}, spec(256, 256, 8, 8), {{5, 2}}), std::invalid_argument);
  EXPECT_THROW(Mapping({{0, "fc", 1, 4, 4}}, spec(256, 256, 8, 8), {{0, 0}}), std::invalid_argument);
  EXPECT_THROW(Mapping({{0, "fc", 1, 4, 4}}, spec(256, 1, 8, 8)), std::invalid_argument);
}

TEST(Mapping, PerLayerHardwareByHand) {
  // Layer 0: 400x120 weights on the default 256x256 arrays of 8-bit weights on 8-bit cells
  // (2 cells a weight: 128 outputs an array): 2 row blocks x 1 column block. Layer 1 on its
  // own 128x128 arrays (64 outputs each): 2 x 2. Layer 2 digital: no placements.
  LayerHardware hw;
  hw.specs.emplace(1, spec(128, 128, 8, 8));
  hw.digital.insert(2);
  const Mapping m({{0, "a", 1, 400, 120}, {1, "b", 1, 200, 100}, {2, "c", 1, 50, 10}}, spec(256, 256, 8, 8), {},
                  hw);
  ASSERT_EQ(m.layers().size(), 2u);
  EXPECT_EQ(m.layers()[0].arrays, 2);
  EXPECT_EQ(m.layers()[1].arrays, 4);
  EXPECT_EQ(m.arrays(), 6);
  EXPECT_EQ(m.spec(1).rows, 128);
  EXPECT_EQ(m.spec(0).rows, 256);
  EXPECT_TRUE(m.digital(2));
  for (const Placement& p : m.placements()) EXPECT_NE(p.layer, 2);
  EXPECT_EQ(m.layers()[1].allocated_cells, 4LL * 128 * 128);
  EXPECT_EQ(m.weight_cells(), (400LL * 120 + 200LL * 100) * 2);
}

TEST(Mapping, PerLayerHardwareErrors) {
  const std::vector<MatrixLayer> mats = {{0, "fc", 1, 4, 4}};
  LayerHardware unknown;
  unknown.digital.insert(3);
  EXPECT_THROW(Mapping(mats, spec(256, 256, 8, 8), {}, unknown), std::invalid_argument);
  LayerHardware both;
  both.digital.insert(0);
  both.specs.emplace(0, spec(128, 128, 8, 8));
  EXPECT_THROW(Mapping(mats, spec(256, 256, 8, 8), {}, both), std::invalid_argument);
  LayerHardware digital;
  digital.digital.insert(0);
  EXPECT_THROW(Mapping(mats, spec(256, 256, 8, 8), {{0, 2}}, digital), std::invalid_argument);  // no arrays to copy
  EXPECT_EQ(Mapping(mats, spec(256, 256, 8, 8), {{0, 1}}, digital).arrays(), 0);
  LayerHardware narrow;
  narrow.specs.emplace(0, spec(256, 1, 8, 8));
  EXPECT_THROW(Mapping(mats, spec(256, 256, 8, 8), {}, narrow), std::invalid_argument);
}

}  // namespace
}  // namespace mho
