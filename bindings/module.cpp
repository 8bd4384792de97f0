#include "bindings/bindings.h"
#include "common/allocator.h"

PYBIND11_MODULE(_core, m) {
  m.doc() = "mho: processing-in-memory crossbar simulator (compiled core)";
  mho::keep_freed_memory();  // common/allocator.h says why
  m.def("keep_freed_memory", [](bool even_if_set) { return mho::keep_freed_memory(even_if_set); },
        pybind11::arg("even_if_set") = false,
        "Keep freed memory for reuse (glibc thresholds); see common/allocator.h. True if in force.");
  mho::bindings::bind_devices(m);
  mho::bindings::bind_adc_dac(m);
  mho::bindings::bind_crossbar(m);
  mho::bindings::bind_mapping(m);
  mho::bindings::bind_nets(m);
  mho::bindings::bind_evaluator(m);
}
