// Shift-and-add: the digital recombination of planes and slices. Each converted column is
// added to its output with weight +-2^shift (a shift in hardware; a power-of-two scale here,
// exact in floating point), fused with the ADC conversion so that a row is read once.
#pragma once

#include <algorithm>
#include <cmath>

#include "adc_dac/adc.h"

namespace mho {

// One ADC pass fused with shift-and-add: acc[j] += w * ADC(row[j] - ref) for j < n, where
// row holds column currents in the ADC's units, ref is a current subtracted in analog (0 if
// none), z holds standard normal draws for the ADC noise (nullptr without noise) and
// w = +-2^shift (plane, slice and sign weight) times any fixed scale. Vectorisable (the flags
// are loop invariants); works in the input's precision T, whose significand holds every ADC
// code exactly for float and double. Built once per (ADC range, weight) and applied to many
// rows: a narrow array's one-output rows pay the set-up once, not per row.
template <typename T>
class ShiftAdd {
 public:
  ShiftAdd(const Adc& adc, double w)
      : ideal_(adc.ideal()),
        wt_(T(w)),
        inv_(adc.ideal() ? T(0) : T(1.0 / adc.lsb())),
        lo_(T(adc.min_code())),
        hi_(T(adc.max_code())),
        wl_(T(w * adc.lsb())),
        inl_(T(adc.inl_lsb())),
        noise_(T(adc.noise_lsb())),
        span_(adc.ideal() ? T(0) : T(1.0 / (adc.max_code() - adc.min_code()))) {}

  void operator()(const T* row, T ref, int n, const float* z, T* acc) const {
    if (ideal_) {
      for (int j = 0; j < n; ++j) acc[j] += wt_ * (row[j] - ref);
      return;
    }
    if (inl_ == T(0) && !z) {  // the common case as its own loop: no spills of the unused terms
      for (int j = 0; j < n; ++j) acc[j] += wl_ * std::clamp(std::nearbyint((row[j] - ref) * inv_), lo_, hi_);
      return;
    }
    for (int j = 0; j < n; ++j) {
      T c = (row[j] - ref) * inv_;
      if (inl_ != T(0)) {
        const T u = std::clamp((c - lo_) * span_, T(0), T(1));
        c += inl_ * T(4) * u * (T(1) - u);
      }
      if (z) c += noise_ * T(z[j]);
      acc[j] += wl_ * std::clamp(std::nearbyint(c), lo_, hi_);
    }
  }

 private:
  bool ideal_;
  T wt_, inv_, lo_, hi_, wl_, inl_, noise_, span_;
};

template <typename T>
void convert_shift_add(const T* row, T ref, int n, const Adc& adc, const float* z, double w,
                        T* acc) {
  ShiftAdd<T>(adc, w)(row, ref, n, z, acc);
}

}  // namespace mho
