// Dataflow access counts (evaluator/dataflow.h) by hand on a tiny conv layer, and the Eyeriss
// study's ordering on AlexNet's convolutions (Chen et al., ISCA 2016, figs. 10-11: at 256 PEs
// and batch 16, row stationary moves data at the least energy of the dataflows).
#include <gtest/gtest.h>

#include <map>

#include "evaluator/dataflow.h"
#include "evaluator/digital_cost.h"
#include "nets/zoo.h"

namespace mho {
namespace {

const std::string kTech = std::string(MHO_SOURCE_DIR) + "/data/tech.yaml";

// 2 images of 2 channels, 5 x 5, 4 filters of 3 x 3, stride 1, no padding: 3 x 3 outputs.
// MACs = 2 4 2 3 3 3 3 = 1296; K = 18 rows of im2col, V = 18 input vectors, 72 weights.
ConvDims tiny() {
  ConvDims d;
  d.N = 2; d.C = 2; d.M = 4; d.R = d.S = 3; d.E = d.F = 3; d.U = 1; d.H = d.W = 5;
  return d;
}

// A 4 x 2 array, 64-byte register files, room for any partial sums.
ArraySpec small_array() {
  ArraySpec a;
  a.pe_rows = 4;
  a.pe_cols = 2;
  a.rf_bits = 512;
  a.psum_glb_bits = 1e9;
  return a;
}

// The Eyeriss paper's normalised energies: DRAM 200, buffer 6, array 2, register file 1.
double eyeriss_energy(const DataflowCounts& c) {
  const LevelCounts* all[] = {&c.weights, &c.inputs, &c.psums};
  double e = 6 * c.outputs;
  for (const LevelCounts* l : all) e += 200 * l->src + 6 * l->glb + 2 * l->array + l->rf;
  return e;
}

void expect_level(const LevelCounts& l, double src, double glb, double array, double rf, const char* what) {
  EXPECT_DOUBLE_EQ(l.src, src) << what;
  EXPECT_DOUBLE_EQ(l.glb, glb) << what;
  EXPECT_DOUBLE_EQ(l.array, array) << what;
  EXPECT_DOUBLE_EQ(l.rf, rf) << what;
}

TEST(Dataflow, WeightStationaryByHand) {
  // 5 row tiles (18 / 4) x 2 column tiles (4 / 2); all 18 vectors stream per weight load
  // (18 x 2 partial sums fit), so the weights are loaded once: 72 reads and shifts, one
  // register read per MAC. Inputs: 18 vectors x 18 x 2 column tiles from the buffer, passed
  // on per MAC; partial sums passed down per MAC, 4 of the 5 row tiles write and read back
  // 18 x 4 sums. Cycles: 10 tiles x (8 + 2 + 18).
  const DataflowCounts c = dataflow_counts("weight_stationary", tiny(), small_array(), eyeriss_energy);
  expect_level(c.weights, 72, 0, 72, 1296, "weights");
  expect_level(c.inputs, 0, 648, 1296, 0, "inputs");
  expect_level(c.psums, 0, 576, 1296, 0, "psums");
  EXPECT_DOUBLE_EQ(c.outputs, 72);
  EXPECT_DOUBLE_EQ(c.weight_passes, 1);
  EXPECT_DOUBLE_EQ(c.cycles, 280);
  EXPECT_EQ(c.tiling, "v=18");
  EXPECT_DOUBLE_EQ(eyeriss_energy(c), 28800);
}

TEST(Dataflow, WeightStationarySplitsTheVectorsWhenPartialSumsDoNotFit) {
  ArraySpec a = small_array();
  a.psum_glb_bits = 9 * 2 * 32;  // 9 vectors x 2 columns of 32-bit sums
  const DataflowCounts c = dataflow_counts("weight_stationary", tiny(), a, eyeriss_energy);
  EXPECT_EQ(c.tiling, "v=9");
  EXPECT_DOUBLE_EQ(c.weight_passes, 2);
  expect_level(c.weights, 144, 0, 144, 1296, "weights");
  EXPECT_DOUBLE_EQ(c.cycles, 10 * (2 * 10 + 18));
}

TEST(Dataflow, OutputStationaryByHand) {
  // 5 position tiles of 4 (18 positions). p = 2 outputs per PE (channels) halves the input
  // reads: p = 1 costs 360 x 200 + 720 x 6 + 2592 x 2 + 2592 = 84096, p = 2 costs
  // 360 x 200 + 396 x 6 + 1944 x 2 + 3888 = 82152. Weights are read once per position tile
  // and passed down per MAC; inputs 18 x 18 from the buffer, 648 passes, each used twice from
  // the register; every MAC reads and writes its accumulator. Cycles 5 x (18 x 2 + 4 + 2).
  const DataflowCounts c = dataflow_counts("output_stationary", tiny(), small_array(), eyeriss_energy);
  EXPECT_EQ(c.tiling, "p=2");
  expect_level(c.weights, 360, 0, 1296, 0, "weights");
  expect_level(c.inputs, 0, 324, 648, 1296, "inputs");
  expect_level(c.psums, 0, 0, 0, 2592, "psums");
  EXPECT_DOUBLE_EQ(c.weight_passes, 5);
  EXPECT_DOUBLE_EQ(c.cycles, 210);
  EXPECT_DOUBLE_EQ(eyeriss_energy(c), 82152);
}

TEST(Dataflow, RowStationaryByHand) {
  // One set of 3 PE rows x 2 columns (e = 2 of the 3 output rows: 2 strips). Best tiling:
  // p = 4 filters x q = 2 channels per PE (registers: (24 + 6) x 8 + 4 x 32 = 368 of 512
  // bits), n = 2 images: weights 72 x 2 strips from the source, to 3 output-row PEs each
  // (216), one register read per MAC; inputs: 2 x 2 x 5 x 5 (each strip reads 4 of 5 rows,
  // capped at the 5 rows there are) once, 2 x 2 x 3 x 3 rows of 5 to the PEs; partial sums
  // 72 x 3 filter rows up the set, accumulated in the registers; no buffer round trips
  // (all channels in one pass). Cycles: 2 strips x 2 images x 4 x 2 x 3 x 3.
  const DataflowCounts c = dataflow_counts("row_stationary", tiny(), small_array(), eyeriss_energy);
  EXPECT_EQ(c.tiling, "p=4 q=2 n=2");
  expect_level(c.weights, 144, 0, 216, 1296, "weights");
  expect_level(c.inputs, 0, 100, 180, 1296, "inputs");
  expect_level(c.psums, 0, 0, 216, 2592, "psums");
  EXPECT_DOUBLE_EQ(c.weight_passes, 2);
  EXPECT_DOUBLE_EQ(c.cycles, 288);
  EXPECT_DOUBLE_EQ(eyeriss_energy(c), 36240);
}

TEST(Dataflow, RejectsUnknownNamesAndRegisterFilesTooSmall) {
  EXPECT_THROW(dataflow_counts("input_stationary", tiny(), small_array(), eyeriss_energy), std::invalid_argument);
  ArraySpec a = small_array();
  a.rf_bits = 16;  // not one 32-bit accumulator
  EXPECT_THROW(dataflow_counts("output_stationary", tiny(), a, eyeriss_energy), std::invalid_argument);
  EXPECT_THROW(dataflow_counts("row_stationary", tiny(), a, eyeriss_energy), std::invalid_argument);
}

TEST(Dataflow, AlexNetHasThePublishedConvolutionShapes) {
  // Krizhevsky et al. 2012 as tabulated by Chen et al. 2016: 666 M convolution MACs.
  const Network n = zoo_network("alexnet_caffe");
  long long conv = 0;
  int convs = 0;
  for (std::size_t i = 0; i < n.layers().size(); ++i)
    if (n.layers()[i].kind == LayerKind::kConv2d) {
      conv += n.macs(int(i));
      ++convs;
    }
  EXPECT_EQ(convs, 5);
  EXPECT_EQ(conv, 55LL * 55 * 96 * 3 * 121 + 27LL * 27 * 256 * 48 * 25 + 13LL * 13 * 384 * 256 * 9 +
                      13LL * 13 * 384 * 192 * 9 + 13LL * 13 * 256 * 192 * 9);
  EXPECT_EQ(n.output_shape(n.output_layer()).c, 1000);
}

// Energy of AlexNet's five convolution layers under each dataflow, the Eyeriss setup: 256 PEs
// (16 x 16), batch 16, 16-bit words, 512 B register files, 128 KiB buffer, weights from DRAM.
std::map<std::string, double> alexnet_conv_energy(const std::string& node) {
  const TechTable t = TechTable::load(kTech, node);
  const Network net = zoo_network("alexnet_caffe");
  std::map<std::string, double> e;
  for (const std::string& df : dataflow_names()) {
    DigitalSpec d;
    d.batch = 16;
    d.bits = 16;
    d.rf_bytes_per_pe = 512;
    d.glb_bytes = 128 * 1024;
    d.weight_storage = "none";
    d.dataflow = df;
    for (const LayerCost& l : evaluate_digital(net, t, d).layers)
      if (l.kind == "conv2d") e[df] += l.energy_J;
  }
  return e;
}

TEST(Dataflow, RowStationaryCostsTheLeastOnAlexNetConvolutions) {
  for (const char* node : {"65nm", "22nm"}) {
    const auto e = alexnet_conv_energy(node);
    EXPECT_LT(e.at("row_stationary"), e.at("weight_stationary")) << node;
    EXPECT_LT(e.at("row_stationary"), e.at("output_stationary")) << node;
  }
}

}  // namespace
}  // namespace mho
