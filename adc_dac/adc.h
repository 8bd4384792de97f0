// Adc: the transfer function of AdcSpec for one range. Cheap to build; convert() is
// inlined into the tile's element-wise pass. Thread-safe (const).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include "adc_dac/adc_spec.h"

namespace mho {

class Adc {
 public:
  // range_A: full scale R in amperes (> 0); is_signed: span [-R, R] instead of [0, R].
  Adc(const AdcSpec& spec, double range_A, bool is_signed);

  bool ideal() const { return ideal_; }
  double lsb() const { return lsb_; }
  int min_code() const { return int(qmin_); }
  int max_code() const { return int(qmax_); }
  double inl_lsb() const { return inl_; }
  // Whether convert_shift_add() adds an exact 0 for a zero current: no noise, no INL (which
  // bends mid-scale codes), and code 0 inside the code range. A pass that reads no current can
  // then skip its conversion without changing a bit.
  bool maps_zero_to_zero() const { return noise_ == 0.0 && (ideal_ || (inl_ == 0.0 && qmin_ <= 0.0 && qmax_ >= 0.0)); }
  double noise_lsb() const { return noise_; }

  // Converted value in amperes; z is a standard normal draw (used only if noise_lsb > 0).
  double convert(double i, double z = 0.0) const {
    if (ideal_) return i;
    double c = i / lsb_;
    if (inl_ != 0.0) {
      const double u = std::clamp((c - qmin_) / (qmax_ - qmin_), 0.0, 1.0);
      c += inl_ * 4.0 * u * (1.0 - u);
    }
    c += noise_ * z;
    return std::clamp(std::nearbyint(c), qmin_, qmax_) * lsb_;
  }

 private:
  bool ideal_;
  double lsb_ = 0.0, qmin_ = 0.0, qmax_ = 0.0, inl_ = 0.0, noise_ = 0.0;
};

// The smallest bits for which a signed conversion has a nonzero code.
constexpr int kMinSignedAdcBits = 2;

}  // namespace mho
