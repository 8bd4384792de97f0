// AdcSpec: a column analog-to-digital converter.
//
// bits = 0 is an ideal converter (passes the current through). Otherwise a current i in
// amperes becomes code q = round(i / lsb (+ INL + noise)), clipped to the code range, and
// is returned as q * lsb. Unsigned conversions span [0, R] with 2^bits codes
// (lsb = R / (2^bits - 1)); signed ones (differential currents) span [-R, R] with the
// symmetric codes -(2^(bits-1) - 1) .. 2^(bits-1) - 1 (lsb = R / (2^(bits-1) - 1)), so that
// zero is a code. R is "fixed" (the largest current the column can carry) or "calibrated"
// (the spec's percentile of |i| on calibration data, per tile and per plane and slice).
// noise_lsb: input-referred Gaussian noise, sigma in LSB, drawn per conversion.
// inl_lsb: a parabolic integral nonlinearity, inl_lsb * 4 u (1 - u) LSB at position u in
// [0, 1] of the code range: zero at both ends, inl_lsb at mid-scale.
// columns_per_adc: how many columns share one converter (recorded for latency and area).
#pragma once

#include <string>

namespace mho {

struct AdcSpec {
  int bits = 8;
  std::string range = "calibrated";
  double percentile = 99.99;
  double noise_lsb = 0.0;
  double inl_lsb = 0.0;
  int columns_per_adc = 1;

  void validate() const;
  std::string repr() const;
};

}  // namespace mho
