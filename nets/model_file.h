// The mho model file (HDF5), format version 1:
//
//   /                attrs  format = "mho-model", version = 1, name, input_shape = [C, H, W]
//                           optional: dataset, float_test_accuracy, source
//   /layers          attrs  count
//   /layers/<k>      k = 0 .. count-1, in graph order; attrs: type (conv2d | linear | relu |
//                    maxpool | avgpool | global_avgpool | batchnorm | add | flatten), name,
//                    inputs = [indices of earlier layers; -1 is the network input]
//       conv2d       attrs  in_channels, out_channels, kernel[2], stride[2], padding[2],
//                           dilation[2], groups; data weight [out, in/groups, kh, kw], bias [out]?
//       linear       attrs  in_features, out_features; data weight [out, in], bias [out]?
//       maxpool/avgpool  attrs kernel[2], stride[2], padding[2]
//       batchnorm    attrs  eps; data weight (gamma), bias (beta), running_mean, running_var
// Arrays are float32 (float64 accepted). load_model() checks everything and throws
// std::invalid_argument naming the problem and its path in the file, or FileNotFound.
#pragma once

#include <stdexcept>
#include <string>

#include "nets/network.h"

namespace mho {

struct FileNotFound : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr int kModelFormatVersion = 1;

struct ModelInfo {
  std::string dataset, source;
  double float_test_accuracy = -1.0;  // < 0: not recorded
};

Network load_model(const std::string& path, ModelInfo* info = nullptr);
// Atomic: writes a temporary file beside `path`, then renames it.
void save_model(const Network& net, const std::string& path, const ModelInfo& info = {});

}  // namespace mho
