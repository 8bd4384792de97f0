// Digital actions of the activation, LayerNorm, upsample and adaptive pooling layers: the
// per-element counts evaluator/actions.cpp states, and adaptive pooling's adds by a brute-force
// count of the elements each output reads.
#include <gtest/gtest.h>

#include <cmath>

#include "evaluator/actions.h"

namespace mho {
namespace {

Layer layer(LayerKind k, int src) {
  Layer l;
  l.kind = k;
  l.name = kind_name(k);
  l.inputs = {src};
  return l;
}

TEST(LayerActions, ActivationsLayerNormAndPoolingAsStated) {
  const Shape in{3, 6, 5};
  std::vector<Layer> ls;
  for (LayerKind k : {LayerKind::kReLU6, LayerKind::kSigmoid, LayerKind::kTanh, LayerKind::kSiLU, LayerKind::kGELU,
                      LayerKind::kLeakyReLU})
    ls.push_back(layer(k, int(ls.size()) - 1));
  Layer gt = layer(LayerKind::kGELU, int(ls.size()) - 1);
  gt.gelu_tanh = true;
  ls.push_back(gt);
  Layer ln = layer(LayerKind::kLayerNorm, int(ls.size()) - 1);
  ln.norm_shape = {5};
  ls.push_back(ln);
  Layer up = layer(LayerKind::kUpsample, int(ls.size()) - 1);
  up.scale_h = up.scale_w = 2;
  ls.push_back(up);  // 3 x 12 x 10
  Layer pool = layer(LayerKind::kAdaptiveAvgPool, int(ls.size()) - 1);
  pool.out_h = 5;
  pool.out_w = 4;
  ls.push_back(pool);
  const Network net("a", in, ls);
  const auto a = network_actions(net, 8);
  const double n = double(in.size());
  // (adds, mults) per element; a function (exp, tanh, erf, 1/sqrt) is 5 adds + 5 mults.
  const std::vector<std::pair<double, double>> per = {{2, 0}, {6, 6}, {5, 5}, {6, 7}, {6, 8}, {1, 1}, {7, 11}};
  for (std::size_t i = 0; i < per.size(); ++i) {
    EXPECT_EQ(a[i].act_adds, n * per[i].first) << a[i].kind;
    EXPECT_EQ(a[i].act_mults, n * per[i].second) << a[i].kind;
  }
  // LayerNorm without affine over rows of 5: 3 adds + 2 mults per element, a function per row.
  EXPECT_EQ(a[7].act_adds, 3 * n + 5 * (n / 5));
  EXPECT_EQ(a[7].act_mults, 2 * n + 5 * (n / 5));
  EXPECT_EQ(a[8].act_adds + a[8].act_mults, 0.0);  // a copy
  EXPECT_GT(a[8].buffer_write_bits, 0.0);
  // Brute force: each output reads its bin [floor(i H / o), ceil((i + 1) H / o)).
  double read = 0;
  for (int oh = 0; oh < 5; ++oh)
    for (int ow = 0; ow < 4; ++ow) {
      const int h = int(std::ceil((oh + 1) * 12.0 / 5) - std::floor(oh * 12.0 / 5));
      const int w = int(std::ceil((ow + 1) * 10.0 / 4) - std::floor(ow * 10.0 / 4));
      read += h * w;
    }
  EXPECT_EQ(a[9].act_adds, 3 * read - 3 * 20);
  EXPECT_EQ(a[9].act_mults, 3 * 20.0);
}

}  // namespace
}  // namespace mho
