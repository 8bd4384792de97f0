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
// code exactly for float and double.
template <typename T>
void convert_shift_add(const T* row, T ref, int n, const Adc& adc, const float* z, double w,
                        T* acc) {
  if (adc.ideal()) {
    const T wt = T(w);
    for (int j = 0; j < n; ++j) acc[j] += wt * (row[j] - ref);
    return;
  }
  const T inv = T(1.0 / adc.lsb()), lo = T(adc.min_code()), hi = T(adc.max_code());
  const T wl = T(w * adc.lsb()), inl = T(adc.inl_lsb()), noise = T(adc.noise_lsb());
  const T span = T(1.0 / (adc.max_code() - adc.min_code()));
  for (int j = 0; j < n; ++j) {
    T c = (row[j] - ref) * inv;
    if (inl != T(0)) {
      const T u = std::clamp((c - lo) * span, T(0), T(1));
      c += inl * T(4) * u * (T(1) - u);
    }
    if (z) c += noise * T(z[j]);
    acc[j] += wl * std::clamp(std::nearbyint(c), lo, hi);
  }
}

}  // namespace mho
