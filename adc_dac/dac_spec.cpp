#include "adc_dac/dac_spec.h"

#include <sstream>

#include "common/validate.h"

namespace mho {

void DacSpec::validate() const {
  require_in("DacSpec.input_bits", input_bits, 0, 16);
  require_one_of("DacSpec.mode", mode, {"multilevel", "bitserial"});
  require_in("DacSpec.bits_per_plane", bits_per_plane, 1, 16);
  if (mode == "bitserial" && input_bits == 0)
    reject("DacSpec.mode", "'bitserial'", "needs input_bits >= 1 (input_bits = 0 is an ideal DAC)");
  require_one_of("DacSpec.signed_mode", signed_mode, {"unsigned", "two_pass", "bipolar"});
  require_one_of("DacSpec.range", range, {"fixed", "calibrated"});
  // x_max is in the caller's units (any scale), so the bounds only keep x / x_max and its
  // float32 copy finite and nonzero: float32 spans 1.2e-38 .. 3.4e38.
  require_finite_in("DacSpec.x_max", x_max, 1e-30, 1e30);
  require_finite_in("DacSpec.percentile", percentile, 1e-9, 100.0);
}

std::string DacSpec::repr() const {
  std::ostringstream os;
  os << "DacSpec(input_bits=" << input_bits << ", mode='" << mode
     << "', bits_per_plane=" << bits_per_plane << ", signed_mode='" << signed_mode
     << "', range='" << range << "', x_max=" << x_max << ", percentile=" << percentile << ")";
  return os.str();
}

}  // namespace mho
