#include "adc_dac/adc_spec.h"

#include <sstream>

#include "common/validate.h"

namespace mho {

void AdcSpec::validate() const {
  require_in("AdcSpec.bits", bits, 0, 24);
  require_one_of("AdcSpec.range", range, {"fixed", "calibrated"});
  require_finite_in("AdcSpec.percentile", percentile, 1e-9, 100.0);
  // Noise and INL beyond the code range of the widest ADC (2^24 codes) only clip, so that is a
  // generous bound; it keeps (code + noise) far inside the integer range the codes use.
  require_finite_in("AdcSpec.noise_lsb", noise_lsb, 0.0, 16777216.0);
  require_finite_in("AdcSpec.inl_lsb", inl_lsb, 0.0, 16777216.0);
  require_in("AdcSpec.columns_per_adc", columns_per_adc, 1, 4096);
}

std::string AdcSpec::repr() const {
  std::ostringstream os;
  os << "AdcSpec(bits=" << bits << ", range='" << range << "', percentile=" << percentile
     << ", noise_lsb=" << noise_lsb << ", inl_lsb=" << inl_lsb
     << ", columns_per_adc=" << columns_per_adc << ")";
  return os.str();
}

}  // namespace mho
