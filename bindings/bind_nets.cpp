#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings/bindings.h"
#include "bindings/convert.h"
#include "nets/model_file.h"
#include "nets/pim_network.h"
#include "nets/zoo.h"

namespace mho::bindings {

namespace {
using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

// A batch (batch, ...) of any real dtype, as float32.
FloatArray batch(py::handle x, const std::string& what) { return real_array<float>(x, what, 2, 32); }

// One row per sample (a view of `a`, which must outlive it).
Eigen::Map<const RowMat<float>> rows(const FloatArray& a) {
  const Eigen::Index b = a.shape(0), per = a.size() / std::max<Eigen::Index>(b, 1);
  return Eigen::Map<const RowMat<float>>(a.data(), b, per);
}

// A layer index as Python sees it: negative counts from the end; out of range is IndexError.
int layer_index(const Network& n, int i, const std::string& what) {
  const int size = int(n.layers().size());
  if (i < -size || i >= size)
    throw py::index_error(what + " = " + std::to_string(i) + ": the network has " + std::to_string(size) +
                          " layers (0.." + std::to_string(size - 1) + ")");
  return i < 0 ? i + size : i;
}


// A weighted layer's geometry, as layer() and parameters() report it.
void add_geometry(const Layer& l, py::dict& d) {
  d["in"] = l.in_ch;
  d["out"] = l.out_ch;
  d["kernel"] = py::make_tuple(l.kh, l.kw);
  d["stride"] = py::make_tuple(l.stride_h, l.stride_w);
  d["padding"] = py::make_tuple(l.pad_h, l.pad_w);
  d["dilation"] = py::make_tuple(l.dil_h, l.dil_w);
  d["groups"] = l.groups;
}

py::dict layer_dict(const Network& n, int i) {
  const Layer& l = n.layers()[std::size_t(i)];
  const Shape& s = n.output_shape(i);
  py::dict d;
  d["name"] = l.name;
  d["type"] = kind_name(l.kind);
  d["inputs"] = l.inputs;
  d["output_shape"] = py::make_tuple(s.c, s.h, s.w);
  d["macs"] = n.macs(i);
  d["weights"] = n.weights(i);
  if (l.has_weights()) {
    add_geometry(l, d);
    d["matrix"] = py::make_tuple(l.matrix_rows(), l.matrix_cols());
  }
  switch (l.kind) {
    case LayerKind::kLeakyReLU: d["negative_slope"] = l.negative_slope; break;
    case LayerKind::kGELU: d["approximate"] = l.gelu_tanh ? "tanh" : "none"; break;
    case LayerKind::kLayerNorm: d["normalized_shape"] = py::tuple(py::cast(l.norm_shape)); d["eps"] = l.eps; break;
    case LayerKind::kUpsample:
      if (l.scale_h > 0) d["scale_factor"] = py::make_tuple(l.scale_h, l.scale_w);
      else d["size"] = py::make_tuple(l.out_h, l.out_w);
      break;
    case LayerKind::kAdaptiveAvgPool: d["output_size"] = py::make_tuple(l.out_h, l.out_w); break;
    default: break;
  }
  return d;
}
}  // namespace

void bind_nets(py::module_& m) {
  py::register_exception<FileNotFound>(m, "ModelFileNotFound", PyExc_FileNotFoundError);

  py::class_<ModelInfo>(m, "ModelInfo")
      .def(py::init<>())
      .def_readwrite("dataset", &ModelInfo::dataset)
      .def_readwrite("source", &ModelInfo::source)
      .def_readwrite("float_test_accuracy", &ModelInfo::float_test_accuracy)
      .def_readonly("integrity_verified", &ModelInfo::integrity_verified,
                    "True if the file carried an integrity block (SHA-256) and it matched.");

  py::class_<Network> network_cls(m, "Network", "A graph of layers. See nets/network.h.");
  network_cls
      .def_property_readonly("name", &Network::name)
      .def_property_readonly("input_shape", [](const Network& n) {
        const Shape& s = n.input_shape();
        return py::make_tuple(s.c, s.h, s.w);
      })
      .def_property_readonly("num_layers", [](const Network& n) { return n.layers().size(); })
      .def("layer", [](const Network& n, int i) { return layer_dict(n, layer_index(n, i, "Network.layer(index)")); },
           py::arg("index"), "A dict describing one layer.")
      .def("layers", [](const Network& n) {
        py::list l;
        for (int i = 0; i < int(n.layers().size()); ++i) l.append(layer_dict(n, i));
        return l;
      })
      .def("parameters", [](const Network& n, int i) {
        if (i < 0 || i >= int(n.layers().size()))
          throw py::index_error("Network.parameters: layer " + std::to_string(i) + " of " + std::to_string(n.layers().size()));
        const Layer& l = n.layers()[std::size_t(i)];
        auto arr = [](const std::vector<float>& v) { return py::array_t<float>(py::ssize_t(v.size()), v.data()); };
        py::dict d;
        add_geometry(l, d);
        d["eps"] = l.eps;
        d["weight"] = arr(l.weight);
        d["bias"] = arr(l.bias);
        d["gamma"] = arr(l.gamma);
        d["beta"] = arr(l.beta);
        d["mean"] = arr(l.mean);
        d["var"] = arr(l.var);
        d["negative_slope"] = l.negative_slope;
        d["gelu_tanh"] = l.gelu_tanh;
        d["normalized_shape"] = py::tuple(py::cast(l.norm_shape));
        d["scale_factor"] = py::make_tuple(l.scale_h, l.scale_w);
        d["output_size"] = py::make_tuple(l.out_h, l.out_w);
        return d;
      }, py::arg("index"),
      "Every stored value of one layer (geometry, weights, BatchNorm statistics / LayerNorm weight and bias in "
      "gamma and beta, activation, upsample and pooling parameters), flat arrays.")
      .def("weight_matrix", [](const Network& n, int layer, int group) {
             const int li = layer_index(n, layer, "Network.weight_matrix(layer)");
             const int groups = n.layers()[std::size_t(li)].groups;
             if (group < 0 || group >= groups)  // the C++ call reads the weights unchecked
               throw py::index_error("Network.weight_matrix(group) = " + std::to_string(group) + ": layer " +
                                     std::to_string(li) + " has " + std::to_string(groups) + " group(s)");
             return n.weight_matrix(li, group);
           }, py::arg("layer"), py::arg("group") = 0,
           "One group's weight matrix: (in/groups*kh*kw) x (out/groups).")
      .def("fold_batchnorm", &Network::fold_batchnorm)
      .def("forward", [](const Network& n, py::handle x) {
        const FloatArray a = batch(x, "Network.forward(x)");
        return n.forward(rows(a));
      }, py::arg("x"), "Float reference inference: (batch, C, H, W) or (batch, C*H*W) -> (batch, outputs).")
      .def_property_readonly("total_macs", &Network::total_macs)
      .def_property_readonly("total_weights", &Network::total_weights);
  reject_other_calls(network_cls, "layer", "Network.layer(index: int)");
  reject_other_calls(network_cls, "weight_matrix", "Network.weight_matrix(layer: int, group: int = 0)");
  reject_other_calls(network_cls, "forward", "Network.forward(x: array (batch, C, H, W) or (batch, C*H*W))");

  m.def("load_model", [](py::handle path) {
    ModelInfo info;
    Network n = load_model(to_path(path, "load_model(path)"), &info);
    return py::make_tuple(n, info);
  }, py::arg("path"), "Load an mho model file: (Network, ModelInfo).");
  reject_other_calls(m, "load_model", "load_model(path: str)");
  m.def("map_network", [](py::handle n, py::handle spec, const std::map<int, int>& rep,
                          const std::map<int, TileSpec>& layer_specs, const std::set<int>& digital) {
    return Mapping(matrix_layers(to_object<Network>(n, "map_network(network)")),
                   to_object<TileSpec>(spec, "map_network(spec)"), rep, LayerHardware{layer_specs, digital});
  }, py::arg("network"), py::arg("spec"), py::arg("replication") = std::map<int, int>(),
     py::arg("layer_specs") = std::map<int, TileSpec>(), py::arg("digital") = std::set<int>(),
     "Place a network's conv/linear layers on arrays of `spec` (layer_specs: a layer's own TileSpec; "
     "digital: layers kept off the arrays).");
  reject_other_calls(m, "map_network", "map_network(network: Network, spec: TileSpec, replication: dict[int, int] = {}, "
                                        "layer_specs: dict[int, TileSpec] = {}, digital: set[int] = set())");

  py::class_<PimNetwork> pimNetwork_cls(m, "PimNetwork", "A network running on mapped crossbar tiles. See nets/pim_network.h.");
  pimNetwork_cls
      .def(py::init([](py::handle n, py::handle spec, const std::map<int, int>& rep,
                       const std::map<int, TileSpec>& layer_specs, const std::set<int>& digital) {
             return PimNetwork(to_object<Network>(n, "PimNetwork(network)"), to_object<TileSpec>(spec, "PimNetwork(spec)"),
                               rep, LayerHardware{layer_specs, digital});
           }),
           py::arg("network"), py::arg("spec"), py::arg("replication") = std::map<int, int>(),
           py::arg("layer_specs") = std::map<int, TileSpec>(), py::arg("digital") = std::set<int>())
      .def_property_readonly("mapping", &PimNetwork::mapping, py::return_value_policy::reference_internal)
      .def_property_readonly("network", &PimNetwork::network, py::return_value_policy::reference_internal)
      // The GIL is released while tiles work, so that chips can run on Python threads side by side.
      .def("program", [](PimNetwork& p, py::handle chip) {
             const std::uint64_t c = to_integer<std::uint64_t>(chip, "PimNetwork.program(chip)");
             py::gil_scoped_release release;
             p.program(c);
           },
           py::arg("chip"))
      .def("set_time", [](PimNetwork& p, py::handle t) { p.set_time(to_double(t, "PimNetwork.set_time(t_s)")); },
           py::arg("t_s"))
      .def("calibrate", [](PimNetwork& p, py::handle x) {
             const FloatArray a = batch(x, "PimNetwork.calibrate(x)");
             py::gil_scoped_release release;
             p.calibrate(rows(a));
           },
           py::arg("x"), "Calibrate DAC/ADC ranges on training inputs.")
      .def("forward", [](PimNetwork& p, py::handle x) {
             const FloatArray a = batch(x, "PimNetwork.forward(x)");
             RowMat<float> y;
             {
               py::gil_scoped_release release;
               y = p.forward(rows(a));
             }
             return y;
           },
           py::arg("x"))
      .def_property_readonly("counters", [](const PimNetwork& p) {
        py::dict d = counters_dict(p.counters());
        d.attr("pop")("samples");
        d.attr("pop")("forward_calls");
        return d;
      }, "Actions of all tiles since program() (see crossbar/counters.h).")
      .def_property_readonly("inferences", &PimNetwork::inferences);
  reject_other_inits(pimNetwork_cls, "PimNetwork(network: Network, spec: TileSpec, replication: dict[int, int] = {}, "
                                     "layer_specs: dict[int, TileSpec] = {}, digital: set[int] = set())");
  for (const char* f : {"calibrate", "forward"})
    reject_other_calls(pimNetwork_cls, f, std::string("PimNetwork.") + f + "(x: array (batch, ...))");
  reject_other_calls(pimNetwork_cls, "program", "PimNetwork.program(chip: int)");
  reject_other_calls(pimNetwork_cls, "set_time", "PimNetwork.set_time(t_s: float)");

  m.def("zoo_network", [](py::handle name) { return zoo_network(to_string(name, "zoo_network(name)")); },
        py::arg("name"), "A zoo network's layer shapes (no weights).");
  m.def("zoo_names", &zoo_names);
  m.def("mvm_network", [](py::handle inputs, py::handle outputs) {
        return mvm_network(to_integer<int>(inputs, "mvm_network(inputs)"), to_integer<int>(outputs, "mvm_network(outputs)"));
      }, py::arg("inputs"), py::arg("outputs"), "One linear layer of inputs x outputs weights (nets/zoo.h).");
  m.def("save_model", &save_model, py::arg("network"), py::arg("path"), py::arg("info") = ModelInfo());
  reject_other_calls(m, "save_model", "save_model(network: Network, path: str, info: ModelInfo = ModelInfo())");
}

}  // namespace mho::bindings
