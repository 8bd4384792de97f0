#include "bindings/bindings.h"

PYBIND11_MODULE(_core, m) {
  m.doc() = "mho: processing-in-memory crossbar simulator (compiled core)";
  mho::bindings::bind_devices(m);
  mho::bindings::bind_adc_dac(m);
  mho::bindings::bind_crossbar(m);
  mho::bindings::bind_mapping(m);
  mho::bindings::bind_nets(m);
  mho::bindings::bind_evaluator(m);
}
