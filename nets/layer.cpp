#include "nets/layer.h"

#include <array>
#include <utility>

#include "common/validate.h"

namespace mho {

namespace {
const std::array<std::pair<LayerKind, const char*>, 10> kKinds = {{
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
}};
}  // namespace

std::string Shape::text() const {
  return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w);
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
