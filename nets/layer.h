// Layers of a network: plain specs (kind, geometry, parameters) and the shapes they imply.
//
// Activations are NCHW float tensors stored as batch x (C * H * W) row-major matrices; a
// Linear layer sees its input flattened in that order (as torch.flatten does). Conv weights
// are (out, in / groups, kh, kw) row-major, Linear weights (out, in), as in PyTorch.
// A conv/linear layer is computed as products of im2col patches with weight matrices of
// (in/groups * kh * kw) rows x (out / groups) columns, one per group: the blocks that
// mapping/ places on crossbar tiles.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace mho {

struct Shape {
  int c = 0, h = 1, w = 1;
  long size() const { return long(c) * h * w; }
  bool operator==(const Shape& o) const { return c == o.c && h == o.h && w == o.w; }
  std::string text() const;
};

enum class LayerKind {
  kConv2d, kLinear, kReLU, kMaxPool, kAvgPool, kGlobalAvgPool, kBatchNorm, kAdd, kFlatten, kConcat,
  // Element-wise activations, as torch defines them (nn.ReLU6, nn.Sigmoid, ...).
  kReLU6, kSigmoid, kTanh, kGELU, kSiLU, kLeakyReLU,
  kLayerNorm,        // over the trailing dimensions named by norm_shape
  kUpsample,         // nearest neighbour, torch's index rule (see network.cpp)
  kAdaptiveAvgPool,  // to out_h x out_w, torch's bins
};

// Whether a kind maps each element to one element of the same position (no geometry).
bool elementwise(LayerKind k);

// torch's adaptive pooling bin [start, end) of output index `o` along an axis of `in` ->
// `out` elements: floor(o * in / out) .. ceil((o + 1) * in / out) (aten AdaptivePooling.h).
std::pair<int, int> adaptive_pool_bin(int o, int in, int out);

std::string kind_name(LayerKind k);
// Throws std::invalid_argument naming the allowed kinds.
LayerKind kind_from_name(const std::string& s);

struct Layer {
  std::string name;
  LayerKind kind = LayerKind::kReLU;
  std::vector<int> inputs;  // indices of earlier layers; -1 is the network input

  // Conv2d / Linear (Linear: in_ch = in features, out_ch = out features, kernel 1x1)
  int in_ch = 0, out_ch = 0;
  int kh = 1, kw = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  int groups = 1;
  std::vector<float> weight, bias;  // bias may be empty; weight empty: a shape-only layer (zoo)

  // BatchNorm (per channel); also the folded form of a standalone BatchNorm.
  // LayerNorm: gamma, beta hold its elementwise weight and bias (prod(norm_shape) values each,
  // or empty: 1 and 0), eps its epsilon.
  std::vector<float> gamma, beta, mean, var;
  double eps = 1e-5;

  double negative_slope = 0.01;  // LeakyReLU (torch's default)
  bool gelu_tanh = false;        // GELU: torch's approximate='tanh' instead of the erf form
  // LayerNorm: torch's normalized_shape, the trailing dimensions of (C, H, W) (or (C,) of a
  // flat (C, 1, 1) activation) that are normalized together.
  std::vector<int> norm_shape;
  // Upsample: integer scale factors (>= 1), or 0 and the output size in out_h, out_w.
  int scale_h = 0, scale_w = 0;
  // Output size of AdaptiveAvgPool and of an Upsample given by size.
  int out_h = 0, out_w = 0;

  bool shape_only() const { return has_weights() && weight.empty(); }
  bool has_weights() const { return kind == LayerKind::kConv2d || kind == LayerKind::kLinear; }
  // Rows and columns of one group's weight matrix.
  int matrix_rows() const { return (in_ch / groups) * kh * kw; }
  int matrix_cols() const { return out_ch / groups; }
};

}  // namespace mho
