#include "adc_dac/adc_spec.h"
#include "adc_dac/dac_spec.h"
#include "bindings/bindings.h"
#include "bindings/spec_binder.h"

namespace mho::bindings {

void bind_adc_dac(py::module_& m) {
  SpecBinder<DacSpec>(m, "DacSpec", "Input DAC / encoding. See adc_dac/dac_spec.h.")
      .field("input_bits", &DacSpec::input_bits, "magnitude bits (0 = ideal DAC)")
      .field("mode", &DacSpec::mode, "'multilevel' | 'bitserial'")
      .field("bits_per_plane", &DacSpec::bits_per_plane, "bits per bit-serial plane")
      .field("signed_mode", &DacSpec::signed_mode, "'unsigned' | 'two_pass' | 'bipolar'")
      .field("range", &DacSpec::range, "'fixed' | 'calibrated'")
      .field("x_max", &DacSpec::x_max, "fixed range: input magnitude at full scale")
      .field("percentile", &DacSpec::percentile, "calibrated range: percentile of |x|")
      .finish();
  SpecBinder<AdcSpec>(m, "AdcSpec", "Column ADC. See adc_dac/adc_spec.h.")
      .field("bits", &AdcSpec::bits, "resolution (0 = ideal ADC)")
      .field("range", &AdcSpec::range, "'fixed' | 'calibrated'")
      .field("percentile", &AdcSpec::percentile, "calibrated range: percentile of |I|")
      .field("noise_lsb", &AdcSpec::noise_lsb, "input-referred noise sigma, LSB")
      .field("inl_lsb", &AdcSpec::inl_lsb, "parabolic INL peak, LSB")
      .field("columns_per_adc", &AdcSpec::columns_per_adc, "columns sharing one ADC")
      .finish();
}

}  // namespace mho::bindings
