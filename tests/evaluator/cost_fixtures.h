// Fixtures shared by the evaluator tests: the tech table of the source tree, a small tile
// whose costs are computed by hand, and a breakdown's part by name.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "crossbar/tile_spec.h"
#include "devices/presets.h"
#include "nets/network.h"

namespace mho::test {

inline const std::string kTech = std::string(MHO_SOURCE_DIR) + "/data/tech.yaml";

// A noise-free rows x cols tile with unsigned bit-serial inputs of `input_bits` (one bit a plane).
inline TileSpec noise_free_bitserial(int rows, int cols, int input_bits) {
  TileSpec s;
  s.rows = rows;
  s.cols = cols;
  s.dac.input_bits = input_bits;
  s.dac.mode = "bitserial";
  s.dac.bits_per_plane = 1;
  s.dac.signed_mode = "unsigned";
  s.programming_error = s.read_noise = s.drift = s.stuck_at = false;
  return s;
}

// 128 x 64 array, 4-bit weights in two 2-bit slices on differential pairs (analog
// subtraction), 4-bit unsigned bit-serial inputs (4 planes), 6-bit SAR ADCs shared by 4 columns.
inline TileSpec small_spec() {
  TileSpec s = noise_free_bitserial(128, 64, 4);
  s.weight_bits = 4;
  s.bits_per_cell = 2;
  s.adc.bits = 6;
  s.adc.columns_per_adc = 4;
  return s;
}

// NeuroSim V1.4's VGG-8 subarray (docs/validation.md): 128 x 128 RRAM, 8-bit weights on 1-bit
// cells with a reference column (digital subtraction), 8 bit-serial input bits, 5-bit ADCs
// shared by 8 columns; noise-free.
inline TileSpec neurosim_tile() {
  TileSpec s = noise_free_bitserial(128, 128, 8);
  s.cell = cell_preset("rram_neurosim_22nm");
  s.weight_bits = 8;
  s.bits_per_cell = 1;
  s.encoding = "offset";
  s.subtract = "digital";
  s.adc.bits = 5;
  s.adc.columns_per_adc = 8;
  return s;
}

// One linear layer `in` -> `out` reading the network input, weights (out, in) row-major.
inline Network linear_network(int in, int out, std::vector<float> weight) {
  Layer l;
  l.kind = LayerKind::kLinear;
  l.name = "fc";
  l.inputs = {-1};
  l.in_ch = in;
  l.out_ch = out;
  l.weight = std::move(weight);
  return Network("fc", {in, 1, 1}, {l});
}

inline double part(const std::vector<std::pair<std::string, double>>& v, const std::string& k) {
  for (const auto& kv : v)
    if (kv.first == k) return kv.second;
  ADD_FAILURE() << "no part " << k;
  return 0;
}

}  // namespace mho::test
