#include "nets/layer.h"

#include <array>
#include <utility>

#include "common/validate.h"

namespace mho {

namespace {
const std::array<std::pair<LayerKind, const char*>, 19> kKinds = {{
    {LayerKind::kConv2d, "conv2d"},
    {LayerKind::kLinear, "linear"},
    {LayerKind::kReLU, "relu"},
    {LayerKind::kMaxPool, "maxpool"},
    {LayerKind::kAvgPool, "avgpool"},
    {LayerKind::kGlobalAvgPool, "global_avgpool"},
    {LayerKind::kBatchNorm, "batchnorm"},
    {LayerKind::kAdd, "add"},
    {LayerKind::kFlatten, "flatten"},
    {LayerKind::kConcat, "concat"},
    {LayerKind::kReLU6, "relu6"},
    {LayerKind::kSigmoid, "sigmoid"},
    {LayerKind::kTanh, "tanh"},
    {LayerKind::kGELU, "gelu"},
    {LayerKind::kSiLU, "silu"},
    {LayerKind::kLeakyReLU, "leaky_relu"},
    {LayerKind::kLayerNorm, "layernorm"},
    {LayerKind::kUpsample, "upsample"},
    {LayerKind::kAdaptiveAvgPool, "adaptive_avgpool"},
}};
}  // namespace

std::string Shape::text() const {
  return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w);
}

bool elementwise(LayerKind k) {
  switch (k) {
    case LayerKind::kReLU:
    case LayerKind::kReLU6:
    case LayerKind::kSigmoid:
    case LayerKind::kTanh:
    case LayerKind::kGELU:
    case LayerKind::kSiLU:
    case LayerKind::kLeakyReLU:
      return true;
    default:
      return false;
  }
}

std::pair<int, int> adaptive_pool_bin(int o, int in, int out) {
  const long long start = (long long)o * in / out, end = ((long long)(o + 1) * in + out - 1) / out;
  return {int(start), int(end)};
}

std::string kind_name(LayerKind k) {
  for (const auto& kv : kKinds)
    if (kv.first == k) return kv.second;
  return "?";
}

LayerKind kind_from_name(const std::string& s) {
  std::vector<std::string> names;
  for (const auto& kv : kKinds) {
    if (s == kv.second) return kv.first;
    names.push_back(kv.second);
  }
  require_one_of("layer type", s, names);
  return LayerKind::kReLU;  // not reached
}

}  // namespace mho
