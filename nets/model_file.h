// The mho model file: an HDF5 file behind a 512-byte integrity block.
//
// Integrity block (the HDF5 user block, bytes 0..511), written after the HDF5 part is closed:
//
//   "mho-model-integrity 1\n"
//   "payload-bytes <N>\n"          N = file size - 512 (decimal)
//   "payload-sha256 <64 hex>\n"    SHA-256 of bytes 512 .. end, lowercase
//   NUL bytes up to byte 512
//
// load_model() reads the whole file with plain reads (regular files only, at most
// kMaxModelFileBytes), rebuilds the block it expects from the bytes that follow and compares
// all 512 bytes before libhdf5 sees anything: libhdf5 1.10 crashes or hangs on some damaged
// files, so a damaged file must never reach it. HDF5 then parses the verified bytes from
// memory, so the file cannot change between the check and the parse.
// Files without the block (the HDF5 signature at byte 0: written before the block existed)
// are still read, with ModelInfo::integrity_verified = false; `mho model-migrate FILE`
// rewrites them with the block (python/mho/export.py).
//
// HDF5 part, format version 1:
//
//   /                attrs  format = "mho-model", version = 1, name, input_shape = [C, H, W]
//                           optional: dataset, float_test_accuracy, source
//   /layers          attrs  count; holds exactly `count` groups
//   /layers/<k>      k = 0 .. count-1, in graph order; attrs: type (conv2d | linear | relu |
//                    maxpool | avgpool | global_avgpool | batchnorm | add | flatten | concat |
//                    relu6 | sigmoid | tanh | gelu | silu | leaky_relu | layernorm | upsample |
//                    adaptive_avgpool), name, inputs = [indices of earlier layers; -1 is the
//                    network input]
//       conv2d       attrs  in_channels, out_channels, kernel[2], stride[2], padding[2],
//                           dilation[2], groups; data weight [out, in/groups, kh, kw], bias [out]?
//       linear       attrs  in_features, out_features; data weight [out, in], bias [out]?
//       maxpool/avgpool  attrs kernel[2], stride[2], padding[2]
//       batchnorm    attrs  eps, num_features; data weight (gamma), bias (beta),
//                           running_mean, running_var
//       leaky_relu   attrs  negative_slope
//       gelu         attrs  approximate = "none" (erf form) | "tanh"
//       layernorm    attrs  eps, normalized_shape[1..3] (trailing dims of C, H, W, or [C] of a
//                           flat activation); data weight, bias [normalized_shape]? (absent:
//                           1 and 0, torch's elementwise_affine=False)
//       upsample     attrs  mode = "nearest", and scale_factor[2] (integers) or size[2]
//       adaptive_avgpool  attrs output_size[2]
// The kinds from relu6 on were added within version 1: older files never hold them, so they
// read as before; an older mho reading a new file names the unknown type.
// Strings are fixed-length UTF-8 (variable-length strings are read from unverified files
// only: reading them follows heap addresses that a damaged file can point anywhere). Numbers
// are IEEE float32/float64 or standard integers; arrays are float32 (float64 accepted),
// stored uncompressed. Every weight, bias and BatchNorm statistic must be finite, running
// variances >= 0, eps finite and > 0.
// Errors: FileNotFound for a missing file, std::invalid_argument naming the file, the path
// in the file and the problem for anything else.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include "nets/network.h"

namespace mho {

struct FileNotFound : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr int kModelFormatVersion = 1;
constexpr std::size_t kModelUserBlockBytes = 512;
// Far above any model mho handles (VGG-16 in float32 is 553 MB); a larger "model" is a
// wrong path, and reading it whole into memory would be the failure.
constexpr std::size_t kMaxModelFileBytes = std::size_t(4) << 30;

struct ModelInfo {
  std::string dataset, source;
  double float_test_accuracy = -1.0;  // < 0: not recorded
  // Set by load: true if the file carried an integrity block and it matched.
  bool integrity_verified = false;
};

Network load_model(const std::string& path, ModelInfo* info = nullptr);
// The same from a file's bytes; `name` stands for the file in messages.
Network load_model_from_bytes(const std::string& bytes, const std::string& name, ModelInfo* info = nullptr);
// The HDF5 parse alone, as a verified file gets it (fixed-length strings only), skipping the
// integrity check: for fuzzing the parser behind the check. `bytes` is a whole file, with or
// without the integrity block.
Network parse_model_unverified(const std::string& bytes, const std::string& name, ModelInfo* info = nullptr);

// Atomic: writes a temporary file beside `path` with the integrity block, fsyncs it, then
// renames it.
void save_model(const Network& net, const std::string& path, const ModelInfo& info = {});

// The integrity block for a payload (the `n` bytes after the block); 512 bytes.
std::string model_integrity_block(const char* payload, std::size_t n);

}  // namespace mho
