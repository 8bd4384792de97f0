#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings/bindings.h"
#include "nets/model_file.h"
#include "nets/pim_network.h"
#include "nets/zoo.h"

namespace mho::bindings {

namespace {
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
    d["in"] = l.in_ch;
    d["out"] = l.out_ch;
    d["kernel"] = py::make_tuple(l.kh, l.kw);
    d["stride"] = py::make_tuple(l.stride_h, l.stride_w);
    d["padding"] = py::make_tuple(l.pad_h, l.pad_w);
    d["dilation"] = py::make_tuple(l.dil_h, l.dil_w);
    d["groups"] = l.groups;
    d["matrix"] = py::make_tuple(l.matrix_rows(), l.matrix_cols());
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

  py::class_<Network>(m, "Network", "A graph of layers. See nets/network.h.")
      .def_property_readonly("name", &Network::name)
      .def_property_readonly("input_shape", [](const Network& n) {
        const Shape& s = n.input_shape();
        return py::make_tuple(s.c, s.h, s.w);
      })
      .def_property_readonly("num_layers", [](const Network& n) { return n.layers().size(); })
      .def("layer", &layer_dict, py::arg("index"), "A dict describing one layer.")
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
        d["in"] = l.in_ch;
        d["out"] = l.out_ch;
        d["kernel"] = py::make_tuple(l.kh, l.kw);
        d["stride"] = py::make_tuple(l.stride_h, l.stride_w);
        d["padding"] = py::make_tuple(l.pad_h, l.pad_w);
        d["dilation"] = py::make_tuple(l.dil_h, l.dil_w);
        d["groups"] = l.groups;
        d["eps"] = l.eps;
        d["weight"] = arr(l.weight);
        d["bias"] = arr(l.bias);
        d["gamma"] = arr(l.gamma);
        d["beta"] = arr(l.beta);
        d["mean"] = arr(l.mean);
        d["var"] = arr(l.var);
        return d;
      }, py::arg("index"), "Every stored value of one layer (geometry, weights, BatchNorm statistics), flat arrays.")
      .def("weight_matrix", &Network::weight_matrix, py::arg("layer"), py::arg("group") = 0,
           "One group's weight matrix: (in/groups*kh*kw) x (out/groups).")
      .def("fold_batchnorm", &Network::fold_batchnorm)
      .def("forward", [](const Network& n, py::array_t<float, py::array::c_style | py::array::forcecast> x) {
        if (x.ndim() < 2) throw py::value_error("Network.forward: expected a batch (batch, ...), got a " + std::to_string(x.ndim()) + "-D array");
        const Eigen::Index b = x.shape(0), per = x.size() / std::max<Eigen::Index>(b, 1);
        Eigen::Map<const RowMat<float>> m(x.data(), b, per);
        return n.forward(m);
      }, py::arg("x"), "Float reference inference: (batch, C, H, W) or (batch, C*H*W) -> (batch, outputs).")
      .def_property_readonly("total_macs", &Network::total_macs)
      .def_property_readonly("total_weights", &Network::total_weights);

  m.def("load_model", [](const std::string& path) {
    ModelInfo info;
    Network n = load_model(path, &info);
    return py::make_tuple(n, info);
  }, py::arg("path"), "Load an mho model file: (Network, ModelInfo).");
  m.def("map_network", [](const Network& n, const TileSpec& spec, const std::map<int, int>& rep) {
    return Mapping(matrix_layers(n), spec, rep);
  }, py::arg("network"), py::arg("spec"), py::arg("replication") = std::map<int, int>(),
     "Place a network's conv/linear layers on arrays of `spec`.");

  py::class_<PimNetwork>(m, "PimNetwork", "A network running on mapped crossbar tiles. See nets/pim_network.h.")
      .def(py::init<Network, const TileSpec&, const std::map<int, int>&>(), py::arg("network"), py::arg("spec"),
           py::arg("replication") = std::map<int, int>())
      .def_property_readonly("mapping", &PimNetwork::mapping, py::return_value_policy::reference_internal)
      .def_property_readonly("network", &PimNetwork::network, py::return_value_policy::reference_internal)
      .def("program", &PimNetwork::program, py::arg("chip"))
      .def("set_time", &PimNetwork::set_time, py::arg("t_s"))
      .def("calibrate", [](PimNetwork& p, py::array_t<float, py::array::c_style | py::array::forcecast> x) {
        if (x.ndim() < 2) throw py::value_error("PimNetwork.calibrate: expected a batch (batch, ...)");
        Eigen::Map<const RowMat<float>> m(x.data(), x.shape(0), x.size() / std::max<py::ssize_t>(x.shape(0), 1));
        p.calibrate(m);
      }, py::arg("x"), "Calibrate DAC/ADC ranges on training inputs.")
      .def("forward", [](PimNetwork& p, py::array_t<float, py::array::c_style | py::array::forcecast> x) {
        if (x.ndim() < 2) throw py::value_error("PimNetwork.forward: expected a batch (batch, ...)");
        Eigen::Map<const RowMat<float>> m(x.data(), x.shape(0), x.size() / std::max<py::ssize_t>(x.shape(0), 1));
        return p.forward(m);
      }, py::arg("x"))
      .def_property_readonly("counters", [](const PimNetwork& p) {
        py::dict d = counters_dict(p.counters());
        d.attr("pop")("samples");
        d.attr("pop")("forward_calls");
        return d;
      }, "Actions of all tiles since program() (see crossbar/counters.h).")
      .def_property_readonly("inferences", &PimNetwork::inferences);

  m.def("zoo_network", &zoo_network, py::arg("name"), "A zoo network's layer shapes (no weights).");
  m.def("zoo_names", &zoo_names);
  m.def("save_model", &save_model, py::arg("network"), py::arg("path"), py::arg("info") = ModelInfo());
}

}  // namespace mho::bindings
