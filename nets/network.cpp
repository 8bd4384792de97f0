#include "nets/network.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>

#include "common/validate.h"
#include "common/threads.h"

namespace mho {

namespace {

// In 64 bits: a model file may hold any int geometry; a result outside int is rejected by
// infer_shapes (as every shape whose size exceeds int).
long long out_extent(long long in, long long k, long long stride, long long pad, long long dil) {
  const long long span = in + 2 * pad - dil * (k - 1) - 1;
  return (span < 0 ? span - (stride - 1) : span) / stride + 1;  // floor, as in PyTorch
}

int checked_extent(long long e) { return e > std::numeric_limits<int>::max() ? -1 : int(e); }

std::string where(const Layer& l, int i) {
  return "layer " + std::to_string(i) + " ('" + l.name + "', " + kind_name(l.kind) + ")";
}

// im2col of one group: rows (b, oh, ow), columns (c, r, s) over the group's channels.
void im2col(const float* x, int B, const Shape& in, const Layer& l, int group, const Shape& out,
            RowMat<float>* p) {
  const int cg = l.in_ch / l.groups, c0 = group * cg;
  p->resize(Eigen::Index(B) * out.h * out.w, Eigen::Index(cg) * l.kh * l.kw);
#pragma omp parallel for schedule(static) num_threads(threads())
  for (Eigen::Index row = 0; row < p->rows(); ++row) {
    const int b = int(row / (out.h * out.w)), oh = int(row / out.w % out.h), ow = int(row % out.w);
    float* dst = p->row(row).data();
    const float* src = x + std::size_t(b) * in.size();
    for (int c = 0; c < cg; ++c)
      for (int r = 0; r < l.kh; ++r) {
        const int ih = oh * l.stride_h - l.pad_h + r * l.dil_h;
        for (int s = 0; s < l.kw; ++s) {
          const int iw = ow * l.stride_w - l.pad_w + s * l.dil_w;
          const bool inside = ih >= 0 && ih < in.h && iw >= 0 && iw < in.w;
          *dst++ = inside ? src[(std::size_t(c0 + c) * in.h + ih) * in.w + iw] : 0.0f;
        }
      }
  }
}

// The trailing dimensions of an activation that torch's LayerNorm normalized_shape may name:
// [W], [H, W], [C, H, W], and [C] when it is a flat (C, 1, 1) tensor (torch's (N, C)).
std::vector<std::vector<int>> norm_shapes(const Shape& in) {
  std::vector<std::vector<int>> v = {{in.w}, {in.h, in.w}, {in.c, in.h, in.w}};
  if (in.h == 1 && in.w == 1) v.insert(v.begin(), {in.c});
  return v;
}

std::string dims_text(const std::vector<int>& d) {
  std::string s = "[";
  for (std::size_t k = 0; k < d.size(); ++k) s += (k ? ", " : "") + std::to_string(d[k]);
  return s + "]";
}

long norm_size(const Layer& l) {
  long n = 1;
  for (int d : l.norm_shape) n *= d;
  return n;
}

void check_layernorm(const Layer& l, const std::string& at, const Shape& in) {
  const auto allowed = norm_shapes(in);
  if (std::find(allowed.begin(), allowed.end(), l.norm_shape) == allowed.end()) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + dims_text(a);
    reject(at + " normalized_shape", dims_text(l.norm_shape),
           "must be trailing dimensions of its input " + in.text() + ": one of " + list);
  }
  if (!(l.eps > 0 && std::isfinite(l.eps))) reject(at + " eps", to_text(l.eps), "must be finite and > 0");
  const std::size_t n = std::size_t(norm_size(l));
  for (const auto* v : {&l.gamma, &l.beta})
    if (!v->empty() && v->size() != n)
      reject(at + (v == &l.gamma ? " weight" : " bias"), std::to_string(v->size()) + " values",
             "needs one per normalized element (" + std::to_string(n) + ") or none");
}

// torch 1.13's nearest_idx (aten/src/ATen/native/UpSample.h), whose float arithmetic decides
// the source of some indices when the factor is not 1 or 2: the source of output index `o`
// along an axis of `in` -> `out` elements; `scale` > 0 is the integer factor the user gave.
int nearest_source(int o, int in, int out, int scale) {
  if (out == in) return o;
  if (out == 2 * in) return o >> 1;
  const float s = scale > 0 ? float(1.0 / scale) : float(in) / float(out);
  return std::min(int(std::floor(float(o) * s)), in - 1);
}

template <typename F>
void map_elements(const RowMat<float>& in, RowMat<float>& out, F f) {
  out.resize(in.rows(), in.cols());
  const Eigen::Index n = in.size();
  const float* src = in.data();
  float* dst = out.data();
#pragma omp parallel for schedule(static) num_threads(threads())
  for (Eigen::Index k = 0; k < n; ++k) dst[k] = float(f(double(src[k])));
}

}  // namespace

Network::Network(std::string name, Shape input, std::vector<Layer> layers)
    : name_(std::move(name)), input_(input), layers_(std::move(layers)) {
  if (input_.c < 1 || input_.h < 1 || input_.w < 1 || input_.size() > std::numeric_limits<int>::max())
    reject("network input shape", input_.text(), "every extent must be >= 1 and the size at most 2^31 - 1");
  if (layers_.empty()) reject("network layers", "none", "a network needs at least one layer");
  infer_shapes();
}

void Network::infer_shapes() {
  shapes_.clear();
  for (int i = 0; i < int(layers_.size()); ++i) {
    const Layer& l = layers_[i];
    const std::size_t need = l.kind == LayerKind::kAdd ? 2 : 1;
    if (l.kind == LayerKind::kConcat ? l.inputs.size() < 2 : l.inputs.size() != need)
      reject(where(l, i) + " inputs", std::to_string(l.inputs.size()) + " inputs",
             l.kind == LayerKind::kConcat ? "needs at least 2" : "needs exactly " + std::to_string(need));
    for (int src : l.inputs)
      if (src < -1 || src >= i) reject(where(l, i) + " input", std::to_string(src), "must be -1 or an earlier layer");
    auto shape_of = [&](int src) { return src < 0 ? input_ : shapes_[std::size_t(src)]; };
    const Shape in = shape_of(l.inputs[0]);
    Shape out = in;
    switch (l.kind) {
      case LayerKind::kConv2d: {
        if (l.in_ch != in.c) reject(where(l, i) + " in_ch", std::to_string(l.in_ch), "input has " + std::to_string(in.c) + " channels");
        if (l.groups < 1 || l.in_ch % l.groups || l.out_ch % l.groups)
          reject(where(l, i) + " groups", std::to_string(l.groups), "must divide in_ch and out_ch");
        if (l.kh < 1 || l.kw < 1 || l.stride_h < 1 || l.stride_w < 1 || l.dil_h < 1 || l.dil_w < 1 || l.pad_h < 0 || l.pad_w < 0)
          reject(where(l, i) + " geometry", "kernel/stride/dilation/padding", "kernel, stride, dilation >= 1, padding >= 0");
        out = {l.out_ch, checked_extent(out_extent(in.h, l.kh, l.stride_h, l.pad_h, l.dil_h)),
               checked_extent(out_extent(in.w, l.kw, l.stride_w, l.pad_w, l.dil_w))};
        if (out.h < 1 || out.w < 1) reject(where(l, i) + " output", out.text(), "the kernel does not fit the input " + in.text());
        const std::size_t nw = std::size_t(l.out_ch) * (l.in_ch / l.groups) * l.kh * l.kw;
        if (!l.weight.empty() && l.weight.size() != nw) reject(where(l, i) + " weight", std::to_string(l.weight.size()) + " values", "needs " + std::to_string(nw));
        if (!l.bias.empty() && l.bias.size() != std::size_t(l.out_ch))
          reject(where(l, i) + " bias", std::to_string(l.bias.size()) + " values", "needs " + std::to_string(l.out_ch));
        break;
      }
      case LayerKind::kLinear:
        if (l.in_ch != in.size()) reject(where(l, i) + " in_features", std::to_string(l.in_ch), "input has " + std::to_string(in.size()) + " values");
        if (!l.weight.empty() && l.weight.size() != std::size_t(l.in_ch) * l.out_ch)
          reject(where(l, i) + " weight", std::to_string(l.weight.size()) + " values", "needs " + std::to_string(long(l.in_ch) * l.out_ch));
        if (!l.bias.empty() && l.bias.size() != std::size_t(l.out_ch))
          reject(where(l, i) + " bias", std::to_string(l.bias.size()) + " values", "needs " + std::to_string(l.out_ch));
        out = {l.out_ch, 1, 1};
        break;
      case LayerKind::kMaxPool:
      case LayerKind::kAvgPool:
        if (l.kh < 1 || l.kw < 1 || l.stride_h < 1 || l.stride_w < 1 || l.pad_h < 0 || l.pad_w < 0)
          reject(where(l, i) + " geometry", "kernel/stride/padding", "kernel, stride >= 1, padding >= 0");
        out = {in.c, checked_extent(out_extent(in.h, l.kh, l.stride_h, l.pad_h, 1)),
               checked_extent(out_extent(in.w, l.kw, l.stride_w, l.pad_w, 1))};
        if (out.h < 1 || out.w < 1) reject(where(l, i) + " output", out.text(), "the window does not fit the input " + in.text());
        break;
      case LayerKind::kGlobalAvgPool:
        out = {in.c, 1, 1};
        break;
      case LayerKind::kFlatten:
        out = {int(in.size()), 1, 1};
        break;
      case LayerKind::kBatchNorm:
        for (const auto* v : {&l.gamma, &l.beta, &l.mean, &l.var})
          if (v->size() != std::size_t(in.c))
            reject(where(l, i) + " parameters", std::to_string(v->size()) + " values", "needs one per channel (" + std::to_string(in.c) + ")");
        break;
      case LayerKind::kAdd:
        if (!(shape_of(l.inputs[1]) == in))
          reject(where(l, i) + " inputs", in.text() + " and " + shape_of(l.inputs[1]).text(), "must have the same shape");
        break;
      case LayerKind::kConcat:
        {
          long long c = 0;
          for (int src : l.inputs) {
            const Shape s = shape_of(src);
            if (s.h != in.h || s.w != in.w)
              reject(where(l, i) + " inputs", in.text() + " and " + s.text(), "must have the same height and width");
            c += s.c;
          }
          out.c = checked_extent(c);
        }
        break;
      case LayerKind::kReLU:
      case LayerKind::kReLU6:
      case LayerKind::kSigmoid:
      case LayerKind::kTanh:
      case LayerKind::kGELU:
      case LayerKind::kSiLU:
        break;
      case LayerKind::kLeakyReLU:
        if (!std::isfinite(l.negative_slope))
          reject(where(l, i) + " negative_slope", to_text(l.negative_slope), "must be finite");
        break;
      case LayerKind::kLayerNorm:
        check_layernorm(l, where(l, i), in);
        break;
      case LayerKind::kUpsample:
        if (l.scale_h != 0 || l.scale_w != 0) {
          if (l.scale_h < 1 || l.scale_w < 1)
            reject(where(l, i) + " scale_factor", std::to_string(l.scale_h) + "x" + std::to_string(l.scale_w),
                   "integer factors must both be >= 1");
          out = {in.c, checked_extent((long long)in.h * l.scale_h), checked_extent((long long)in.w * l.scale_w)};
        } else {
          if (l.out_h < 1 || l.out_w < 1)
            reject(where(l, i) + " size", std::to_string(l.out_h) + "x" + std::to_string(l.out_w),
                   "an upsample needs integer scale factors >= 1 or an output size >= 1");
          out = {in.c, l.out_h, l.out_w};
        }
        break;
      case LayerKind::kAdaptiveAvgPool:
        if (l.out_h < 1 || l.out_w < 1)
          reject(where(l, i) + " output_size", std::to_string(l.out_h) + "x" + std::to_string(l.out_w), "both must be >= 1");
        out = {in.c, l.out_h, l.out_w};
        break;
    }
    if (out.c < 1 || out.h < 1 || out.w < 1 || out.size() > std::numeric_limits<int>::max())
      reject(where(l, i) + " output", out.text(), "every extent must be >= 1 and the size at most 2^31 - 1");
    shapes_.push_back(out);
  }
}

RowMat<float> Network::weight_matrix(int li, int group) const {
  const Layer& l = layers_.at(std::size_t(li));
  if (!l.has_weights()) reject(where(l, li), "no weights", "weight_matrix needs a conv2d or linear layer");
  if (l.shape_only()) reject(where(l, li), "a shape-only layer", "has no weight values (a zoo network)");
  const int rows = l.matrix_rows(), cols = l.matrix_cols();
  RowMat<float> m(rows, cols);
  for (int o = 0; o < cols; ++o)
    for (int r = 0; r < rows; ++r) m(r, o) = l.weight[std::size_t(group * cols + o) * rows + r];
  return m;
}

int Network::fold_batchnorm() {
  std::vector<int> readers(layers_.size() + 1, 0);
  for (const Layer& l : layers_)
    for (int s : l.inputs) readers[std::size_t(s + 1)]++;
  int folded = 0;
  std::vector<Layer> kept;
  std::vector<int> remap(layers_.size(), -1);
  for (int i = 0; i < int(layers_.size()); ++i) {
    Layer l = layers_[i];
    for (int& s : l.inputs) s = s < 0 ? -1 : remap[std::size_t(s)];
    const int src = layers_[i].inputs[0];
    if (l.kind == LayerKind::kBatchNorm && src >= 0 && layers_[src].has_weights() && readers[std::size_t(src + 1)] == 1) {
      Layer& p = kept[std::size_t(remap[std::size_t(src)])];
      const int per = int(p.weight.size() / std::size_t(p.out_ch));
      if (p.bias.empty()) p.bias.assign(std::size_t(p.out_ch), 0.0f);
      for (int o = 0; o < p.out_ch; ++o) {
        const double scale = l.gamma[o] / std::sqrt(double(l.var[o]) + l.eps);
        for (int k = 0; k < per; ++k) p.weight[std::size_t(o) * per + k] = float(p.weight[std::size_t(o) * per + k] * scale);
        p.bias[o] = float((p.bias[o] - l.mean[o]) * scale + l.beta[o]);
      }
      remap[std::size_t(i)] = remap[std::size_t(src)];
      ++folded;
      continue;
    }
    remap[std::size_t(i)] = int(kept.size());
    kept.push_back(std::move(l));
  }
  layers_ = std::move(kept);
  infer_shapes();
  return folded;
}

RowMat<float> Network::forward(const Eigen::Ref<const RowMat<float>>& x, const MatMul& mm,
                               bool concurrent_groups) const {
  if (x.cols() != input_.size())
    reject("network input", std::to_string(x.rows()) + "x" + std::to_string(x.cols()),
           "must have " + std::to_string(input_.size()) + " columns (" + input_.text() + " per sample)");
  // As Tile.forward: NaN or infinity would flow silently through every layer (max pooling and
  // ReLU even drop NaN), so a bad input is rejected, never turned into a plausible answer.
  for (Eigen::Index r = 0; r < x.rows(); ++r)
    if (!all_finite(x.row(r).data(), std::size_t(x.cols())))
      reject("network input", "row " + std::to_string(r) + " with NaN or infinity", "must be finite");
  for (const Layer& l : layers_)
    if (l.shape_only())
      reject("network '" + name_ + "'", "shape-only layers", "has no weights to run (a zoo network: use it for counts and mapping)");
  const int B = int(x.rows()), n = int(layers_.size());
  std::vector<int> readers(static_cast<std::size_t>(n), 0);
  for (const Layer& l : layers_)
    for (int s : l.inputs)
      if (s >= 0) readers[std::size_t(s)]++;
  readers[std::size_t(n - 1)]++;  // the output is kept
  std::vector<RowMat<float>> act(static_cast<std::size_t>(n));
  auto input_of = [&](int s) -> const RowMat<float>& { return act[std::size_t(s)]; };
  RowMat<float> x_copy;
  for (int i = 0; i < n; ++i) {
    const Layer& l = layers_[std::size_t(i)];
    const int s0 = l.inputs[0];
    if (s0 < 0 && x_copy.size() == 0) x_copy = x;
    const RowMat<float>& in = s0 < 0 ? x_copy : input_of(s0);
    const Shape is = s0 < 0 ? input_ : shapes_[std::size_t(s0)], os = shapes_[std::size_t(i)];
    RowMat<float>& out = act[std::size_t(i)];
    switch (l.kind) {
      case LayerKind::kConv2d: {
        out.resize(B, os.size());
        const int mg = l.out_ch / l.groups, hw = os.h * os.w;
        // Each group writes its own channels: the result does not depend on the order.
        auto run_group = [&](int g, RowMat<float>& p, RowMat<float>& y) {
          im2col(in.data(), B, is, l, g, os, &p);
          if (mm) {
            y = mm(i, g, p);
          } else {
            const RowMat<float> w = weight_matrix(i, g);
            gemm<float>(p, w, y);
          }
#pragma omp parallel for schedule(static) num_threads(threads())
          for (int b = 0; b < B; ++b)
            for (int o = 0; o < mg; ++o) {
              const int ch = g * mg + o;
              const float bias = l.bias.empty() ? 0.0f : l.bias[std::size_t(ch)];
              float* dst = out.row(b).data() + std::size_t(ch) * hw;
              for (int k = 0; k < hw; ++k) dst[k] = y(Eigen::Index(b) * hw + k, o) + bias;
            }
        };
#ifdef _OPENMP
        const bool nested = omp_in_parallel();
#else
        const bool nested = false;  // a build without OpenMP (the fuzzers): one thread anyway
#endif
        if (mm && concurrent_groups && l.groups > 1 && !nested) {
          // An exception must not leave an OpenMP region: the first is kept and rethrown.
          std::exception_ptr error;
#pragma omp parallel num_threads(threads())
          {
            RowMat<float> p, y;
#pragma omp for schedule(dynamic, 1)
            for (int g = 0; g < l.groups; ++g) {
              try {
                run_group(g, p, y);
              } catch (...) {
#pragma omp critical(mho_network_group_error)
                if (!error) error = std::current_exception();
              }
            }
          }
          if (error) std::rethrow_exception(error);
        } else {
          RowMat<float> p, y;
          for (int g = 0; g < l.groups; ++g) run_group(g, p, y);
        }
        break;
      }
      case LayerKind::kLinear: {
        if (mm) {
          out = mm(i, 0, in);
        } else {
          const RowMat<float> w = weight_matrix(i, 0);
          gemm<float>(in, w, out);
        }
        if (!l.bias.empty())
          out.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(l.bias.data(), l.out_ch);
        break;
      }
      case LayerKind::kReLU:
        out = in.cwiseMax(0.0f);
        break;
      case LayerKind::kReLU6:
        out = in.cwiseMax(0.0f).cwiseMin(6.0f);
        break;
      case LayerKind::kSigmoid:
        map_elements(in, out, [](double v) { return 1.0 / (1.0 + std::exp(-v)); });
        break;
      case LayerKind::kTanh:
        map_elements(in, out, [](double v) { return std::tanh(v); });
        break;
      case LayerKind::kGELU:
        if (l.gelu_tanh) {
          // torch's approximate='tanh' (Hendrycks & Gimpel 2016, eq. in sec. 2; torch's GeluKernel):
          // sqrt(2/pi) and 0.044715
          const double k = std::sqrt(2.0 / 3.14159265358979323846);
          map_elements(in, out, [k](double v) { return 0.5 * v * (1.0 + std::tanh(k * (v + 0.044715 * v * v * v))); });
        } else {
          map_elements(in, out, [](double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); });
        }
        break;
      case LayerKind::kSiLU:
        map_elements(in, out, [](double v) { return v / (1.0 + std::exp(-v)); });
        break;
      case LayerKind::kLeakyReLU: {
        const double a = l.negative_slope;
        map_elements(in, out, [a](double v) { return v > 0 ? v : v * a; });
        break;
      }
      case LayerKind::kLayerNorm: {
        out.resize(B, os.size());
        const long n = norm_size(l), groups = os.size() / n;
#pragma omp parallel for schedule(static) num_threads(threads())
        for (int b = 0; b < B; ++b)
          for (long g = 0; g < groups; ++g) {
            const float* src = in.row(b).data() + g * n;
            float* dst = out.row(b).data() + g * n;
            double mean = 0, var = 0;
            for (long k = 0; k < n; ++k) mean += src[k];
            mean /= double(n);
            for (long k = 0; k < n; ++k) var += (src[k] - mean) * (src[k] - mean);
            const double rstd = 1.0 / std::sqrt(var / double(n) + l.eps);  // biased variance, as torch
            for (long k = 0; k < n; ++k) {
              const double y = (src[k] - mean) * rstd;
              dst[k] = float(y * (l.gamma.empty() ? 1.0 : l.gamma[std::size_t(k)]) +
                             (l.beta.empty() ? 0.0 : l.beta[std::size_t(k)]));
            }
          }
        break;
      }
      case LayerKind::kUpsample: {
        out.resize(B, os.size());
        std::vector<int> src_h(std::size_t(os.h)), src_w(std::size_t(os.w));
        for (int o = 0; o < os.h; ++o) src_h[std::size_t(o)] = nearest_source(o, is.h, os.h, l.scale_h);
        for (int o = 0; o < os.w; ++o) src_w[std::size_t(o)] = nearest_source(o, is.w, os.w, l.scale_w);
#pragma omp parallel for schedule(static) num_threads(threads())
        for (int b = 0; b < B; ++b)
          for (int c = 0; c < os.c; ++c)
            for (int oh = 0; oh < os.h; ++oh)
              for (int ow = 0; ow < os.w; ++ow)
                out(b, (Eigen::Index(c) * os.h + oh) * os.w + ow) =
                    in(b, (Eigen::Index(c) * is.h + src_h[std::size_t(oh)]) * is.w + src_w[std::size_t(ow)]);
        break;
      }
      case LayerKind::kAdaptiveAvgPool: {
        out.resize(B, os.size());
#pragma omp parallel for schedule(static) num_threads(threads())
        for (int b = 0; b < B; ++b)
          for (int c = 0; c < os.c; ++c)
            for (int oh = 0; oh < os.h; ++oh) {
              const auto [h0, h1] = adaptive_pool_bin(oh, is.h, os.h);
              for (int ow = 0; ow < os.w; ++ow) {
                const auto [w0, w1] = adaptive_pool_bin(ow, is.w, os.w);
                double acc = 0;
                for (int ih = h0; ih < h1; ++ih)
                  for (int iw = w0; iw < w1; ++iw) acc += in(b, (Eigen::Index(c) * is.h + ih) * is.w + iw);
                out(b, (Eigen::Index(c) * os.h + oh) * os.w + ow) = float(acc / (double(h1 - h0) * (w1 - w0)));
              }
            }
        break;
      }
      case LayerKind::kMaxPool:
      case LayerKind::kAvgPool: {
        out.resize(B, os.size());
        const bool is_max = l.kind == LayerKind::kMaxPool;
#pragma omp parallel for schedule(static) num_threads(threads())
        for (int b = 0; b < B; ++b)
          for (int c = 0; c < os.c; ++c)
            for (int oh = 0; oh < os.h; ++oh)
              for (int ow = 0; ow < os.w; ++ow) {
                float acc = is_max ? -std::numeric_limits<float>::infinity() : 0.0f;
                for (int r = 0; r < l.kh; ++r)
                  for (int s = 0; s < l.kw; ++s) {
                    const int ih = oh * l.stride_h - l.pad_h + r, iw = ow * l.stride_w - l.pad_w + s;
                    const bool inside = ih >= 0 && ih < is.h && iw >= 0 && iw < is.w;
                    const float v = inside ? in(b, (Eigen::Index(c) * is.h + ih) * is.w + iw) : 0.0f;
                    if (is_max) {
                      if (inside) acc = std::max(acc, v);
                    } else {
                      acc += v;  // padding counts as zeros (PyTorch's count_include_pad)
                    }
                  }
                out(b, (Eigen::Index(c) * os.h + oh) * os.w + ow) = is_max ? acc : acc / float(l.kh * l.kw);
              }
        break;
      }
      case LayerKind::kGlobalAvgPool: {
        out.resize(B, os.c);
        const int hw = is.h * is.w;
        for (int b = 0; b < B; ++b)
          for (int c = 0; c < is.c; ++c)
            out(b, c) = in.row(b).segment(Eigen::Index(c) * hw, hw).sum() / float(hw);
        break;
      }
      case LayerKind::kFlatten:
        out = in;
        break;
      case LayerKind::kBatchNorm: {
        out = in;
        const int hw = is.h * is.w;
        for (int c = 0; c < is.c; ++c) {
          const float scale = float(l.gamma[c] / std::sqrt(double(l.var[c]) + l.eps));
          const float shift = l.beta[c] - l.mean[c] * scale;
          out.middleCols(Eigen::Index(c) * hw, hw).array() = out.middleCols(Eigen::Index(c) * hw, hw).array() * scale + shift;
        }
        break;
      }
      case LayerKind::kAdd:
        out = in + (l.inputs[1] < 0 ? x_copy : input_of(l.inputs[1]));
        break;
      case LayerKind::kConcat: {
        out.resize(B, os.size());
        Eigen::Index at = 0;
        for (int src : l.inputs) {
          const RowMat<float>& part = src < 0 ? x_copy : input_of(src);
          const long n = (src < 0 ? input_ : shapes_[std::size_t(src)]).size();
          for (int b = 0; b < B; ++b) out.row(b).segment(at, n) = part.row(b);
          at += n;
        }
        break;
      }
    }
    for (int s : l.inputs)
      if (s >= 0 && --readers[std::size_t(s)] == 0) act[std::size_t(s)].resize(0, 0);
  }
  return act[std::size_t(n - 1)];
}

long long Network::weights(int i) const {
  const Layer& l = layers_.at(std::size_t(i));
  return l.has_weights() ? (long long)l.out_ch * l.matrix_rows() : 0;
}

long long Network::macs(int i) const {
  // A conv weight is used once per output position; a linear weight once.
  const Shape& o = shapes_.at(std::size_t(i));
  return layers_.at(std::size_t(i)).kind == LayerKind::kConv2d ? weights(i) * o.h * o.w : weights(i);
}

long long Network::total_macs() const {
  long long s = 0;
  for (int i = 0; i < int(layers_.size()); ++i) s += macs(i);
  return s;
}

long long Network::total_weights() const {
  long long s = 0;
  for (int i = 0; i < int(layers_.size()); ++i) s += weights(i);
  return s;
}

}  // namespace mho
