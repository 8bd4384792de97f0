// TileSpec: one crossbar array and its periphery, validated and immutable once a Tile holds it.
//
// Weights: a block W (inputs x outputs) is quantized to codes of `weight_bits` (0 = analog,
// unquantized) with one scale per tensor or per output column, then encoded
//   "differential": |code| on a G+ column for positive and a G- column for negative weights
//                   (weight_bits magnitude bits; codes in [-(2^wb - 1), 2^wb - 1]);
//   "offset":       code + 2^(wb-1) on one column, minus a reference column per slice holding
//                   the level of zero (codes in [-(2^(wb-1) - 1), 2^(wb-1) - 1]).
// The stored code is split into slices (as few as bits_per_cell allows, of equal width
// slice_bits(), the code shifted up by slice_pad_bits() when they do not divide weight_bits)
// on separate columns, recombined by shift-and-add. `subtract`: "analog" (currents subtracted before one ADC) or "digital" (each
// column converted, subtracted after). Level l of a cell is g_min + l (g_max - g_min) /
// (2^bits_per_cell - 1).
// Non-idealities are switched one by one; ideal() turns every one off and is exact.
// With wire resistance, the sinh I-V and the per-cell read-noise path are rejected (the
// network would be nonlinear, resp. the reference path ignores the wires).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "adc_dac/adc_spec.h"
#include "adc_dac/dac_spec.h"
#include "crossbar/cap_spec.h"
#include "crossbar/wire_spec.h"
#include "devices/cell_spec.h"

namespace mho {

struct TileSpec {
  int rows = 256;
  int cols = 256;
  int weight_bits = 8;
  int bits_per_cell = 0;  // 0: as many as the cell holds (cell.bits)
  std::string weight_scale = "per_tensor";  // "per_tensor" | "per_column"
  std::string encoding = "differential";    // "differential" | "offset"
  std::string subtract = "analog";          // "analog" | "digital"
  // "current": cells' currents summed on the columns (resistive cells). "charge": cells'
  // capacitors charged and shared on the columns (crossbar/cap_spec.h, `cap`); the cell's
  // conductance model (drift, stuck-at, I-V, read noise) is not used, programming_error
  // switches capacitor mismatch and read_noise the lines' kT/C noise.
  std::string accumulation = "current";
  CapSpec cap;

  CellSpec cell;
  DacSpec dac;
  AdcSpec adc;
  // Wire parasitics, solved exactly (crossbar/resistive_array.h) over the whole physical
  // array: all slice and sign columns share the word lines. Read noise is then applied at the
  // outputs to first order: its variance sum_i V_i^2 sigma_ij^2 uses the driven row voltages,
  // not the (lower) voltages the cells actually see.
  WireSpec wires;

  bool programming_error = true;
  bool read_noise = true;
  bool drift = true;
  bool stuck_at = true;
  bool nonlinear_iv = true;
  // "none" | "global" (one factor per tile) | "per_column" (one per output): the tile reads
  // known reference inputs right after programming and again at each set_time(t), through
  // the DAC, array (with its read noise) and ADC, and scales its outputs by the ratio of the
  // summed |outputs| (Joshi et al. 2020; aihwkit's GlobalDriftCompensation). See tile.h.
  std::string drift_compensation = "none";
  std::string read_noise_method = "aggregate";  // "aggregate" | "per_cell"
  std::uint64_t seed = 0;

  // Every non-ideality off: analog weights, ideal DAC and ADC, no noise, drift or faults.
  static TileSpec ideal(int rows, int cols);

  // bits_per_cell, with 0 resolved to the cell's bits.
  int cell_bits_used() const { return bits_per_cell > 0 ? bits_per_cell : cell.bits; }
  // Slices per weight: as few as the cell's bits allow (1 for analog weights).
  int slices() const {
    if (weight_bits == 0) return 1;
    const int b = std::min(cell_bits_used(), weight_bits);
    return (weight_bits + b - 1) / b;
  }
  // Bits per slice, balanced: weight_bits spread evenly over the slices, so that no slice is
  // left with a few of its levels (8 bits on 6-bit cells are 4 + 4, not 6 + 2, whose top
  // slice would use 4 of its 64 levels and carry its programming error times 2^6).
  int slice_bits() const { return weight_bits == 0 ? 1 : (weight_bits + slices() - 1) / slices(); }
  // Zero bits below the code when slices x slice_bits exceeds weight_bits: the code is
  // stored shifted up by them, so the top slices use all their levels and only the lowest
  // slice (whose error counts least) steps in 2^pad levels.
  int slice_pad_bits() const { return weight_bits == 0 ? 0 : slices() * slice_bits() - weight_bits; }
  // Physical columns for n_out outputs: slices x (2 for differential) per output, plus one
  // reference column per slice for offset encoding.
  int physical_columns(int n_out) const {
    return encoding == "differential" ? 2 * slices() * n_out : slices() * n_out + slices();
  }
  // The most outputs one array holds.
  int max_outputs() const {
    return encoding == "differential" ? cols / (2 * slices()) : (cols - slices()) / slices();
  }
  // Columns converted per pass for n_out outputs: with analog subtraction one per output and
  // slice; with digital subtraction every sign column, or every column and the reference
  // columns (offset encoding), on its own.
  int converted_columns(int n_out) const {
    if (subtract == "analog") return slices() * n_out;
    return encoding == "differential" ? 2 * slices() * n_out : slices() * n_out + slices();
  }
  // Digital terms recombined by shift-and-add per output and plane: one per slice, two with
  // digital subtraction (the negative or reference part converted separately).
  int conversion_groups() const { return subtract == "analog" ? slices() : 2 * slices(); }
  // ADCs of one array: its conversion columns when full, shared columns_per_adc to a converter.
  int adcs_per_array() const {
    return (converted_columns(max_outputs()) + adc.columns_per_adc - 1) / adc.columns_per_adc;
  }

  void validate() const;
  std::string repr() const;
};

}  // namespace mho
