// One bind_<folder>() per C++ folder; module.cpp calls them in dependency order.
#pragma once

#include <pybind11/pybind11.h>

#include "crossbar/counters.h"

namespace mho::bindings {
namespace py = pybind11;
// A tile's or network's action counters as a dict (the names of crossbar/counters.h).
py::dict counters_dict(const TileCounters& c);
void bind_devices(py::module_& m);
void bind_adc_dac(py::module_& m);
void bind_crossbar(py::module_& m);
void bind_mapping(py::module_& m);
void bind_nets(py::module_& m);
void bind_evaluator(py::module_& m);
}  // namespace mho::bindings
