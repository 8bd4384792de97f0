#include "nets/model_file.h"

#include <hdf5.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "common/validate.h"

namespace mho {

namespace {

// RAII for HDF5 identifiers.
struct Id {
  hid_t id;
  herr_t (*close)(hid_t);
  Id(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  ~Id() {
    if (id >= 0) close(id);
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  operator hid_t() const { return id; }
};

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  throw std::invalid_argument("model file: " + where + ": " + what);
}

bool has_attr(hid_t obj, const char* name) { return H5Aexists(obj, name) > 0; }

std::string read_string_attr(hid_t obj, const std::string& where, const char* name) {
  if (!has_attr(obj, name)) bad(where, "missing attribute '" + std::string(name) + "'");
  Id a(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  Id t(H5Aget_type(a), H5Tclose);
  if (H5Tget_class(t) != H5T_STRING) bad(where, "attribute '" + std::string(name) + "' is not a string");
  if (H5Tis_variable_str(t) > 0) {
    Id mt(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5Tget_cset(t));
    char* s = nullptr;
    if (H5Aread(a, mt, &s) < 0) bad(where, "cannot read attribute '" + std::string(name) + "'");
    std::string out = s ? s : "";
    H5free_memory(s);
    return out;
  }
  std::string out(H5Tget_size(t), '\0');
  H5Aread(a, t, out.data());
  return out.substr(0, out.find('\0'));
}

std::vector<double> read_num_attr(hid_t obj, const std::string& where, const char* name, std::size_t n) {
  if (!has_attr(obj, name)) bad(where, "missing attribute '" + std::string(name) + "'");
  Id a(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  Id sp(H5Aget_space(a), H5Sclose);
  const hssize_t count = H5Sget_simple_extent_npoints(sp);
  if (n && std::size_t(count) != n)
    bad(where, "attribute '" + std::string(name) + "' has " + std::to_string(count) + " values, expected " + std::to_string(n));
  std::vector<double> v(static_cast<std::size_t>(count));
  if (H5Aread(a, H5T_NATIVE_DOUBLE, v.data()) < 0) bad(where, "attribute '" + std::string(name) + "' is not numeric");
  return v;
}

int read_int(hid_t obj, const std::string& where, const char* name) { return int(read_num_attr(obj, where, name, 1)[0]); }

std::pair<int, int> read_pair(hid_t obj, const std::string& where, const char* name) {
  auto v = read_num_attr(obj, where, name, 2);
  return {int(v[0]), int(v[1])};
}

std::vector<float> read_data(hid_t group, const std::string& where, const char* name,
                             const std::vector<hsize_t>& expect, bool optional = false) {
  if (H5Lexists(group, name, H5P_DEFAULT) <= 0) {
    if (optional) return {};
    bad(where, "missing dataset '" + std::string(name) + "'");
  }
  Id d(H5Dopen2(group, name, H5P_DEFAULT), H5Dclose);
  Id sp(H5Dget_space(d), H5Sclose);
  const int nd = H5Sget_simple_extent_ndims(sp);
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(nd, 0)));
  H5Sget_simple_extent_dims(sp, dims.data(), nullptr);
  if (dims != expect) {
    auto text = [](const std::vector<hsize_t>& v) {
      std::string s = "[";
      for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
      return s + "]";
    };
    bad(where + "/" + name, "shape " + text(dims) + " does not match the layer, which needs " + text(expect));
  }
  std::size_t n = 1;
  for (hsize_t x : dims) n *= std::size_t(x);
  std::vector<float> v(n);
  if (n && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0)
    bad(where + "/" + name, "cannot be read as numbers");
  return v;
}

void write_attr(hid_t obj, const char* name, const std::string& s) {
  Id t(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  Id sp(H5Screate(H5S_SCALAR), H5Sclose);
  Id a(H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  const char* p = s.c_str();
  H5Awrite(a, t, &p);
}

void write_attr(hid_t obj, const char* name, const std::vector<double>& v, bool as_int) {
  hsize_t n = v.size();
  Id sp(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Id a(H5Acreate2(obj, name, as_int ? H5T_STD_I64LE : H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (as_int) {
    std::vector<long long> iv(v.begin(), v.end());
    H5Awrite(a, H5T_NATIVE_LLONG, iv.data());
  } else {
    H5Awrite(a, H5T_NATIVE_DOUBLE, v.data());
  }
}

void write_data(hid_t group, const char* name, const std::vector<float>& v, const std::vector<hsize_t>& dims) {
  Id sp(H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose);
  Id d(H5Dcreate2(group, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
}

}  // namespace

Network load_model(const std::string& path, ModelInfo* info) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  if (access(path.c_str(), R_OK) != 0) throw FileNotFound("model file not found: " + path);
  if (H5Fis_hdf5(path.c_str()) <= 0) bad(path, "not an HDF5 file");
  Id f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (f < 0) bad(path, "cannot be opened");
  if (read_string_attr(f, "/", "format") != "mho-model") bad("/", "attribute 'format' is not 'mho-model'");
  const int version = read_int(f, "/", "version");
  if (version != kModelFormatVersion)
    bad("/", "format version " + std::to_string(version) + " is not supported (this mho reads version " +
                 std::to_string(kModelFormatVersion) + ")");
  const std::string name = read_string_attr(f, "/", "name");
  auto in = read_num_attr(f, "/", "input_shape", 3);
  if (info) {
    if (has_attr(f, "dataset")) info->dataset = read_string_attr(f, "/", "dataset");
    if (has_attr(f, "source")) info->source = read_string_attr(f, "/", "source");
    if (has_attr(f, "float_test_accuracy")) info->float_test_accuracy = read_num_attr(f, "/", "float_test_accuracy", 1)[0];
  }
  if (H5Lexists(f, "layers", H5P_DEFAULT) <= 0) bad("/", "missing group 'layers'");
  Id lg(H5Gopen2(f, "layers", H5P_DEFAULT), H5Gclose);
  const int count = read_int(lg, "/layers", "count");
  std::vector<Layer> layers;
  for (int k = 0; k < count; ++k) {
    const std::string key = std::to_string(k), where = "/layers/" + key;
    if (H5Lexists(lg, key.c_str(), H5P_DEFAULT) <= 0) bad("/layers", "missing layer group '" + key + "'");
    Id g(H5Gopen2(lg, key.c_str(), H5P_DEFAULT), H5Gclose);
    Layer l;
    const std::string type = read_string_attr(g, where, "type");
    try {
      l.kind = kind_from_name(type);
    } catch (const std::invalid_argument& e) {
      bad(where, std::string("unknown layer type: ") + e.what());
    }
    l.name = read_string_attr(g, where, "name");
    for (double v : read_num_attr(g, where, "inputs", 0)) l.inputs.push_back(int(v));
    using hs = hsize_t;
    switch (l.kind) {
      case LayerKind::kConv2d: {
        l.in_ch = read_int(g, where, "in_channels");
        l.out_ch = read_int(g, where, "out_channels");
        std::tie(l.kh, l.kw) = read_pair(g, where, "kernel");
        std::tie(l.stride_h, l.stride_w) = read_pair(g, where, "stride");
        std::tie(l.pad_h, l.pad_w) = read_pair(g, where, "padding");
        std::tie(l.dil_h, l.dil_w) = read_pair(g, where, "dilation");
        l.groups = read_int(g, where, "groups");
        if (l.groups < 1 || l.in_ch % l.groups) bad(where, "groups = " + std::to_string(l.groups) + " does not divide in_channels = " + std::to_string(l.in_ch));
        l.weight = read_data(g, where, "weight", {hs(l.out_ch), hs(l.in_ch / l.groups), hs(l.kh), hs(l.kw)});
        l.bias = read_data(g, where, "bias", {hs(l.out_ch)}, true);
        break;
      }
      case LayerKind::kLinear:
        l.in_ch = read_int(g, where, "in_features");
        l.out_ch = read_int(g, where, "out_features");
        l.weight = read_data(g, where, "weight", {hs(l.out_ch), hs(l.in_ch)});
        l.bias = read_data(g, where, "bias", {hs(l.out_ch)}, true);
        break;
      case LayerKind::kMaxPool:
      case LayerKind::kAvgPool:
        std::tie(l.kh, l.kw) = read_pair(g, where, "kernel");
        std::tie(l.stride_h, l.stride_w) = read_pair(g, where, "stride");
        std::tie(l.pad_h, l.pad_w) = read_pair(g, where, "padding");
        break;
      case LayerKind::kBatchNorm: {
        l.eps = read_num_attr(g, where, "eps", 1)[0];
        const int c = int(read_num_attr(g, where, "num_features", 1)[0]);
        l.gamma = read_data(g, where, "weight", {hs(c)});
        l.beta = read_data(g, where, "bias", {hs(c)});
        l.mean = read_data(g, where, "running_mean", {hs(c)});
        l.var = read_data(g, where, "running_var", {hs(c)});
        break;
      }
      default:
        break;
    }
    layers.push_back(std::move(l));
  }
  try {
    return Network(name, {int(in[0]), int(in[1]), int(in[2])}, std::move(layers));
  } catch (const std::invalid_argument& e) {
    bad(path, e.what());
  }
}

void save_model(const Network& net, const std::string& path, const ModelInfo& info) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const std::string tmp = path + ".tmp-" + std::to_string(getpid());
  {
    Id f(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    if (f < 0) throw std::runtime_error("cannot create " + tmp);
    write_attr(f, "format", std::string("mho-model"));
    write_attr(f, "version", {double(kModelFormatVersion)}, true);
    write_attr(f, "name", net.name());
    const Shape& s = net.input_shape();
    write_attr(f, "input_shape", {double(s.c), double(s.h), double(s.w)}, true);
    if (!info.dataset.empty()) write_attr(f, "dataset", info.dataset);
    if (!info.source.empty()) write_attr(f, "source", info.source);
    if (info.float_test_accuracy >= 0) write_attr(f, "float_test_accuracy", {info.float_test_accuracy}, false);
    Id lg(H5Gcreate2(f, "layers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    write_attr(lg, "count", {double(net.layers().size())}, true);
    for (std::size_t k = 0; k < net.layers().size(); ++k) {
      const Layer& l = net.layers()[k];
      Id g(H5Gcreate2(lg, std::to_string(k).c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
      write_attr(g, "type", kind_name(l.kind));
      write_attr(g, "name", l.name);
      write_attr(g, "inputs", std::vector<double>(l.inputs.begin(), l.inputs.end()), true);
      using hs = hsize_t;
      if (l.kind == LayerKind::kConv2d) {
        write_attr(g, "in_channels", {double(l.in_ch)}, true);
        write_attr(g, "out_channels", {double(l.out_ch)}, true);
        write_attr(g, "kernel", {double(l.kh), double(l.kw)}, true);
        write_attr(g, "stride", {double(l.stride_h), double(l.stride_w)}, true);
        write_attr(g, "padding", {double(l.pad_h), double(l.pad_w)}, true);
        write_attr(g, "dilation", {double(l.dil_h), double(l.dil_w)}, true);
        write_attr(g, "groups", {double(l.groups)}, true);
        write_data(g, "weight", l.weight, {hs(l.out_ch), hs(l.in_ch / l.groups), hs(l.kh), hs(l.kw)});
      } else if (l.kind == LayerKind::kLinear) {
        write_attr(g, "in_features", {double(l.in_ch)}, true);
        write_attr(g, "out_features", {double(l.out_ch)}, true);
        write_data(g, "weight", l.weight, {hs(l.out_ch), hs(l.in_ch)});
      } else if (l.kind == LayerKind::kMaxPool || l.kind == LayerKind::kAvgPool) {
        write_attr(g, "kernel", {double(l.kh), double(l.kw)}, true);
        write_attr(g, "stride", {double(l.stride_h), double(l.stride_w)}, true);
        write_attr(g, "padding", {double(l.pad_h), double(l.pad_w)}, true);
      } else if (l.kind == LayerKind::kBatchNorm) {
        write_attr(g, "eps", {l.eps}, false);
        write_attr(g, "num_features", {double(l.gamma.size())}, true);
        write_data(g, "weight", l.gamma, {hs(l.gamma.size())});
        write_data(g, "bias", l.beta, {hs(l.beta.size())});
        write_data(g, "running_mean", l.mean, {hs(l.mean.size())});
        write_data(g, "running_var", l.var, {hs(l.var.size())});
      }
      if (l.has_weights() && !l.bias.empty()) write_data(g, "bias", l.bias, {hs(l.bias.size())});
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot rename " + tmp + " to " + path);
  }
}

}  // namespace mho
