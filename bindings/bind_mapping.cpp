#include <pybind11/stl.h>

#include "bindings/bindings.h"
#include "bindings/convert.h"
#include "mapping/mapping.h"

namespace mho::bindings {

void bind_mapping(py::module_& m) {
  py::class_<Mapping> mapping_cls(m, "Mapping", "Layers' weight matrices placed on arrays. See mapping/mapping.h.");
  mapping_cls
      .def(py::init([](const std::vector<std::tuple<int, std::string, int, int, int>>& layers, const TileSpec& spec,
                       const std::map<int, int>& replication, const std::map<int, TileSpec>& layer_specs) {
             std::vector<MatrixLayer> mats;
             for (const auto& [layer, name, groups, rows, cols] : layers) mats.push_back({layer, name, groups, rows, cols});
             return Mapping(mats, spec, replication, LayerHardware{layer_specs, {}});
           }),
           py::arg("layers"), py::arg("spec"), py::arg("replication") = std::map<int, int>(),
           py::arg("layer_specs") = std::map<int, TileSpec>(),
           "layers: (layer index, name, groups, rows, cols) per weight layer; layer_specs: a layer's own TileSpec.")
      .def_property_readonly("arrays", &Mapping::arrays)
      .def_property_readonly("utilization", &Mapping::utilization)
      .def_property_readonly("weight_cells", &Mapping::weight_cells)
      .def_property_readonly("allocated_cells", &Mapping::allocated_cells)
      .def_property_readonly("num_placements", [](const Mapping& mp) { return mp.placements().size(); })
      .def("placements", [](const Mapping& mp) {
        py::list out;
        for (const Placement& p : mp.placements())
          out.append(py::dict(py::arg("layer") = p.layer, py::arg("group") = p.group, py::arg("row0") = p.row0,
                              py::arg("rows") = p.rows, py::arg("col0") = p.col0, py::arg("cols") = p.cols,
                              py::arg("array") = p.array));
        return out;
      })
      .def("layers", [](const Mapping& mp) {
        py::list out;
        for (const LayerMapping& l : mp.layers())
          out.append(py::dict(py::arg("layer") = l.layer, py::arg("name") = l.name, py::arg("groups") = l.groups,
                              py::arg("matrix") = py::make_tuple(l.matrix_rows, l.matrix_cols),
                              py::arg("row_blocks") = l.row_blocks, py::arg("col_blocks") = l.col_blocks,
                              py::arg("groups_per_array") = l.groups_per_array, py::arg("replication") = l.replication,
                              py::arg("arrays") = l.arrays, py::arg("weight_cells") = l.weight_cells,
                              py::arg("allocated_cells") = l.allocated_cells, py::arg("utilization") = l.utilization()));
        return out;
      })
      .def_property_readonly("spec", [](const Mapping& mp) { return mp.spec(); })
      .def("layer_spec", [](const Mapping& mp, int layer) { return mp.spec(layer); }, py::arg("layer"),
           "The TileSpec of a mapped layer's arrays (its own, or the mapping's).")
      .def_property_readonly("digital_layers", [](const Mapping& mp) {
        return std::vector<int>(mp.digital_layers().begin(), mp.digital_layers().end());
      }, "Conv/linear layers kept off the arrays (computed digitally).")
      .def("summary", &Mapping::summary)
      .def("__repr__", &Mapping::summary);
  reject_other_inits(mapping_cls, "Mapping(layers: list of (layer, name, groups, rows, cols), spec: TileSpec, replication: dict[int, int] = {}, "
                                  "layer_specs: dict[int, TileSpec] = {})");
}

}  // namespace mho::bindings
