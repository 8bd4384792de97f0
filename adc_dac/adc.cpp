#include "adc_dac/adc.h"

#include "common/validate.h"

namespace mho {

Adc::Adc(const AdcSpec& spec, double range_A, bool is_signed) : ideal_(spec.bits == 0) {
  spec.validate();
  if (ideal_) return;
  require_positive("ADC range (A)", range_A);
  if (is_signed && spec.bits < kMinSignedAdcBits)
    reject("AdcSpec.bits", to_text(spec.bits),
           "a signed (differential) conversion needs bits >= 2");
  const double half = std::ldexp(1.0, spec.bits - 1) - 1.0;
  qmax_ = is_signed ? half : std::ldexp(1.0, spec.bits) - 1.0;
  qmin_ = is_signed ? -half : 0.0;
  lsb_ = range_A / qmax_;
  inl_ = spec.inl_lsb;
  noise_ = spec.noise_lsb;
}

}  // namespace mho
