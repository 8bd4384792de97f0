#include "mapping/mapping.h"

#include <algorithm>
#include <cstdio>

#include "common/validate.h"

namespace mho {

namespace {
void check_spec(const TileSpec& spec, const std::string& where) {
  spec.validate();
  if (spec.max_outputs() < 1)
    reject(where + ".cols", std::to_string(spec.cols),
           "too few columns for one output (" + std::to_string(spec.physical_columns(1)) + " needed)");
}
}  // namespace

Mapping::Mapping(const std::vector<MatrixLayer>& mats, const TileSpec& spec,
                 const std::map<int, int>& replication, const LayerHardware& hardware)
    : spec_(spec), digital_(hardware.digital) {
  check_spec(spec_, "TileSpec");
  auto known = [&](int layer) {
    return std::any_of(mats.begin(), mats.end(), [&](const MatrixLayer& m) { return m.layer == layer; });
  };
  for (const auto& kv : replication) {
    if (!known(kv.first)) reject("replication layer", std::to_string(kv.first), "must be the index of a conv2d or linear layer");
    if (kv.second < 1) reject("replication[" + std::to_string(kv.first) + "]", std::to_string(kv.second), "must be >= 1");
    if (digital_.count(kv.first) && kv.second != 1)
      reject("replication[" + std::to_string(kv.first) + "]", std::to_string(kv.second),
             "1: layer " + std::to_string(kv.first) + " is digital and has no arrays to copy");
  }
  for (const auto& kv : hardware.specs) {
    const std::string where = "hardware layer " + std::to_string(kv.first);
    if (!known(kv.first)) reject(where, std::to_string(kv.first), "must be the index of a conv2d or linear layer");
    if (digital_.count(kv.first)) reject(where, "a TileSpec and digital", "one of the two");
    check_spec(kv.second, where + " TileSpec");
    layer_specs_.emplace(kv.first, kv.second);
  }
  for (int d : digital_)
    if (!known(d)) reject("digital layer", std::to_string(d), "must be the index of a conv2d or linear layer");
  for (const MatrixLayer& l : mats) {
    if (l.groups < 1 || l.rows < 1 || l.cols < 1)
      reject("layer " + std::to_string(l.layer) + " matrix", std::to_string(l.groups) + " x " + std::to_string(l.rows) + "x" + std::to_string(l.cols),
             "groups, rows and columns must be >= 1");
    const int li = l.layer;
    if (digital_.count(li)) continue;
    const TileSpec& ls = this->spec(li);
    const int max_out = ls.max_outputs();
    const int cells_per_weight = ls.encoding == "differential" ? 2 * ls.slices() : ls.slices();
    LayerMapping lm{};
    lm.layer = li;
    lm.name = l.name;
    lm.groups = l.groups;
    lm.matrix_rows = l.rows;
    lm.matrix_cols = l.cols;
    lm.row_blocks = (lm.matrix_rows + ls.rows - 1) / ls.rows;
    lm.col_blocks = (lm.matrix_cols + max_out - 1) / max_out;
    auto it = replication.find(li);
    lm.replication = it == replication.end() ? 1 : it->second;
    const bool pack = l.groups > 1 && lm.row_blocks == 1 && lm.col_blocks == 1;
    lm.groups_per_array = pack ? std::min(ls.rows / lm.matrix_rows, max_out / lm.matrix_cols) : 1;
    const int first_array = arrays_;
    int per_copy = 0;
    if (pack) {
      per_copy = (l.groups + lm.groups_per_array - 1) / lm.groups_per_array;
      for (int g = 0; g < l.groups; ++g)
        placements_.push_back({li, g, 0, lm.matrix_rows, 0, lm.matrix_cols, first_array + g / lm.groups_per_array});
    } else {
      for (int g = 0; g < l.groups; ++g)
        for (int rb = 0; rb < lm.row_blocks; ++rb)
          for (int cb = 0; cb < lm.col_blocks; ++cb) {
            const int r0 = rb * ls.rows, c0 = cb * max_out;
            placements_.push_back({li, g, r0, std::min(ls.rows, lm.matrix_rows - r0), c0,
                                   std::min(max_out, lm.matrix_cols - c0), first_array + per_copy++});
          }
    }
    lm.arrays = per_copy * lm.replication;
    arrays_ += lm.arrays;
    lm.weight_cells = (long long)lm.matrix_rows * lm.matrix_cols * l.groups * cells_per_weight * lm.replication;
    lm.allocated_cells = (long long)lm.arrays * ls.rows * ls.cols;
    layers_.push_back(lm);
  }
}

const TileSpec& Mapping::spec(int layer) const {
  const auto it = layer_specs_.find(layer);
  return it == layer_specs_.end() ? spec_ : it->second;
}

long long Mapping::weight_cells() const {
  long long s = 0;
  for (const auto& l : layers_) s += l.weight_cells;
  return s;
}

long long Mapping::allocated_cells() const {
  long long s = 0;
  for (const auto& l : layers_) s += l.allocated_cells;
  return s;
}

double Mapping::utilization() const {
  const long long a = allocated_cells();
  return a ? double(weight_cells()) / double(a) : 0.0;
}

std::string Mapping::summary() const {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "mapping on %dx%d arrays (%d slice(s), %s), %d arrays, utilization %.1f %%\n",
                spec_.rows, spec_.cols, spec_.slices(), spec_.encoding.c_str(), arrays_, 100 * utilization());
  out += line;
  std::snprintf(line, sizeof line, "%-4s %-18s %7s %13s %6s %6s %6s %7s %6s\n", "#", "layer", "groups",
                "matrix", "rowblk", "colblk", "packed", "arrays", "util");
  out += line;
  for (const auto& l : layers_) {
    const TileSpec& ls = spec(l.layer);
    std::snprintf(line, sizeof line, "%-4d %-18.18s %7d %6dx%-6d %6d %6d %6d %7d %5.1f%%%s\n", l.layer,
                  l.name.c_str(), l.groups, l.matrix_rows, l.matrix_cols, l.row_blocks, l.col_blocks,
                  l.groups_per_array, l.arrays, 100 * l.utilization(),
                  layer_specs_.count(l.layer) ? ("  own spec: " + std::to_string(ls.rows) + "x" + std::to_string(ls.cols) +
                                                 " arrays, " + std::to_string(ls.adc.bits) + "-bit ADC").c_str()
                                              : "");
    out += line;
  }
  if (!digital_.empty()) {
    out += "digital layers (not on arrays):";
    for (int d : digital_) out += " " + std::to_string(d);
    out += "\n";
  }
  return out;
}

}  // namespace mho
