// Device presets by name. Each preset's `source` field cites where its numbers come from;
// numbers that no publication fixes are marked "assumption" there.
#pragma once

#include <string>
#include <vector>

#include "devices/cell_spec.h"

namespace mho {

// Throws std::invalid_argument naming the allowed presets for an unknown name.
CellSpec cell_preset(const std::string& name);
std::vector<std::string> cell_preset_names();

}  // namespace mho
