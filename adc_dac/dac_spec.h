// DacSpec and the input encoding it implies.
//
// An input x (in the caller's units) becomes a magnitude code c = round(|x| / x_lsb),
// clipped to [0, 2^input_bits - 1], with x_lsb = x_max / (2^input_bits - 1); x_max comes
// from the spec ("fixed") or from data ("calibrated": a percentile of |x|). The code is
// applied as one multi-level pass ("multilevel") or as ceil(input_bits / bits_per_plane)
// bit-serial planes, plane k holding bits [k*bpp, (k+1)*bpp) and weighted 2^(k*bpp).
// Signed inputs ("signed_mode"):
//   "unsigned"  negative inputs are rejected;
//   "two_pass"  x+ = max(x, 0) and x- = max(-x, 0) run as separate passes, subtracted
//               after the ADC (unipolar drivers; twice the passes);
//   "bipolar"   sign-magnitude: each plane drives +V or -V by the sign of x (one pass).
// input_bits = 0 is an ideal DAC: x / x_max applied as a continuous level, never clipped.
#pragma once

#include <string>

namespace mho {

struct DacSpec {
  int input_bits = 8;
  std::string mode = "multilevel";
  int bits_per_plane = 1;
  std::string signed_mode = "two_pass";
  std::string range = "calibrated";
  double x_max = 1.0;
  double percentile = 100.0;

  void validate() const;
  std::string repr() const;
};

}  // namespace mho
