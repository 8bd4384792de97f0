#include <gtest/gtest.h>

#include "tests/random_vector.h"

#include <cstdio>
#include <random>

#include "nets/model_file.h"
#include "nets/zoo.h"

namespace mho {
namespace {

Layer conv(int in, int out, int k, int stride, int pad, int dil, int groups, int src, unsigned seed) {
  Layer l;
  l.kind = LayerKind::kConv2d;
  l.name = "conv";
  l.inputs = {src};
  l.in_ch = in;
  l.out_ch = out;
  l.kh = l.kw = k;
  l.stride_h = l.stride_w = stride;
  l.pad_h = l.pad_w = pad;
  l.dil_h = l.dil_w = dil;
  l.groups = groups;
  l.weight = randv(std::size_t(out) * (in / groups) * k * k, seed);
  l.bias = randv(std::size_t(out), seed + 1);
  return l;
}

// Direct convolution by its definition: the oracle for im2col + GEMM.
TEST(Network, ConvEqualsDirectDefinition) {
  const Shape in{6, 11, 9};
  Layer l = conv(6, 4, 3, 2, 2, 2, 2, -1, 1);
  Network net("c", in, {l});
  const int B = 3;
  RowMat<float> x = Eigen::Map<RowMat<float>>(randv(std::size_t(B) * in.size(), 7).data(), B, in.size());
  RowMat<float> y = net.forward(x);
  const Shape o = net.output_shape(0);
  const int cg = 3, mg = 2;
  double worst = 0;
  for (int b = 0; b < B; ++b)
    for (int m = 0; m < 4; ++m)
      for (int oh = 0; oh < o.h; ++oh)
        for (int ow = 0; ow < o.w; ++ow) {
          double acc = l.bias[m];
          const int g = m / mg;
          for (int c = 0; c < cg; ++c)
            for (int r = 0; r < 3; ++r)
              for (int s = 0; s < 3; ++s) {
                const int ih = oh * 2 - 2 + r * 2, iw = ow * 2 - 2 + s * 2;
                if (ih < 0 || ih >= in.h || iw < 0 || iw >= in.w) continue;
                acc += double(l.weight[((std::size_t(m) * cg + c) * 3 + r) * 3 + s]) *
                       x(b, (std::size_t(g * cg + c) * in.h + ih) * in.w + iw);
              }
          worst = std::max(worst, std::abs(acc - y(b, (std::size_t(m) * o.h + oh) * o.w + ow)));
        }
  EXPECT_EQ(o.h, 6);
  EXPECT_EQ(o.w, 5);
  EXPECT_LT(worst, 1e-4);
}

TEST(Network, BatchNormFoldingKeepsTheFunction) {
  Layer c = conv(3, 5, 3, 1, 1, 1, 1, -1, 3);
  Layer bn;
  bn.kind = LayerKind::kBatchNorm;
  bn.name = "bn";
  bn.inputs = {0};
  bn.gamma = randv(5, 4);
  bn.beta = randv(5, 5);
  bn.mean = randv(5, 6);
  bn.var = {0.5f, 1.0f, 2.0f, 0.7f, 1.3f};
  Layer relu;
  relu.kind = LayerKind::kReLU;
  relu.inputs = {1};
  Network a("a", {3, 8, 8}, {c, bn, relu});
  Network b = a;
  EXPECT_EQ(b.fold_batchnorm(), 1);
  EXPECT_EQ(b.layers().size(), 2u);
  RowMat<float> x = Eigen::Map<RowMat<float>>(randv(4 * 192, 8).data(), 4, 192);
  EXPECT_LT((a.forward(x) - b.forward(x)).cwiseAbs().maxCoeff(), 1e-5);
}

TEST(Network, SaveLoadRoundTrip) {
  Network net("rt", {3, 8, 8}, {conv(3, 4, 3, 1, 1, 1, 1, -1, 9)});
  const std::string path = ::testing::TempDir() + "/mho_rt.h5";
  ModelInfo info;
  info.dataset = "none";
  info.float_test_accuracy = 0.25;
  save_model(net, path, info);
  ModelInfo back;
  Network loaded = load_model(path, &back);
  std::remove(path.c_str());
  EXPECT_EQ(back.dataset, "none");
  EXPECT_EQ(back.float_test_accuracy, 0.25);
  EXPECT_EQ(loaded.layers()[0].weight, net.layers()[0].weight);
  EXPECT_EQ(loaded.layers()[0].bias, net.layers()[0].bias);
  EXPECT_THROW(load_model(path), FileNotFound);
}

TEST(Network, ShapeErrorsNameTheLayer) {
  Layer c = conv(3, 4, 3, 1, 0, 1, 1, -1, 1);
  try {
    Network("bad", {2, 8, 8}, {c});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("layer 0 ('conv', conv2d) in_ch"), std::string::npos) << e.what();
  }
  c.weight.pop_back();
  EXPECT_THROW(Network("bad", {3, 8, 8}, {c}), std::invalid_argument);
}

TEST(Zoo, LeNet5MacsByHand) {
  Network n = zoo_network("lenet5");
  // conv1 28*28*6*25, conv2 10*10*16*6*25, fc 400*120, 120*84, 84*10
  EXPECT_EQ(n.total_macs(), 117600 + 240000 + 48000 + 10080 + 840);
  EXPECT_EQ(n.total_weights(), 150 + 2400 + 48000 + 10080 + 840);
}

TEST(Zoo, ResNetBottleneckMacsByHand) {
  // The first block of ResNet-50's second stage: 256 -> 128 -> 128 (stride 2) -> 512, with
  // a strided 1x1 projection shortcut.
  Network n = zoo_network("resnet50");
  int first = -1;
  for (int i = 0; i < int(n.layers().size()); ++i) {
    const Layer& l = n.layers()[i];
    if (l.kind == LayerKind::kConv2d && l.in_ch == 256 && l.out_ch == 128) {
      first = i;
      break;
    }
  }
  ASSERT_GE(first, 0);
  long long block = 0;
  int convs = 0;
  for (int i = first; convs < 4; ++i)
    if (n.layers()[i].kind == LayerKind::kConv2d) {
      block += n.macs(i);
      ++convs;
    }
  EXPECT_EQ(block, 56LL * 56 * 128 * 256 + 28LL * 28 * 128 * 128 * 9 + 28LL * 28 * 512 * 128 +
                       28LL * 28 * 512 * 256);
}

TEST(Zoo, TotalsMatchPublishedFigures) {
  // Published multiply-accumulates and parameters (within 1 %): AlexNet 0.714 G / 61.1 M
  // (torchvision), VGG-16 15.47 G / 138.3 M, ResNet-50 4.09 G / 25.5 M, MobileNet-v1
  // 569 M / 4.2 M (Howard et al. 2017).
  auto near = [](double a, double b) { return std::abs(a / b - 1) < 0.01; };
  EXPECT_TRUE(near(zoo_network("alexnet").total_macs(), 714e6));
  EXPECT_TRUE(near(zoo_network("vgg16").total_macs(), 15.47e9));
  EXPECT_TRUE(near(zoo_network("vgg16").total_weights(), 138.3e6));
  EXPECT_TRUE(near(zoo_network("resnet50").total_macs(), 4.09e9));
  EXPECT_TRUE(near(zoo_network("resnet50").total_weights(), 25.5e6));
  EXPECT_TRUE(near(zoo_network("mobilenet_v1").total_macs(), 569e6));
  EXPECT_TRUE(near(zoo_network("mobilenet_v1").total_weights(), 4.2e6));
  EXPECT_THROW(zoo_network("resnet18"), std::invalid_argument);
  EXPECT_THROW(zoo_network("lenet5").forward(RowMat<float>::Zero(1, 784)), std::invalid_argument);
}

}  // namespace
}  // namespace mho
