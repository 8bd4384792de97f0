// libFuzzer harness for mho's validation of model-file contents (nets/model_file.cpp).
//
// Byte mutations of an HDF5 file mostly break libhdf5's own structures, where libhdf5 1.10
// fails in ways mho cannot intercept (model_parser_fuzzer shows them); a file that passes
// the integrity check has intact structures. So this harness builds well-formed HDF5 files
// whose *contents* come from the fuzzer: any attribute or dataset missing, of another type
// (integers and floats of every width and byte order, odd float layouts, fixed and variable
// strings), of another length or shape, chunked or compressed, unwritten, with NaN, inf or
// huge values, any layer kinds in any order, inconsistent counts. Each file is written with
// libhdf5 into memory and read by parse_model_unverified and by load_model_from_bytes behind
// a valid integrity block. A clean rejection is std::invalid_argument; anything else is a
// finding.
#include <fuzzer/FuzzedDataProvider.h>
#include <hdf5.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "nets/hdf5_id.h"
#include "nets/model_file.h"

namespace {

using mho::Id;

class Builder {
 public:
  explicit Builder(FuzzedDataProvider& p) : p_(p) {}

  // A number that is usually plausible and sometimes an edge case.
  double number(double plausible) {
    switch (p_.ConsumeIntegralInRange<int>(0, 15)) {
      case 0: return 0.0;
      case 1: return -1.0;
      case 2: return std::numeric_limits<double>::quiet_NaN();
      case 3: return std::numeric_limits<double>::infinity();
      case 4: return 1e300;
      case 5: return 2147483648.0;
      case 6: return 9.3e18;
      case 7: return plausible + 0.5;
      case 8: return p_.ConsumeFloatingPoint<double>();
      case 9: return double(p_.ConsumeIntegralInRange<int>(-3, 70000));
      default: return plausible;
    }
  }

  // A numeric file type: mostly the ones mho's writers use, sometimes anything libhdf5 knows.
  hid_t number_type() {
    static const hid_t* types[] = {&H5T_STD_I64LE_g, &H5T_IEEE_F64LE_g, &H5T_STD_I64LE_g, &H5T_IEEE_F64LE_g,
                                   &H5T_STD_I8LE_g,  &H5T_STD_U8LE_g,   &H5T_STD_I16BE_g, &H5T_STD_U32LE_g,
                                   &H5T_STD_I32BE_g, &H5T_STD_U64BE_g,  &H5T_IEEE_F32LE_g, &H5T_IEEE_F32BE_g,
                                   &H5T_IEEE_F64BE_g};
    const int pick = p_.ConsumeIntegralInRange<int>(0, int(std::size(types)) + 1);
    if (pick < int(std::size(types))) return H5Tcopy(*types[pick]);
    if (pick == int(std::size(types))) {  // a 16-bit float of libhdf5's own layout
      hid_t t = H5Tcopy(H5T_IEEE_F32LE);
      H5Tset_fields(t, 15, 10, 5, 0, 10);
      H5Tset_ebias(t, 15);
      H5Tset_precision(t, 16);
      H5Tset_size(t, 2);
      return t;
    }
    hid_t t = H5Tcopy(H5T_STD_I32LE);  // an odd-precision integer
    H5Tset_precision(t, p_.ConsumeIntegralInRange<int>(1, 31));
    return t;
  }

  void num_attr(hid_t obj, const char* name, std::vector<double> v) {
    if (p_.ConsumeIntegralInRange<int>(0, 24) == 0) return;  // missing
    if (p_.ConsumeIntegralInRange<int>(0, 24) == 0) return str_attr(obj, name, "3");
    if (p_.ConsumeIntegralInRange<int>(0, 16) == 0) v.resize(p_.ConsumeIntegralInRange<std::size_t>(0, 5), 1.0);
    for (double& x : v) x = number(x);
    Id t(number_type(), H5Tclose);
    const bool scalar = v.size() == 1 && p_.ConsumeBool();
    hsize_t n = v.size();
    Id sp(scalar ? H5Screate(H5S_SCALAR) : (n ? H5Screate_simple(1, &n, nullptr) : H5Screate(H5S_NULL)), H5Sclose);
    Id a(H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (a < 0 || v.empty()) return;
    // Converted by libhdf5 from doubles (out-of-range values clip or fail; either is input).
    H5Awrite(a, H5T_NATIVE_DOUBLE, v.data());
  }

  void str_attr(hid_t obj, const char* name, std::string s) {
    if (p_.ConsumeIntegralInRange<int>(0, 24) == 0) return;
    if (p_.ConsumeIntegralInRange<int>(0, 12) == 0) s = p_.ConsumeRandomLengthString(40);
    if (p_.ConsumeIntegralInRange<int>(0, 24) == 0) return num_attr(obj, name, {1.0});
    Id t(H5Tcopy(H5T_C_S1), H5Tclose);
    const bool vlen = p_.ConsumeIntegralInRange<int>(0, 8) == 0;
    H5Tset_cset(t, p_.ConsumeBool() ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
    if (vlen) {
      H5Tset_size(t, H5T_VARIABLE);
    } else {
      H5Tset_size(t, std::max<std::size_t>(1, s.size() + p_.ConsumeIntegralInRange<std::size_t>(0, 2)));
      H5Tset_strpad(t, p_.ConsumeBool() ? H5T_STR_NULLPAD : H5T_STR_NULLTERM);
    }
    Id sp(H5Screate(H5S_SCALAR), H5Sclose);
    Id a(H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (a < 0) return;
    if (vlen) {
      const char* c = s.c_str();
      H5Awrite(a, t, &c);
    } else {
      std::string buf = s;
      buf.resize(H5Tget_size(t), '\0');
      H5Awrite(a, t, buf.data());
    }
  }

  void data(hid_t g, const char* name, std::vector<hsize_t> dims) {
    if (p_.ConsumeIntegralInRange<int>(0, 24) == 0) return;
    if (p_.ConsumeIntegralInRange<int>(0, 16) == 0 && !dims.empty()) dims[0] += 1;
    if (p_.ConsumeIntegralInRange<int>(0, 24) == 0) dims.push_back(1);
    std::size_t n = 1;
    for (hsize_t d : dims) n *= std::size_t(d);
    if (n > 4096) return;  // keep files small; a too-large layer is tested by its shape
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = (i % 7) * 0.25 - 0.5;
    if (n && p_.ConsumeIntegralInRange<int>(0, 6) == 0) v[p_.ConsumeIntegralInRange<std::size_t>(0, n - 1)] = number(1.0);
    const int kind = p_.ConsumeIntegralInRange<int>(0, 12);
    Id t(kind < 8 ? H5Tcopy(H5T_IEEE_F32LE) : number_type(), H5Tclose);
    Id sp(H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose);
    Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    const int layout = p_.ConsumeIntegralInRange<int>(0, 10);
    if (layout == 8 && n * H5Tget_size(t) < 60000) H5Pset_layout(dcpl, H5D_COMPACT);
    if (layout >= 9) {
      std::vector<hsize_t> chunk(dims.size(), 1);
      H5Pset_chunk(dcpl, int(chunk.size()), chunk.data());
      if (layout == 10) H5Pset_deflate(dcpl, 1);
    }
    Id d(H5Dcreate2(g, name, t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT), H5Dclose);
    if (d < 0 || n == 0) return;
    if (p_.ConsumeIntegralInRange<int>(0, 16) == 0) return;  // created, never written
    H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  }

  void file(hid_t f) {
    str_attr(f, "format", "mho-model");
    num_attr(f, "version", {1});
    str_attr(f, "name", "net");
    const int c = p_.ConsumeIntegralInRange<int>(1, 4), h = p_.ConsumeIntegralInRange<int>(1, 8);
    num_attr(f, "input_shape", {double(c), double(h), double(h)});
    if (p_.ConsumeBool()) str_attr(f, "dataset", "mnist");
    if (p_.ConsumeBool()) num_attr(f, "float_test_accuracy", {0.5});
    if (p_.ConsumeIntegralInRange<int>(0, 24) == 0) return;
    Id lg(H5Gcreate2(f, "layers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    const int count = p_.ConsumeIntegralInRange<int>(1, 8);
    num_attr(lg, "count", {double(count + (p_.ConsumeIntegralInRange<int>(0, 16) == 0))});
    int ch = c, sz = h;  // a plausible shape flow, so that most files get deep into validation
    static const char* kinds[] = {"conv2d", "linear", "relu", "maxpool", "avgpool", "global_avgpool",
                                  "batchnorm", "add", "flatten", "concat", "relu6", "sigmoid", "tanh", "gelu",
                                  "silu", "leaky_relu", "layernorm", "upsample", "adaptive_avgpool"};
    constexpr int kKinds = int(sizeof(kinds) / sizeof(kinds[0]));
    for (int k = 0; k < count; ++k) {
      const std::string key = std::to_string(k);
      Id g(H5Gcreate2(lg, key.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
      const std::string kind = kinds[p_.ConsumeIntegralInRange<int>(0, kKinds - 1)];
      str_attr(g, "type", kind);
      str_attr(g, "name", "l" + key);
      std::vector<double> inputs = {double(k - 1)};
      if (kind == "add" || kind == "concat") inputs.push_back(double(k - 1));
      num_attr(g, "inputs", inputs);
      const int kk = p_.ConsumeIntegralInRange<int>(1, 3);
      if (kind == "conv2d") {
        const int out = p_.ConsumeIntegralInRange<int>(1, 4);
        num_attr(g, "in_channels", {double(ch)});
        num_attr(g, "out_channels", {double(out)});
        num_attr(g, "kernel", {double(kk), double(kk)});
        num_attr(g, "stride", {1, 1});
        num_attr(g, "padding", {double(kk / 2), double(kk / 2)});
        num_attr(g, "dilation", {1, 1});
        num_attr(g, "groups", {1});
        data(g, "weight", {hsize_t(out), hsize_t(ch), hsize_t(kk), hsize_t(kk)});
        if (p_.ConsumeBool()) data(g, "bias", {hsize_t(out)});
        ch = out;
      } else if (kind == "linear") {
        const int in = ch * sz * sz, out = p_.ConsumeIntegralInRange<int>(1, 5);
        num_attr(g, "in_features", {double(in)});
        num_attr(g, "out_features", {double(out)});
        data(g, "weight", {hsize_t(out), hsize_t(in)});
        if (p_.ConsumeBool()) data(g, "bias", {hsize_t(out)});
        ch = out;
        sz = 1;
      } else if (kind == "maxpool" || kind == "avgpool") {
        num_attr(g, "kernel", {double(kk), double(kk)});
        num_attr(g, "stride", {double(kk), double(kk)});
        num_attr(g, "padding", {0, 0});
        sz = std::max(1, sz / kk);
      } else if (kind == "batchnorm") {
        num_attr(g, "eps", {1e-5});
        num_attr(g, "num_features", {double(ch)});
        for (const char* n : {"weight", "bias", "running_mean", "running_var"}) data(g, n, {hsize_t(ch)});
      } else if (kind == "global_avgpool") {
        sz = 1;
      } else if (kind == "flatten") {
        ch *= sz * sz;
        sz = 1;
      } else if (kind == "concat") {
        ch *= 2;
      } else if (kind == "gelu") {
        str_attr(g, "approximate", p_.ConsumeBool() ? "none" : "tanh");
      } else if (kind == "leaky_relu") {
        num_attr(g, "negative_slope", {0.01});
      } else if (kind == "layernorm") {
        num_attr(g, "eps", {1e-5});
        const bool whole = p_.ConsumeBool();
        num_attr(g, "normalized_shape", whole ? std::vector<double>{double(ch), double(sz), double(sz)}
                                              : std::vector<double>{double(sz)});
        if (p_.ConsumeBool()) {
          const std::vector<hsize_t> dims = whole ? std::vector<hsize_t>{hsize_t(ch), hsize_t(sz), hsize_t(sz)}
                                                  : std::vector<hsize_t>{hsize_t(sz)};
          data(g, "weight", dims);
          data(g, "bias", dims);
        }
      } else if (kind == "upsample") {
        str_attr(g, "mode", "nearest");
        if (p_.ConsumeBool()) {
          num_attr(g, "scale_factor", {double(kk), double(kk)});
          sz *= kk;
        } else {
          num_attr(g, "size", {double(kk + 1), double(kk + 1)});
          sz = kk + 1;
        }
      } else if (kind == "adaptive_avgpool") {
        num_attr(g, "output_size", {double(kk), double(kk)});
        sz = kk;
      }
    }
  }

 private:
  FuzzedDataProvider& p_;
};

std::string build(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider p(data, size);
  Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_fapl_core(fapl, 1 << 16, 0);  // in memory, never written to disk
  Id f(H5Fcreate("mho-fuzz-structure", H5F_ACC_TRUNC, H5P_DEFAULT, fapl), H5Fclose);
  if (f < 0) return {};
  Builder(p).file(f);
  H5Fflush(f, H5F_SCOPE_GLOBAL);
  const ssize_t n = H5Fget_file_image(f, nullptr, 0);
  if (n <= 0) return {};
  std::string image(std::size_t(n), '\0');
  if (H5Fget_file_image(f, image.data(), image.size()) != n) return {};
  return image;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const std::string image = build(data, size);
  if (image.empty()) return 0;
  try {
    mho::parse_model_unverified(image, "fuzz-input");
  } catch (const std::invalid_argument&) {
  }
  // The same file behind its integrity block: the whole load path.
  const std::string sealed = mho::model_integrity_block(image.data(), image.size()) + image;
  try {
    mho::load_model_from_bytes(sealed, "fuzz-input");
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
