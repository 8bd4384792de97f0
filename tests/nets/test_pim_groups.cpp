// Grouped and depthwise convolutions through PimNetwork against a brute-force reference: each
// group's patches built by the convolution's definition and run through its own Tile (tile id
// = placement index, read-noise stream position = samples before it x output pixels), partial
// sums of row blocks added in block order, then the bias. Noise, quantization and calibration
// are on, so any change in which draw a sample meets, or in the order of additions, shows.
#include <gtest/gtest.h>

#include "tests/crossbar/tile_fixtures.h"
#include "tests/random_vector.h"

#include "nets/pim_network.h"

namespace mho {
namespace {

Layer grouped_conv(int in, int out, int k, int groups, unsigned seed) {
  Layer l;
  l.kind = LayerKind::kConv2d;
  l.name = "conv";
  l.inputs = {-1};
  l.in_ch = in;
  l.out_ch = out;
  l.kh = l.kw = k;
  l.pad_h = l.pad_w = 1;
  l.stride_h = l.stride_w = 2;
  l.groups = groups;
  l.weight = randv(std::size_t(out) * (in / groups) * k * k, seed);
  l.bias = randv(std::size_t(out), seed + 1);
  return l;
}

TileSpec bitserial_spec(int rows, int cols) {
  TileSpec s = testing::realistic_spec(rows, cols);
  s.weight_bits = 4;
  s.bits_per_cell = 2;
  s.cell.bits = 2;
  s.dac.input_bits = 4;
  s.dac.mode = "bitserial";
  s.dac.bits_per_plane = 1;
  s.dac.signed_mode = "bipolar";
  s.adc.bits = 6;
  s.adc.range = "calibrated";
  s.seed = 5;
  return s;
}

// Patches of group g by definition: rows (b, oh, ow), columns (c, r, s) of the group's channels.
RowMat<float> patches(const RowMat<float>& x, const Shape& in, const Layer& l, const Shape& out, int g) {
  const int cg = l.in_ch / l.groups;
  RowMat<float> p = RowMat<float>::Zero(x.rows() * out.h * out.w, cg * l.kh * l.kw);
  for (Eigen::Index b = 0; b < x.rows(); ++b)
    for (int oh = 0; oh < out.h; ++oh)
      for (int ow = 0; ow < out.w; ++ow)
        for (int c = 0; c < cg; ++c)
          for (int r = 0; r < l.kh; ++r)
            for (int s = 0; s < l.kw; ++s) {
              const int ih = oh * l.stride_h - l.pad_h + r, iw = ow * l.stride_w - l.pad_w + s;
              if (ih < 0 || ih >= in.h || iw < 0 || iw >= in.w) continue;
              p(b * out.h * out.w + oh * out.w + ow, (c * l.kh + r) * l.kw + s) =
                  x(b, (std::size_t(g * cg + c) * in.h + ih) * in.w + iw);
            }
  return p;
}

// The layer's output for batches `x_calib` (calibration) then each of `batches`, tile by tile.
struct Reference {
  std::vector<RowMat<float>> ys;
  TileCounters counted;
};

Reference reference(const Network& net, const TileSpec& spec, const RowMat<float>& x_calib,
                    const std::vector<RowMat<float>>& batches, std::uint64_t chip) {
  const Layer& l = net.layers()[0];
  const Shape in = net.input_shape(), out = net.output_shape(0);
  const int hw = out.h * out.w, mg = l.out_ch / l.groups;
  const Mapping mapping(matrix_layers(net), spec);
  std::vector<Tile> tiles;
  for (std::size_t k = 0; k < mapping.placements().size(); ++k) {
    const Placement& p = mapping.placements()[k];
    tiles.emplace_back(spec, std::uint64_t(k));
    tiles.back().program(net.weight_matrix(0, p.group).block(p.row0, p.col0, p.rows, p.cols).cast<double>(), chip);
    tiles.back().calibrate<float>(patches(x_calib, in, l, out, p.group).middleCols(p.row0, p.rows));
  }
  Reference ref;
  long long seen = 0;
  for (const RowMat<float>& x : batches) {
    RowMat<float> y(x.rows(), out.size());
    for (int g = 0; g < l.groups; ++g) {
      const RowMat<float> pg = patches(x, in, l, out, g);
      RowMat<float> acc = RowMat<float>::Zero(pg.rows(), mg);
      for (std::size_t k = 0; k < tiles.size(); ++k) {
        const Placement& p = mapping.placements()[k];
        if (p.group != g) continue;
        acc.middleCols(p.col0, p.cols) += tiles[k].forward<float>(pg.middleCols(p.row0, p.rows), seen * hw);
        ref.counted += tiles[k].last_counters();
      }
      for (Eigen::Index b = 0; b < x.rows(); ++b)
        for (int o = 0; o < mg; ++o)
          for (int q = 0; q < hw; ++q)
            y(b, (std::size_t(g) * mg + o) * hw + q) = acc(b * hw + q, o) + l.bias[std::size_t(g * mg + o)];
    }
    seen += x.rows();
    ref.ys.push_back(y);
  }
  return ref;
}

RowMat<float> inputs(int batch, const Shape& in, unsigned seed) {
  return Eigen::Map<RowMat<float>>(randv(std::size_t(batch) * in.size(), seed).data(), batch, in.size());
}

struct Case {
  const char* name;
  int in, out, groups, rows;  // rows: of the array (fewer than a group's matrix: row blocks)
};

class GroupedConv : public ::testing::TestWithParam<Case> {};

TEST_P(GroupedConv, EqualsPerGroupTilesBitForBit) {
  const Case c = GetParam();
  const Shape in{c.in, 7, 6};
  const Network net("g", in, {grouped_conv(c.in, c.out, 3, c.groups, 3)});
  const TileSpec spec = bitserial_spec(c.rows, 64);
  const RowMat<float> calib = inputs(3, in, 10), x1 = inputs(2, in, 11), x2 = inputs(3, in, 12);
  const auto ref = reference(net, spec, calib, {x1, x2}, 4);
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    PimNetwork pim(net, spec);
    pim.program(4);
    pim.calibrate(calib);
    const RowMat<float> y1 = pim.forward(x1), y2 = pim.forward(x2);
    EXPECT_TRUE(y1 == ref.ys[0]) << c.name << ", " << threads << " thread(s): max diff " << (y1 - ref.ys[0]).cwiseAbs().maxCoeff();
    EXPECT_TRUE(y2 == ref.ys[1]) << c.name << ", " << threads << " thread(s): max diff " << (y2 - ref.ys[1]).cwiseAbs().maxCoeff();
    EXPECT_EQ(pim.inferences(), 5);
    // Every group's tile is counted, calibration not.
    const TileCounters got = pim.counters();
    EXPECT_EQ(got.dac_conversions, ref.counted.dac_conversions);
    EXPECT_EQ(got.adc_conversions, ref.counted.adc_conversions);
    EXPECT_EQ(got.cell_reads, ref.counted.cell_reads);
    EXPECT_EQ(got.cell_energy_q, ref.counted.cell_energy_q);
    EXPECT_GT(got.adc_conversions, 0u);
  }
  set_num_threads(2);
}

INSTANTIATE_TEST_SUITE_P(Kinds, GroupedConv,
                         ::testing::Values(Case{"depthwise", 6, 6, 6, 64}, Case{"depthwise_x2", 4, 8, 4, 64},
                                           Case{"grouped", 6, 6, 3, 64}, Case{"grouped_row_blocks", 8, 4, 2, 16}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace mho
