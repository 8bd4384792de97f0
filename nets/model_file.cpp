#include "nets/model_file.h"

#include <fcntl.h>
#include <hdf5.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "common/regular_file.h"
#include "nets/hdf5_id.h"

namespace mho {

namespace {

constexpr char kMagic[] = "mho-model-integrity 1\n";
constexpr unsigned char kHdf5Signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
// Longest string attribute read (names, sources); the writers never come near it.
constexpr std::size_t kMaxStringBytes = 1 << 16;
// Most values in one numeric attribute (`inputs` of a concat is the longest list).
constexpr hssize_t kMaxAttrValues = 1 << 16;
// Bounds on layer geometry read from a file. Channels and features: the weights must be in the
// file, so this only keeps int arithmetic safe; kernel, stride, padding, dilation and input
// extents far above any network (ImageNet inputs are 224, kernels at most 11).
constexpr double kMaxChannels = 1 << 24, kMaxGeometry = 1 << 16, kMaxLayers = 1 << 20;

std::string hex(const unsigned char* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

std::string sha256_hex(const char* data, std::size_t n) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data, n, md, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("model file: OpenSSL SHA-256 failed");
  return hex(md, len);
}

[[noreturn]] void bad_file(const std::string& file, const std::string& what) {
  throw std::invalid_argument("model file " + file + ": " + what);
}

std::string read_file(const std::string& path) {
  try {
    return read_regular_file(path, kMaxModelFileBytes, "model file");
  } catch (const RegularFileMissing&) {
    throw FileNotFound("model file not found: " + path);
  }
}

// true: the integrity block matched; false: no block (an HDF5 file from before the block).
bool check_integrity(const std::string& bytes, const std::string& name) {
  const std::size_t magic_len = sizeof(kMagic) - 1;
  if (bytes.size() >= sizeof(kHdf5Signature) && std::memcmp(bytes.data(), kHdf5Signature, sizeof(kHdf5Signature)) == 0)
    return false;
  if (bytes.compare(0, magic_len, kMagic) != 0)
    bad_file(name, "not an mho model file (no integrity block and not an HDF5 file)");
  if (bytes.size() < kModelUserBlockBytes) bad_file(name, "truncated: shorter than its 512-byte integrity block");
  const std::size_t n = bytes.size() - kModelUserBlockBytes;
  const std::string expect = model_integrity_block(bytes.data() + kModelUserBlockBytes, n);
  if (bytes.compare(0, kModelUserBlockBytes, expect) == 0) return true;
  const std::string size_line = "payload-bytes " + std::to_string(n) + "\n";
  if (bytes.compare(magic_len, size_line.size(), size_line) != 0)
    bad_file(name, "damaged or truncated: its integrity block does not record the " + std::to_string(n) +
                       " bytes that follow it");
  const std::size_t sha_at = magic_len + size_line.size();
  const std::size_t sha_len = expect.find('\n', sha_at) + 1 - sha_at;
  if (bytes.compare(sha_at, 15, "payload-sha256 ") == 0 && bytes.compare(sha_at, sha_len, expect, sha_at, sha_len) != 0)
    bad_file(name, "damaged: the SHA-256 of its contents does not match its integrity block");
  bad_file(name, "damaged: malformed integrity block");
}

// A layer as messages name it: its name and type.
std::string layer_text(const Layer& l, const std::string& type) { return "layer '" + l.name + "' (" + type + ")"; }

class Parser {
 public:
  Parser(std::string file, bool verified) : file_(std::move(file)), verified_(verified) {}

  [[noreturn]] void bad(const std::string& where, const std::string& what) const { bad_file(file_, where + ": " + what); }

  bool has_attr(hid_t obj, const std::string& where, const char* name) const {
    const htri_t r = H5Aexists(obj, name);
    if (r < 0) bad(where, "cannot look up attribute '" + std::string(name) + "'");
    return r > 0;
  }

  std::string string_attr(hid_t obj, const std::string& where, const char* name) const {
    const std::string what = "attribute '" + std::string(name) + "'";
    if (!has_attr(obj, where, name)) bad(where, "missing " + what);
    Id a(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
    if (a < 0) bad(where, "cannot open " + what);
    Id t(H5Aget_type(a), H5Tclose);
    if (t < 0 || H5Tget_class(t) != H5T_STRING) bad(where, what + " is not a string");
    if (values(a, where, what) != 1) bad(where, what + " must hold one string");
    const H5T_cset_t cset = H5Tget_cset(t);
    if (cset != H5T_CSET_ASCII && cset != H5T_CSET_UTF8) bad(where, what + " has an unknown character set");
    const htri_t vlen = H5Tis_variable_str(t);
    if (vlen < 0) bad(where, what + " has an unreadable string type");
    if (vlen) {
      if (verified_) bad(where, what + " is a variable-length string; mho model files hold fixed-length strings");
      Id mt(H5Tcopy(H5T_C_S1), H5Tclose);
      if (mt < 0 || H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Tset_cset(mt, cset) < 0) bad(where, "cannot read " + what);
      char* s = nullptr;
      if (H5Aread(a, mt, &s) < 0) bad(where, "cannot read " + what);
      std::string out = s ? std::string(s, strnlen(s, kMaxStringBytes)) : "";
      H5free_memory(s);
      return out;
    }
    const std::size_t size = H5Tget_size(t);
    if (size == 0 || size > kMaxStringBytes) bad(where, what + " has an impossible length " + std::to_string(size));
    // Read through a memory type of our own, so libhdf5 converts to a layout we know.
    Id mt(H5Tcopy(H5T_C_S1), H5Tclose);
    if (mt < 0 || H5Tset_size(mt, size) < 0 || H5Tset_strpad(mt, H5T_STR_NULLPAD) < 0 || H5Tset_cset(mt, cset) < 0)
      bad(where, "cannot read " + what);
    std::string out(size, '\0');
    if (H5Aread(a, mt, out.data()) < 0) bad(where, "cannot read " + what);
    return out.substr(0, out.find('\0'));
  }

  std::vector<double> num_attr(hid_t obj, const std::string& where, const char* name, hssize_t n) const {
    const std::string what = "attribute '" + std::string(name) + "'";
    if (!has_attr(obj, where, name)) bad(where, "missing " + what);
    Id a(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
    if (a < 0) bad(where, "cannot open " + what);
    Id t(H5Aget_type(a), H5Tclose);
    if (t < 0 || !standard_number(t, true)) bad(where, what + " is not a number (integer or IEEE float)");
    const hssize_t count = values(a, where, what);
    if (n && count != n) bad(where, what + " has " + std::to_string(count) + " values, expected " + std::to_string(n));
    std::vector<double> v(static_cast<std::size_t>(count));
    if (count && H5Aread(a, H5T_NATIVE_DOUBLE, v.data()) < 0) bad(where, "cannot read " + what + " as numbers");
    for (double x : v)
      if (!std::isfinite(x)) bad(where, what + " = " + std::to_string(x) + ": must be finite");
    return v;
  }

  double integer(double v, const std::string& where, const std::string& what, double lo, double hi) const {
    if (!(v >= lo && v <= hi) || v != std::floor(v))
      bad(where, what + " = " + std::to_string(v) + ": must be an integer in [" + std::to_string(long(lo)) + ", " +
                     std::to_string(long(hi)) + "]");
    return v;
  }

  int int_attr(hid_t obj, const std::string& where, const char* name, double lo, double hi) const {
    return int(integer(num_attr(obj, where, name, 1)[0], where, "attribute '" + std::string(name) + "'", lo, hi));
  }

  std::pair<int, int> pair_attr(hid_t obj, const std::string& where, const char* name, double lo, double hi) const {
    const auto v = num_attr(obj, where, name, 2);
    const std::string what = "attribute '" + std::string(name) + "'";
    return {int(integer(v[0], where, what + "[0]", lo, hi)), int(integer(v[1], where, what + "[1]", lo, hi))};
  }

  std::vector<float> data(hid_t group, const std::string& where, const char* name, const std::vector<hsize_t>& expect,
                          bool optional = false) const {
    const std::string at = where + "/" + name;
    const htri_t exists = H5Lexists(group, name, H5P_DEFAULT);
    if (exists < 0) bad(where, "cannot look up dataset '" + std::string(name) + "'");
    if (exists == 0) {
      if (optional) return {};
      bad(where, "missing dataset '" + std::string(name) + "'");
    }
    Id d(H5Dopen2(group, name, H5P_DEFAULT), H5Dclose);
    if (d < 0) bad(at, "cannot be opened as a dataset");
    Id t(H5Dget_type(d), H5Tclose);
    if (t < 0 || !standard_number(t, false)) bad(at, "must hold float32 or float64 values");
    Id sp(H5Dget_space(d), H5Sclose);
    if (sp < 0 || H5Sget_simple_extent_type(sp) != H5S_SIMPLE) bad(at, "must be an array");
    const int nd = H5Sget_simple_extent_ndims(sp);
    if (nd < 1 || nd > H5S_MAX_RANK) bad(at, "has an unreadable shape");
    std::vector<hsize_t> dims(static_cast<std::size_t>(nd));
    if (H5Sget_simple_extent_dims(sp, dims.data(), nullptr) < 0) bad(at, "has an unreadable shape");
    if (dims != expect) {
      auto text = [](const std::vector<hsize_t>& v) {
        std::string s = "[";
        for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
        return s + "]";
      };
      bad(at, "shape " + text(dims) + " does not match the layer, which needs " + text(expect));
    }
    // The values must be stored, uncompressed, in the file: a dataset without storage reads
    // as its fill value, and filters are code paths our writers never use.
    Id dcpl(H5Dget_create_plist(d), H5Pclose);
    if (dcpl < 0) bad(at, "has unreadable storage properties");
    const H5D_layout_t layout = H5Pget_layout(dcpl);
    if (layout != H5D_CONTIGUOUS && layout != H5D_COMPACT) bad(at, "must be stored contiguously (not chunked)");
    if (H5Pget_nfilters(dcpl) != 0) bad(at, "must be stored without filters (compression)");
    std::size_t n = 1;
    for (hsize_t x : dims) {
      if (x && n > kMaxModelFileBytes / x) bad(at, "is larger than any model file");
      n *= std::size_t(x);
    }
    const std::size_t elem = H5Tget_size(t);
    if (n > kMaxModelFileBytes / elem || H5Dget_storage_size(d) != n * elem)
      bad(at, "does not store its " + std::to_string(n) + " values in the file");
    // float64 in, checked, then narrowed: libhdf5 would clip an out-of-range value silently.
    std::vector<double> v(n);
    if (n && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0) bad(at, "cannot be read as numbers");
    std::vector<float> out(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (!(std::fabs(v[i]) <= std::numeric_limits<float>::max()))
        bad(at, "value [" + std::to_string(i) + "] = " + std::to_string(v[i]) + ": must be a finite float32");
      out[i] = float(v[i]);
    }
    return out;
  }

  Network parse(const std::string& bytes, ModelInfo* info) const;

 private:
  // The standard integer and IEEE float types our writers use (numbers) or IEEE floats only:
  // a file may define odd bit layouts that libhdf5's soft conversions mishandle.
  static bool standard_number(hid_t t, bool integers) {
    const hid_t floats[] = {H5T_IEEE_F32LE, H5T_IEEE_F32BE, H5T_IEEE_F64LE, H5T_IEEE_F64BE};
    for (hid_t k : floats)
      if (H5Tequal(t, k) > 0) return true;
    if (!integers) return false;
    const hid_t ints[] = {H5T_STD_I8LE,  H5T_STD_I8BE,  H5T_STD_U8LE,  H5T_STD_U8BE,  H5T_STD_I16LE, H5T_STD_I16BE,
                          H5T_STD_U16LE, H5T_STD_U16BE, H5T_STD_I32LE, H5T_STD_I32BE, H5T_STD_U32LE, H5T_STD_U32BE,
                          H5T_STD_I64LE, H5T_STD_I64BE, H5T_STD_U64LE, H5T_STD_U64BE};
    for (hid_t k : ints)
      if (H5Tequal(t, k) > 0) return true;
    return false;
  }

  hssize_t values(hid_t attr, const std::string& where, const std::string& what) const {
    Id sp(H5Aget_space(attr), H5Sclose);
    if (sp < 0) bad(where, what + " has an unreadable shape");
    const H5S_class_t c = H5Sget_simple_extent_type(sp);
    if (c != H5S_SCALAR && c != H5S_SIMPLE) bad(where, what + " holds no value");
    const hssize_t count = H5Sget_simple_extent_npoints(sp);
    if (count < 0 || count > kMaxAttrValues) bad(where, what + " has an impossible number of values");
    return count;
  }

  std::string file_;
  bool verified_;
};

Network Parser::parse(const std::string& bytes, ModelInfo* info) const {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  // The verified bytes themselves, through the core (memory) driver: no second read of the file.
  Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (fapl < 0 || H5Pset_fapl_core(fapl, 1 << 16, 0) < 0 || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 ||
      H5Pset_file_image(fapl, const_cast<char*>(bytes.data()), bytes.size()) < 0)
    bad("/", "cannot hand the file to libhdf5");
  Id f(H5Fopen("mho-model-image", H5F_ACC_RDONLY, fapl), H5Fclose);
  if (f < 0) bad("/", "not an HDF5 file, or a damaged one");
  if (string_attr(f, "/", "format") != "mho-model") bad("/", "attribute 'format' is not 'mho-model'");
  const int version = int_attr(f, "/", "version", 0, 1 << 30);
  if (version != kModelFormatVersion)
    bad("/", "format version " + std::to_string(version) + " is not supported (this mho reads version " +
                 std::to_string(kModelFormatVersion) + ")");
  const std::string name = string_attr(f, "/", "name");
  const auto in = num_attr(f, "/", "input_shape", 3);
  const int c = int(integer(in[0], "/", "input_shape[0]", 1, kMaxChannels));
  const int h = int(integer(in[1], "/", "input_shape[1]", 1, kMaxGeometry));
  const int w = int(integer(in[2], "/", "input_shape[2]", 1, kMaxGeometry));
  ModelInfo local;
  ModelInfo& mi = info ? *info : local;
  mi = ModelInfo();
  if (has_attr(f, "/", "dataset")) mi.dataset = string_attr(f, "/", "dataset");
  if (has_attr(f, "/", "source")) mi.source = string_attr(f, "/", "source");
  if (has_attr(f, "/", "float_test_accuracy")) mi.float_test_accuracy = num_attr(f, "/", "float_test_accuracy", 1)[0];
  const htri_t has_layers = H5Lexists(f, "layers", H5P_DEFAULT);
  if (has_layers < 0) bad("/", "cannot look up group 'layers'");
  if (has_layers == 0) bad("/", "missing group 'layers'");
  Id lg(H5Gopen2(f, "layers", H5P_DEFAULT), H5Gclose);
  if (lg < 0) bad("/layers", "cannot be opened as a group");
  const int count = int_attr(lg, "/layers", "count", 1, kMaxLayers);
  H5G_info_t ginfo;
  if (H5Gget_info(lg, &ginfo) < 0) bad("/layers", "cannot be listed");
  if (ginfo.nlinks != hsize_t(count))
    bad("/layers", "holds " + std::to_string(ginfo.nlinks) + " entries, but its attribute 'count' says " + std::to_string(count));
  std::vector<Layer> layers;
  for (int k = 0; k < count; ++k) {
    const std::string key = std::to_string(k), where = "/layers/" + key;
    const htri_t exists = H5Lexists(lg, key.c_str(), H5P_DEFAULT);
    if (exists <= 0) bad("/layers", "missing layer group '" + key + "'");
    Id g(H5Gopen2(lg, key.c_str(), H5P_DEFAULT), H5Gclose);
    if (g < 0) bad(where, "cannot be opened as a group");
    Layer l;
    const std::string type = string_attr(g, where, "type");
    try {
      l.kind = kind_from_name(type);
    } catch (const std::invalid_argument& e) {
      bad(where, std::string("unknown layer type: ") + e.what());
    }
    l.name = string_attr(g, where, "name");
    for (double v : num_attr(g, where, "inputs", 0)) l.inputs.push_back(int(integer(v, where, "input", -1, k - 1)));
    using hs = hsize_t;
    switch (l.kind) {
      case LayerKind::kConv2d: {
        l.in_ch = int_attr(g, where, "in_channels", 1, kMaxChannels);
        l.out_ch = int_attr(g, where, "out_channels", 1, kMaxChannels);
        std::tie(l.kh, l.kw) = pair_attr(g, where, "kernel", 1, kMaxGeometry);
        std::tie(l.stride_h, l.stride_w) = pair_attr(g, where, "stride", 1, kMaxGeometry);
        std::tie(l.pad_h, l.pad_w) = pair_attr(g, where, "padding", 0, kMaxGeometry);
        std::tie(l.dil_h, l.dil_w) = pair_attr(g, where, "dilation", 1, kMaxGeometry);
        l.groups = int_attr(g, where, "groups", 1, kMaxChannels);
        if (l.in_ch % l.groups || l.out_ch % l.groups)
          bad(where, "groups = " + std::to_string(l.groups) + " does not divide in_channels = " + std::to_string(l.in_ch) +
                         " and out_channels = " + std::to_string(l.out_ch));
        l.weight = data(g, where, "weight", {hs(l.out_ch), hs(l.in_ch / l.groups), hs(l.kh), hs(l.kw)});
        l.bias = data(g, where, "bias", {hs(l.out_ch)}, true);
        break;
      }
      case LayerKind::kLinear:
        l.in_ch = int_attr(g, where, "in_features", 1, kMaxChannels);
        l.out_ch = int_attr(g, where, "out_features", 1, kMaxChannels);
        l.weight = data(g, where, "weight", {hs(l.out_ch), hs(l.in_ch)});
        l.bias = data(g, where, "bias", {hs(l.out_ch)}, true);
        break;
      case LayerKind::kMaxPool:
      case LayerKind::kAvgPool:
        std::tie(l.kh, l.kw) = pair_attr(g, where, "kernel", 1, kMaxGeometry);
        std::tie(l.stride_h, l.stride_w) = pair_attr(g, where, "stride", 1, kMaxGeometry);
        std::tie(l.pad_h, l.pad_w) = pair_attr(g, where, "padding", 0, kMaxGeometry);
        break;
      case LayerKind::kBatchNorm: {
        l.eps = num_attr(g, where, "eps", 1)[0];
        if (!(l.eps > 0)) bad(where, "attribute 'eps' = " + std::to_string(l.eps) + ": must be > 0");
        const int nf = int_attr(g, where, "num_features", 1, kMaxChannels);
        l.gamma = data(g, where, "weight", {hs(nf)});
        l.beta = data(g, where, "bias", {hs(nf)});
        l.mean = data(g, where, "running_mean", {hs(nf)});
        l.var = data(g, where, "running_var", {hs(nf)});
        for (std::size_t i = 0; i < l.var.size(); ++i)
          if (!(l.var[i] >= 0)) bad(where + "/running_var", "value [" + std::to_string(i) + "] = " + std::to_string(l.var[i]) + ": must be >= 0");
        break;
      }
      case LayerKind::kLeakyReLU:
        l.negative_slope = num_attr(g, where, "negative_slope", 1)[0];  // finite: num_attr checks
        break;
      case LayerKind::kGELU: {
        const std::string a = string_attr(g, where, "approximate");
        if (a != "none" && a != "tanh")
          bad(where, layer_text(l, type) + ": attribute 'approximate' = '" + a + "': must be 'none' (erf) or 'tanh'");
        l.gelu_tanh = a == "tanh";
        break;
      }
      case LayerKind::kLayerNorm: {
        l.eps = num_attr(g, where, "eps", 1)[0];
        if (!(l.eps > 0)) bad(where, layer_text(l, type) + ": attribute 'eps' = " + std::to_string(l.eps) + ": must be > 0");
        const auto ns = num_attr(g, where, "normalized_shape", 0);
        if (ns.empty() || ns.size() > 3)
          bad(where, layer_text(l, type) + ": attribute 'normalized_shape' has " + std::to_string(ns.size()) +
                         " values: must name 1 to 3 trailing dimensions of (C, H, W)");
        std::vector<hs> dims;
        for (double v : ns) {
          l.norm_shape.push_back(int(integer(v, where, "attribute 'normalized_shape'", 1, kMaxChannels)));
          dims.push_back(hs(l.norm_shape.back()));
        }
        l.gamma = data(g, where, "weight", dims, true);
        l.beta = data(g, where, "bias", dims, true);
        break;
      }
      case LayerKind::kUpsample: {
        const std::string mode = string_attr(g, where, "mode");
        if (mode != "nearest") bad(where, layer_text(l, type) + ": attribute 'mode' = '" + mode + "': must be 'nearest'");
        const bool scaled = has_attr(g, where, "scale_factor"), sized = has_attr(g, where, "size");
        if (scaled == sized)
          bad(where, layer_text(l, type) + ": needs exactly one of the attributes 'scale_factor' (integers) and 'size', has " +
                         (scaled ? "both" : "neither"));
        if (scaled) std::tie(l.scale_h, l.scale_w) = pair_attr(g, where, "scale_factor", 1, kMaxGeometry);
        if (sized) std::tie(l.out_h, l.out_w) = pair_attr(g, where, "size", 1, kMaxGeometry);
        break;
      }
      case LayerKind::kAdaptiveAvgPool:
        std::tie(l.out_h, l.out_w) = pair_attr(g, where, "output_size", 1, kMaxGeometry);
        break;
      default:
        break;
    }
    layers.push_back(std::move(l));
  }
  try {
    return Network(name, {c, h, w}, std::move(layers));
  } catch (const std::invalid_argument& e) {
    bad("/", e.what());
  }
}

// ---- writing

void check(herr_t r, const std::string& file) {
  if (r < 0) throw std::runtime_error("model file " + file + ": libhdf5 failed to write it");
}

hid_t checked(hid_t id, const std::string& file) {
  if (id < 0) throw std::runtime_error("model file " + file + ": libhdf5 failed to write it");
  return id;
}

struct Writer {
  std::string file;

  // Fixed-length, NUL-padded UTF-8 (see the header: readers need not follow heap pointers).
  void attr(hid_t obj, const char* name, const std::string& s) const {
    Id t(checked(H5Tcopy(H5T_C_S1), file), H5Tclose);
    check(H5Tset_size(t, std::max<std::size_t>(s.size(), 1)), file);
    check(H5Tset_strpad(t, H5T_STR_NULLPAD), file);
    check(H5Tset_cset(t, H5T_CSET_UTF8), file);
    Id sp(checked(H5Screate(H5S_SCALAR), file), H5Sclose);
    Id a(checked(H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT), file), H5Aclose);
    std::string buf = s;
    buf.resize(std::max<std::size_t>(s.size(), 1), '\0');
    check(H5Awrite(a, t, buf.data()), file);
  }

  void attr(hid_t obj, const char* name, const std::vector<double>& v, bool as_int) const {
    hsize_t n = v.size();
    Id sp(checked(H5Screate_simple(1, &n, nullptr), file), H5Sclose);
    Id a(checked(H5Acreate2(obj, name, as_int ? H5T_STD_I64LE : H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT), file), H5Aclose);
    if (as_int) {
      std::vector<long long> iv(v.begin(), v.end());
      check(H5Awrite(a, H5T_NATIVE_LLONG, iv.data()), file);
    } else {
      check(H5Awrite(a, H5T_NATIVE_DOUBLE, v.data()), file);
    }
  }

  void data(hid_t group, const char* name, const std::vector<float>& v, const std::vector<hsize_t>& dims) const {
    Id sp(checked(H5Screate_simple(int(dims.size()), dims.data(), nullptr), file), H5Sclose);
    Id d(checked(H5Dcreate2(group, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), file), H5Dclose);
    check(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), file);
  }
};

void write_contents(hid_t f, const Network& net, const std::string& tmp, const ModelInfo& info) {
  const Writer w{tmp};
  w.attr(f, "format", std::string("mho-model"));
  w.attr(f, "version", {double(kModelFormatVersion)}, true);
  w.attr(f, "name", net.name());
  const Shape& s = net.input_shape();
  w.attr(f, "input_shape", {double(s.c), double(s.h), double(s.w)}, true);
  if (!info.dataset.empty()) w.attr(f, "dataset", info.dataset);
  if (!info.source.empty()) w.attr(f, "source", info.source);
  if (info.float_test_accuracy >= 0) w.attr(f, "float_test_accuracy", {info.float_test_accuracy}, false);
  Id lg(checked(H5Gcreate2(f, "layers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), tmp), H5Gclose);
  w.attr(lg, "count", {double(net.layers().size())}, true);
  for (std::size_t k = 0; k < net.layers().size(); ++k) {
    const Layer& l = net.layers()[k];
    Id g(checked(H5Gcreate2(lg, std::to_string(k).c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), tmp), H5Gclose);
    w.attr(g, "type", kind_name(l.kind));
    w.attr(g, "name", l.name);
    w.attr(g, "inputs", std::vector<double>(l.inputs.begin(), l.inputs.end()), true);
    using hs = hsize_t;
    if (l.kind == LayerKind::kConv2d) {
      w.attr(g, "in_channels", {double(l.in_ch)}, true);
      w.attr(g, "out_channels", {double(l.out_ch)}, true);
      w.attr(g, "kernel", {double(l.kh), double(l.kw)}, true);
      w.attr(g, "stride", {double(l.stride_h), double(l.stride_w)}, true);
      w.attr(g, "padding", {double(l.pad_h), double(l.pad_w)}, true);
      w.attr(g, "dilation", {double(l.dil_h), double(l.dil_w)}, true);
      w.attr(g, "groups", {double(l.groups)}, true);
      w.data(g, "weight", l.weight, {hs(l.out_ch), hs(l.in_ch / l.groups), hs(l.kh), hs(l.kw)});
    } else if (l.kind == LayerKind::kLinear) {
      w.attr(g, "in_features", {double(l.in_ch)}, true);
      w.attr(g, "out_features", {double(l.out_ch)}, true);
      w.data(g, "weight", l.weight, {hs(l.out_ch), hs(l.in_ch)});
    } else if (l.kind == LayerKind::kMaxPool || l.kind == LayerKind::kAvgPool) {
      w.attr(g, "kernel", {double(l.kh), double(l.kw)}, true);
      w.attr(g, "stride", {double(l.stride_h), double(l.stride_w)}, true);
      w.attr(g, "padding", {double(l.pad_h), double(l.pad_w)}, true);
    } else if (l.kind == LayerKind::kBatchNorm) {
      w.attr(g, "eps", {l.eps}, false);
      w.attr(g, "num_features", {double(l.gamma.size())}, true);
      w.data(g, "weight", l.gamma, {hs(l.gamma.size())});
      w.data(g, "bias", l.beta, {hs(l.beta.size())});
      w.data(g, "running_mean", l.mean, {hs(l.mean.size())});
      w.data(g, "running_var", l.var, {hs(l.var.size())});
    } else if (l.kind == LayerKind::kLeakyReLU) {
      w.attr(g, "negative_slope", {l.negative_slope}, false);
    } else if (l.kind == LayerKind::kGELU) {
      w.attr(g, "approximate", std::string(l.gelu_tanh ? "tanh" : "none"));
    } else if (l.kind == LayerKind::kLayerNorm) {
      w.attr(g, "eps", {l.eps}, false);
      w.attr(g, "normalized_shape", std::vector<double>(l.norm_shape.begin(), l.norm_shape.end()), true);
      const std::vector<hs> dims(l.norm_shape.begin(), l.norm_shape.end());
      if (!l.gamma.empty()) w.data(g, "weight", l.gamma, dims);
      if (!l.beta.empty()) w.data(g, "bias", l.beta, dims);
    } else if (l.kind == LayerKind::kUpsample) {
      w.attr(g, "mode", std::string("nearest"));
      if (l.scale_h > 0) w.attr(g, "scale_factor", {double(l.scale_h), double(l.scale_w)}, true);
      else w.attr(g, "size", {double(l.out_h), double(l.out_w)}, true);
    } else if (l.kind == LayerKind::kAdaptiveAvgPool) {
      w.attr(g, "output_size", {double(l.out_h), double(l.out_w)}, true);
    }
    if (l.has_weights() && !l.bias.empty()) w.data(g, "bias", l.bias, {hs(l.bias.size())});
  }
}

void write_hdf5(const Network& net, const std::string& tmp, const ModelInfo& info) {
  Id fcpl(checked(H5Pcreate(H5P_FILE_CREATE), tmp), H5Pclose);
  check(H5Pset_userblock(fcpl, kModelUserBlockBytes), tmp);
  Id f(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, fcpl, H5P_DEFAULT), H5Fclose);
  if (f < 0) throw std::runtime_error("cannot create " + tmp);
  write_contents(f, net, tmp, info);
  // Every object of the file is closed by now, so this close flushes it (errors included).
  const herr_t r = H5Fclose(f.id);
  f.id = -1;
  check(r, tmp);
}

// Fills the user block of a closed HDF5 file with its integrity block and fsyncs the file.
void seal(const std::string& tmp) {
  std::string bytes = read_file(tmp);
  if (bytes.size() < kModelUserBlockBytes) throw std::runtime_error("model file " + tmp + ": shorter than its user block");
  const std::string block = model_integrity_block(bytes.data() + kModelUserBlockBytes, bytes.size() - kModelUserBlockBytes);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CLOEXEC);
  bool ok = fd >= 0 && ::pwrite(fd, block.data(), block.size(), 0) == ssize_t(block.size()) && ::fsync(fd) == 0;
  if (fd >= 0) ok = (::close(fd) == 0) && ok;
  if (!ok) throw std::runtime_error("model file " + tmp + ": cannot write its integrity block: " + std::strerror(errno));
}

}  // namespace

std::string model_integrity_block(const char* payload, std::size_t n) {
  std::string block = std::string(kMagic) + "payload-bytes " + std::to_string(n) + "\n" + "payload-sha256 " +
                      sha256_hex(payload, n) + "\n";
  block.resize(kModelUserBlockBytes, '\0');
  return block;
}

Network load_model_from_bytes(const std::string& bytes, const std::string& name, ModelInfo* info) {
  const bool verified = check_integrity(bytes, name);
  Network net = Parser(name, verified).parse(bytes, info);
  if (info) info->integrity_verified = verified;
  return net;
}

Network parse_model_unverified(const std::string& bytes, const std::string& name, ModelInfo* info) {
  return Parser(name, true).parse(bytes, info);
}

Network load_model(const std::string& path, ModelInfo* info) { return load_model_from_bytes(read_file(path), path, info); }

void save_model(const Network& net, const std::string& path, const ModelInfo& info) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const std::string tmp = path + ".tmp-" + std::to_string(getpid());
  try {
    write_hdf5(net, tmp, info);
    seal(tmp);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot rename " + tmp + " to " + path);
  }
}

}  // namespace mho
