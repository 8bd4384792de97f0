// The activations, LayerNorm, nearest upsampling and adaptive average pooling of Network,
// each against an independent truth: another closed form of the same function, numerical
// integration, or a brute-force loop over the definition; and their round trip through a file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>

#include "nets/model_file.h"
#include "tests/random_vector.h"

namespace mho {
namespace {

Layer layer(LayerKind k, int src = -1) {
  Layer l;
  l.kind = k;
  l.name = kind_name(k);
  l.inputs = {src};
  return l;
}

RowMat<float> batch(int B, const Shape& s, unsigned seed, float scale = 3.0f) {
  RowMat<float> x = Eigen::Map<RowMat<float>>(randv(std::size_t(B) * s.size(), seed).data(), B, s.size());
  return x * scale;
}

double worst_gap(const Layer& l, const std::function<double(double)>& truth) {
  const Shape s{3, 5, 4};
  const RowMat<float> x = batch(4, s, 11);
  const RowMat<float> y = Network("a", s, {l}).forward(x);
  double worst = 0;
  for (Eigen::Index k = 0; k < x.size(); ++k) {
    const double t = truth(x.data()[k]);
    worst = std::max(worst, std::abs(y.data()[k] - t) / std::max(1.0, std::abs(t)));
  }
  return worst;
}

// Phi(x) by Simpson's rule on the normal density from 0: independent of std::erf.
double normal_cdf(double x) {
  const int n = 2000;
  const double h = x / n;
  auto f = [](double t) { return std::exp(-0.5 * t * t); };
  double s = f(0) + f(x);
  for (int k = 1; k < n; ++k) s += f(k * h) * (k % 2 ? 4 : 2);
  return 0.5 + s * h / 3 / std::sqrt(2 * 3.14159265358979323846);
}

TEST(Layers, ActivationsEqualOtherClosedForms) {
  EXPECT_LT(worst_gap(layer(LayerKind::kReLU6), [](double v) { return v < 0 ? 0 : v > 6 ? 6 : v; }), 1e-7);
  // sigmoid(x) = (1 + tanh(x/2)) / 2; tanh(x) = (e^2x - 1) / (e^2x + 1)
  EXPECT_LT(worst_gap(layer(LayerKind::kSigmoid), [](double v) { return 0.5 * (1 + std::tanh(v / 2)); }), 1e-7);
  EXPECT_LT(worst_gap(layer(LayerKind::kTanh), [](double v) { return std::expm1(2 * v) / (std::exp(2 * v) + 1); }), 1e-7);
  EXPECT_LT(worst_gap(layer(LayerKind::kSiLU), [](double v) { return v * 0.5 * (1 + std::tanh(v / 2)); }), 1e-7);
  EXPECT_LT(worst_gap(layer(LayerKind::kGELU), [](double v) { return v * normal_cdf(v); }), 1e-7);
  Layer gt = layer(LayerKind::kGELU);
  gt.gelu_tanh = true;
  // Hendrycks & Gimpel's tanh form written as x * sigmoid(2 k (x + 0.044715 x^3)).
  EXPECT_LT(worst_gap(gt, [](double v) {
              const double u = 2 * std::sqrt(2 / 3.14159265358979323846) * (v + 0.044715 * v * v * v);
              return v / (1 + std::exp(-u));
            }), 1e-7);
  // The two GELU forms differ (by up to ~1e-3), so the flag is honoured.
  EXPECT_GT(worst_gap(gt, [](double v) { return v * normal_cdf(v); }), 1e-5);
  Layer leaky = layer(LayerKind::kLeakyReLU);
  leaky.negative_slope = 0.2;
  EXPECT_LT(worst_gap(leaky, [](double v) { return std::max(v, 0.2 * v); }), 1e-7);
  leaky.negative_slope = -1.5;  // torch allows any slope
  EXPECT_LT(worst_gap(leaky, [](double v) { return v > 0 ? v : -1.5 * v; }), 1e-7);
}

// Brute-force LayerNorm of each group of `n` trailing values, in long double.
RowMat<float> layernorm_truth(const RowMat<float>& x, long n, const std::vector<float>& w, const std::vector<float>& b,
                              double eps) {
  RowMat<float> y(x.rows(), x.cols());
  for (Eigen::Index r = 0; r < x.rows(); ++r)
    for (long g = 0; g < x.cols() / n; ++g) {
      long double m = 0, v = 0;
      for (long k = 0; k < n; ++k) m += x(r, g * n + k);
      m /= n;
      for (long k = 0; k < n; ++k) v += (x(r, g * n + k) - m) * (x(r, g * n + k) - m);
      v /= n;
      for (long k = 0; k < n; ++k)
        y(r, g * n + k) = float((x(r, g * n + k) - m) / std::sqrt(v + eps) * (w.empty() ? 1 : w[k]) + (b.empty() ? 0 : b[k]));
    }
  return y;
}

TEST(Layers, LayerNormEqualsBruteForceOverEachAllowedShape) {
  const Shape s{3, 4, 5};
  struct Case {
    Shape in;
    std::vector<int> dims;
  };
  for (const Case& c : {Case{s, {3, 4, 5}}, Case{s, {4, 5}}, Case{s, {5}}, Case{Shape{7, 1, 1}, {7}}}) {
    for (bool affine : {false, true}) {
      Layer l = layer(LayerKind::kLayerNorm);
      l.norm_shape = c.dims;
      l.eps = 1e-3;
      long n = 1;
      for (int d : c.dims) n *= d;
      if (affine) {
        l.gamma = randv(std::size_t(n), 5);
        l.beta = randv(std::size_t(n), 6);
      }
      const RowMat<float> x = batch(3, c.in, 12);
      const RowMat<float> y = Network("n", c.in, {l}).forward(x);
      EXPECT_LT((y - layernorm_truth(x, n, l.gamma, l.beta, l.eps)).cwiseAbs().maxCoeff(), 1e-5) << n << " " << affine;
    }
  }
}

TEST(Layers, LayerNormShapeMustBeTrailingDimensions) {
  Layer l = layer(LayerKind::kLayerNorm);
  l.norm_shape = {4};  // the height, not a trailing dimension of 3x4x5
  try {
    Network("n", {3, 4, 5}, {l});
    ADD_FAILURE() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("normalized_shape = [4]: must be trailing dimensions of its input 3x4x5: one "
                                         "of [5], [4, 5], [3, 4, 5]"),
              std::string::npos)
        << e.what();
  }
  l.norm_shape = {5};
  l.gamma = randv(4, 1);
  EXPECT_THROW(Network("n", {3, 4, 5}, {l}), std::invalid_argument);
  l.gamma.clear();
  l.eps = 0;
  EXPECT_THROW(Network("n", {3, 4, 5}, {l}), std::invalid_argument);
}

TEST(Layers, UpsampleByIntegerFactorsRepeatsEachValue) {
  const Shape s{2, 3, 4};
  Layer l = layer(LayerKind::kUpsample);
  l.scale_h = 3;
  l.scale_w = 2;
  Network net("u", s, {l});
  ASSERT_EQ(net.output_shape(0), (Shape{2, 9, 8}));
  const RowMat<float> x = batch(2, s, 13);
  const RowMat<float> y = net.forward(x);
  for (int b = 0; b < 2; ++b)
    for (int c = 0; c < 2; ++c)
      for (int oh = 0; oh < 9; ++oh)
        for (int ow = 0; ow < 8; ++ow)
          ASSERT_EQ(y(b, (c * 9 + oh) * 8 + ow), x(b, (c * 3 + oh / 3) * 4 + ow / 2));
}

TEST(Layers, UpsampleToASizeTakesTheFlooredSource) {
  const Shape s{1, 3, 5};
  Layer l = layer(LayerKind::kUpsample);
  l.out_h = 7;  // not a multiple: source floor(o * 3 / 7)
  l.out_w = 5;  // the same width: identity
  const RowMat<float> x = batch(1, s, 14);
  const RowMat<float> y = Network("u", s, {l}).forward(x);
  for (int oh = 0; oh < 7; ++oh)
    for (int ow = 0; ow < 5; ++ow) ASSERT_EQ(y(0, oh * 5 + ow), x(0, (oh * 3 / 7) * 5 + ow));
}

TEST(Layers, AdaptiveAvgPoolEqualsBruteForceOverRealBins) {
  const Shape s{2, 7, 5};
  for (auto [oh_n, ow_n] : {std::pair{3, 2}, std::pair{7, 5}, std::pair{1, 1}, std::pair{4, 8}}) {
    Layer l = layer(LayerKind::kAdaptiveAvgPool);
    l.out_h = oh_n;
    l.out_w = ow_n;
    const RowMat<float> x = batch(2, s, 15);
    const RowMat<float> y = Network("p", s, {l}).forward(x);
    for (int b = 0; b < 2; ++b)
      for (int c = 0; c < 2; ++c)
        for (int oh = 0; oh < oh_n; ++oh)
          for (int ow = 0; ow < ow_n; ++ow) {
            // The bins by their real-valued definition: [floor(i H / out), ceil((i + 1) H / out)).
            const int h0 = int(std::floor(double(oh) * s.h / oh_n)), h1 = int(std::ceil(double(oh + 1) * s.h / oh_n));
            const int w0 = int(std::floor(double(ow) * s.w / ow_n)), w1 = int(std::ceil(double(ow + 1) * s.w / ow_n));
            double acc = 0;
            for (int h = h0; h < h1; ++h)
              for (int w = w0; w < w1; ++w) acc += x(b, (c * s.h + h) * s.w + w);
            ASSERT_NEAR(y(b, (c * oh_n + oh) * ow_n + ow), acc / ((h1 - h0) * (w1 - w0)), 1e-5);
          }
  }
}

TEST(Layers, BadGeometryNamesTheLayer) {
  Layer up = layer(LayerKind::kUpsample);
  try {
    Network("u", {1, 2, 2}, {up});
    ADD_FAILURE() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("('upsample', upsample) size = 0x0"), std::string::npos) << e.what();
  }
  up.scale_h = 2;  // scale_w 0
  EXPECT_THROW(Network("u", {1, 2, 2}, {up}), std::invalid_argument);
  Layer pool = layer(LayerKind::kAdaptiveAvgPool);
  pool.out_h = 3;
  EXPECT_THROW(Network("p", {1, 2, 2}, {pool}), std::invalid_argument);
  Layer leaky = layer(LayerKind::kLeakyReLU);
  leaky.negative_slope = std::nan("");
  EXPECT_THROW(Network("l", {1, 2, 2}, {leaky}), std::invalid_argument);
}

TEST(Layers, EveryNewKindSurvivesTheModelFile) {
  std::vector<Layer> ls;
  for (LayerKind k : {LayerKind::kReLU6, LayerKind::kSigmoid, LayerKind::kTanh, LayerKind::kSiLU}) ls.push_back(layer(k, int(ls.size()) - 1));
  Layer gelu = layer(LayerKind::kGELU, int(ls.size()) - 1);
  gelu.gelu_tanh = true;
  ls.push_back(gelu);
  Layer leaky = layer(LayerKind::kLeakyReLU, int(ls.size()) - 1);
  leaky.negative_slope = 0.3;
  ls.push_back(leaky);
  Layer up = layer(LayerKind::kUpsample, int(ls.size()) - 1);
  up.scale_h = 2;
  up.scale_w = 3;
  ls.push_back(up);  // 2 x 6 x 12
  Layer sized = layer(LayerKind::kUpsample, int(ls.size()) - 1);
  sized.out_h = 7;
  sized.out_w = 13;
  ls.push_back(sized);
  Layer pool = layer(LayerKind::kAdaptiveAvgPool, int(ls.size()) - 1);
  pool.out_h = 3;
  pool.out_w = 4;
  ls.push_back(pool);
  Layer ln = layer(LayerKind::kLayerNorm, int(ls.size()) - 1);
  ln.norm_shape = {3, 4};
  ln.eps = 1e-4;
  ln.gamma = randv(12, 2);
  ln.beta = randv(12, 3);
  ls.push_back(ln);
  Layer bare = layer(LayerKind::kLayerNorm, int(ls.size()) - 1);  // no affine parameters
  bare.norm_shape = {2, 3, 4};
  ls.push_back(bare);
  const Network net("all", {2, 3, 4}, ls);
  const std::string path = ::testing::TempDir() + "/mho_new_kinds.h5";
  save_model(net, path);
  const Network back = load_model(path);
  std::remove(path.c_str());
  ASSERT_EQ(back.layers().size(), ls.size());
  for (std::size_t i = 0; i < ls.size(); ++i) EXPECT_EQ(back.layers()[i].kind, ls[i].kind);
  EXPECT_TRUE(back.layers()[4].gelu_tanh);
  EXPECT_EQ(back.layers()[5].negative_slope, 0.3);
  EXPECT_TRUE(back.layers()[10].gamma.empty());
  const RowMat<float> x = batch(3, net.input_shape(), 16);
  EXPECT_EQ(back.forward(x), net.forward(x));
}

}  // namespace
}  // namespace mho
