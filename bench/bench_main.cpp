// mho_bench CASE: runs one benchmark case and prints one JSON line. Each case runs in its own
// process (bench/run) so that peak_rss_mib is the case's own. `seconds` is the median of
// repeated runs after a warm-up; ratio_to_gemm divides it by the median of a plain float32
// GEMM (OpenBLAS sgemm, threaded as OpenBLAS threads it, as numpy's a @ b) of the same
// logical shape, run alternately in the same process; gemm_gflops is that reference's speed
// and blas_kernel the OpenBLAS kernel in use, so that a slow kernel cannot hide in the ratio.
#include <cblas.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/allocator.h"
#include "crossbar/blas_runtime.h"
#include "crossbar/gemm.h"
#include "crossbar/resistive_array.h"
#include "crossbar/tile.h"
#include "nets/pim_network.h"

namespace {

using mho::RowMat;
using Clock = std::chrono::steady_clock;

double seconds_of(const std::function<void()>& f) {
  auto a = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - a).count();
}

double median(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Medians of the case and of its reference, run alternately after one warm-up each, so that
// a slow spell of a shared machine hits both alike.
std::pair<double, double> paired_medians(const std::function<void()>& f,
                                         const std::function<void()>& ref, int reps) {
  f();
  ref();
  std::vector<double> a, b;
  for (int i = 0; i < reps; ++i) {
    a.push_back(seconds_of(f));
    b.push_back(seconds_of(ref));
  }
  return {median(a), median(b)};
}

RowMat<float> normal(int r, int c, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, scale);
  RowMat<float> m(r, c);
  for (int i = 0; i < r; ++i)
    for (int j = 0; j < c; ++j) m(i, j) = n(rng);
  return m;
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// The reference: a plain float32 GEMM of the logical shape. Like numpy's a @ b, each call
// allocates its result (as Tile::forward does).
struct Reference {
  RowMat<float> a, b;
  double flops = 0.0;
  Reference(int batch, int n_in, int n_out) : a(normal(batch, n_in, 1)), b(normal(n_in, n_out, 2)) {
    flops = 2.0 * double(batch) * n_in * n_out;
  }
  void operator()() const {
    RowMat<float> c(a.rows(), b.cols());
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(a.rows()), int(b.cols()), int(a.cols()), 1.0f,
                a.data(), int(a.cols()), b.data(), int(b.cols()), 0.0f, c.data(), int(c.cols()));
  }
};
double g_reference_flops = 0.0;  // of the case's reference, for gemm_gflops

// gemm_gflops: the reference on its own, back to back, in a process where OpenBLAS's idle
// workers spin as usual (bench/run measures it with --reference-gflops and passes it in);
// without it, the paired median's.
double reference_gflops(double paired_seconds) {
  if (const char* g = std::getenv("MHO_BENCH_REFERENCE_GFLOPS")) return std::atof(g);
  return 1e-9 * g_reference_flops / paired_seconds;
}

// Each case's shape (batch, inputs, outputs): its work and its reference GEMM.
const std::map<std::string, std::array<int, 3>> kReferenceShapes = {
    {"ideal", {1024, 256, 256}},   {"realistic", {1024, 256, 256}},      {"bitserial", {1024, 256, 256}},
    {"charge_domain", {1024, 256, 256}},
    {"tiled", {256, 2048, 2048}},  {"parasitics", {64, 256, 256}},       {"parasitics_1ohm", {64, 256, 256}},
    {"parasitics_1024", {64, 1024, 1024}}};

double reference_alone_gflops(const std::string& name) {
  const auto& sh = kReferenceShapes.at(name);
  const Reference reference(sh[0], sh[1], sh[2]);
  // Warm up for 0.2 s (thread pool, clock ramp, the allocator's mappings), then 101 calls.
  for (double spent = 0.0; spent < 0.2;) spent += seconds_of(reference);
  std::vector<double> t;
  for (int i = 0; i < 101; ++i) t.push_back(seconds_of(reference));
  return 1e-9 * reference.flops / median(t);
}

mho::TileSpec realistic(int rows, int n_out) {
  mho::TileSpec s;
  s.rows = rows;
  s.cols = 2 * n_out;
  s.cell = mho::CellSpec();
  s.cell.name = "bench_rram";
  s.cell.bits = 8;
  s.cell.prog_error = "proportional";
  s.cell.prog_sigma = {0.03};
  s.cell.read_noise = "proportional";
  s.cell.read_sigma = {0.02};
  s.weight_bits = 8;
  s.bits_per_cell = 8;
  s.dac.input_bits = 8;
  s.dac.mode = "multilevel";
  s.dac.signed_mode = "bipolar";  // sign-magnitude drive: one pass per plane
  s.adc.bits = 8;
  s.adc.range = "calibrated";
  return s;
}

void print(const std::string& name, double sec, double ref, const std::string& extra) {
  std::printf(
      "{\"case\": \"%s\", \"seconds\": %.6g, \"gemm_seconds\": %.6g, \"ratio_to_gemm\": %.4g, "
      "\"gemm_gflops\": %.1f, \"blas_kernel\": \"%s\", \"peak_rss_mib\": %.1f, \"threads\": %d%s}\n",
      name.c_str(), sec, ref, sec / ref, reference_gflops(ref), mho::blas_kernel().c_str(),
      peak_rss_mib(), mho::get_num_threads(), extra.c_str());
}

// One tile of `spec` holding an n_in x n_out block, batch inputs, forward timed.
void single_tile(const std::string& name, mho::TileSpec spec, int reps) {
  const auto& sh = kReferenceShapes.at(name);
  const int batch = sh[0], n_in = sh[1], n_out = sh[2];
  RowMat<float> w = normal(n_in, n_out, 3), x = normal(batch, n_in, 4);
  mho::Tile tile(spec);
  auto t0 = Clock::now();
  tile.program(w.cast<double>());
  tile.calibrate<float>(x);
  const double setup = std::chrono::duration<double>(Clock::now() - t0).count();
  RowMat<float> y;
  const Reference reference(batch, n_in, n_out);
  g_reference_flops = reference.flops;
  const auto [sec, ref] = paired_medians([&] { y = tile.forward<float>(x, 0); }, reference, reps);
  char extra[256];
  std::snprintf(extra, sizeof extra,
                ", \"weights\": \"%dx%d\", \"batch\": %d, \"physical_columns\": %d, "
                "\"analog_passes\": %d, \"program_calibrate_seconds\": %.4g",
                n_in, n_out, batch, tile.physical_columns(),
                int(tile.last_counters().dac_conversions / (std::uint64_t(batch) * n_in)) *
                    tile.num_slices(),
                setup);
  print(name, sec, ref, extra);
}

// The current-summing bit-serial case: 8-bit weights on 2-bit cells, 8 one-bit input planes.
mho::TileSpec bitserial_spec() {
  mho::TileSpec s = realistic(256, 256);
  s.cols = 2 * 4 * 256;
  s.dac.mode = "bitserial";
  s.dac.bits_per_plane = 1;
  s.bits_per_cell = 2;
  return s;
}

// The same layout (8-bit weights as 4 slices of 2-bit binary-weighted capacitor cells, 8
// one-bit planes) accumulated in charge, with capacitor mismatch, kT/C noise and an injection
// offset; the bit-serial tile is timed alternately in the same process. A pass: one input
// plane of the whole batch through every column.
void charge_domain(int reps) {
  const auto& sh = kReferenceShapes.at("charge_domain");
  const int batch = sh[0], n_in = sh[1], n_out = sh[2];
  mho::TileSpec cs = bitserial_spec();
  cs.accumulation = "charge";
  cs.cap.scheme = "binary_weighted";
  cs.cap.mismatch_sigma = 0.01;  // any nonzero value: the time does not depend on it
  cs.cap.injection_offset_V = 1e-3;
  RowMat<float> w = normal(n_in, n_out, 3), x = normal(batch, n_in, 4);
  mho::Tile charge(cs), current(bitserial_spec());
  for (mho::Tile* t : {&charge, &current}) {
    t->program(w.cast<double>());
    t->calibrate<float>(x);
  }
  RowMat<float> y;
  const Reference reference(batch, n_in, n_out);
  g_reference_flops = reference.flops;
  const auto [sec, ref] = paired_medians([&] { y = charge.forward<float>(x, 0); }, reference, reps);
  const auto [sec2, bitserial] =
      paired_medians([&] { y = charge.forward<float>(x, 0); }, [&] { y = current.forward<float>(x, 0); }, reps);
  const int passes = int(charge.last_counters().dac_conversions / (std::uint64_t(batch) * n_in));
  char extra[320];
  std::snprintf(extra, sizeof extra,
                ", \"weights\": \"%dx%d\", \"batch\": %d, \"physical_columns\": %d, \"analog_passes\": %d, "
                "\"seconds_per_analog_pass\": %.4g, \"bitserial_seconds\": %.6g, \"ratio_to_bitserial\": %.4g",
                n_in, n_out, batch, charge.physical_columns(), passes * charge.num_slices(),
                sec / double(passes), bitserial, sec2 / bitserial);
  print("charge_domain", sec, ref, extra);
}

void tiled(int reps) {
  // A 2048 x 2048 matrix on 64 tiles holding 256 x 256 blocks; partial sums of the 8 row
  // blocks added digitally.
  const auto& sh = kReferenceShapes.at("tiled");
  const int N = sh[1], T = 256, batch = sh[0], nb = N / T;
  mho::TileSpec spec = realistic(T, T);
  RowMat<float> x = normal(batch, N, 5);
  std::vector<mho::Tile> tiles;
  tiles.reserve(nb * nb);
  for (int r = 0; r < nb; ++r)
    for (int c = 0; c < nb; ++c) {
      RowMat<float> w = normal(T, T, 100 + r * nb + c, 0.05f);
      tiles.emplace_back(spec, std::uint64_t(r * nb + c));
      tiles.back().program(w.cast<double>());
      tiles.back().calibrate<float>(x.middleCols(r * T, T));
    }
  RowMat<float> y(batch, N);
  const Reference reference(batch, N, N);
  g_reference_flops = reference.flops;
  const auto [sec, ref] = paired_medians(
      [&] {
        y.setZero();
        for (int r = 0; r < nb; ++r)
          for (int c = 0; c < nb; ++c)
            y.middleCols(c * T, T) += tiles[r * nb + c].forward<float>(x.middleCols(r * T, T), 0);
      },
      reference, reps);
  print("tiled", sec, ref, ", \"weights\": \"2048x2048\", \"batch\": 256, \"tiles\": 64");
}

// Wire parasitics: an n x n array of conductances uniform in [1 uS, 1 mS], 64 multi-level
// (8-bit) input vectors; the time includes building and factoring the network.
void parasitics(const std::string& name, double r_ohm) {
  const auto& sh = kReferenceShapes.at(name);
  const int n = sh[1], batch = sh[0];
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(1e-6, 1e-3), lvl(0.0, 1.0);
  Eigen::MatrixXd g(n, n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) g(i, j) = u(rng);
  RowMat<double> v(batch, n);
  for (int b = 0; b < batch; ++b)
    for (int i = 0; i < n; ++i) v(b, i) = 0.2 * std::round(255 * lvl(rng)) / 255;
  mho::WireSpec w;
  w.r_row_ohm = w.r_col_ohm = r_ohm;
  double factor = 0.0, drop = 0.0;
  const int reps = n > 512 ? 1 : 3;
  // The first array of a shape also pays for the symbolic analysis, which later arrays of
  // that shape (a tile's, every Monte Carlo chip's) share.
  const double first = seconds_of([&] { mho::ResistiveArray net(g, w); });
  const Reference reference(batch, n, n);
  g_reference_flops = reference.flops;
  const auto [sec, ref] = paired_medians(
      [&] {
        mho::ResistiveArray net(g, w);
        RowMat<double> i = net.currents(v);
        factor = net.factor_seconds();
        drop = 1.0 - i.sum() / (v * g).sum();
      },
      reference, reps);
  char extra[256];
  std::snprintf(extra, sizeof extra,
                ", \"array\": \"%dx%d\", \"r_ohm\": %g, \"batch\": %d, \"ms_per_vector\": %.4g, "
                "\"factor_seconds\": %.4g, \"first_array_factor_seconds\": %.4g, "
                "\"mean_current_drop\": %.3f",
                n, n, r_ohm, batch, 1e3 * sec / batch, factor, first, drop);
  print(name, sec, ref, extra);
}

// A conv layer with weights N(0, 1/fan_in), as a trained layer's scale.
mho::Layer conv_layer(const std::string& name, int in, int out, int k, int groups, int src, unsigned seed) {
  mho::Layer l;
  l.kind = mho::LayerKind::kConv2d;
  l.name = name;
  l.inputs = {src};
  l.in_ch = in;
  l.out_ch = out;
  l.kh = l.kw = k;
  l.pad_h = l.pad_w = k / 2;
  l.groups = groups;
  const int fan_in = (in / groups) * k * k;
  const RowMat<float> w = normal(1, out * fan_in, seed, 1.0f / std::sqrt(float(fan_in)));
  l.weight.assign(w.data(), w.data() + w.size());
  return l;
}

// A programmed, calibrated PimNetwork and a batch for it: forward() is what is timed.
struct PimRun {
  mho::PimNetwork pim;
  RowMat<float> x, y;
  double macs;
  PimRun(const mho::Network& net, const mho::TileSpec& spec, int batch)
      : pim(net, spec), x(normal(batch, int(net.input_shape().size()), 9)), macs(double(net.total_macs()) * batch) {
    pim.program(0);
    pim.calibrate(x);
    y = pim.forward(x);  // warm-up
  }
  double seconds() {
    return seconds_of([&] { y = pim.forward(x); });
  }
};

// A depthwise-separable block (3x3 depthwise, groups = channels; ReLU6; 1x1 pointwise) and a
// dense 3x3 convolution of similar MACs on the same bit-serial spec, 16 images of 28 x 28.
void mobilenet_block(int reps) {
  const int C = 64, H = 28, batch = 16;
  mho::TileSpec s = realistic(256, 256);
  s.cols = 256;
  s.dac.mode = "bitserial";
  s.dac.bits_per_plane = 1;
  s.bits_per_cell = 2;
  mho::Layer relu6;
  relu6.kind = mho::LayerKind::kReLU6;
  relu6.name = "relu6";
  relu6.inputs = {0};
  const mho::Network block("mobilenet_block", {C, H, H},
                           {conv_layer("depthwise", C, C, 3, C, -1, 11), relu6, conv_layer("pointwise", C, C, 1, 1, 1, 12)});
  const mho::Network depthwise("depthwise", {C, H, H}, {conv_layer("depthwise", C, C, 3, C, -1, 11)});
  const mho::Network dense("dense", {32, H, H}, {conv_layer("dense", 32, 32, 3, 1, -1, 13)});
  // The three timed in turn, rep after rep: a change in the shared machine's load meets them
  // alike instead of one of them (medians of each).
  std::vector<PimRun> runs;
  runs.emplace_back(block, s, batch);
  runs.emplace_back(depthwise, s, batch);
  runs.emplace_back(dense, s, batch);
  std::vector<std::vector<double>> t(runs.size());
  for (int r = 0; r < reps; ++r)
    for (std::size_t i = 0; i < runs.size(); ++i) t[i].push_back(runs[i].seconds());
  const double sec = median(t[0]), dw_sec = median(t[1]), dense_sec = median(t[2]);
  const double macs = runs[0].macs, dw_macs = runs[1].macs, dense_macs = runs[2].macs;
  const double dense_per_mac = dense_sec / dense_macs;
  std::printf(
      "{\"case\": \"mobilenet_block\", \"seconds\": %.6g, \"macs\": %.0f, \"per_mac_ratio_to_dense\": %.4g, "
      "\"depthwise_seconds\": %.6g, \"depthwise_macs\": %.0f, \"depthwise_per_mac_ratio_to_dense\": %.4g, "
      "\"dense_seconds\": %.6g, \"dense_macs\": %.0f, \"block\": \"%dx%dx%d, dw3x3 + relu6 + pw1x1\", "
      "\"dense\": \"32x%dx%d, 3x3 -> 32\", \"batch\": %d, \"array\": \"%dx%d\", \"peak_rss_mib\": %.1f, \"threads\": %d}\n",
      sec, macs, sec / macs / dense_per_mac, dw_sec, dw_macs, dw_sec / dw_macs / dense_per_mac, dense_sec,
      dense_macs, C, H, H, H, H, batch, s.rows, s.cols, peak_rss_mib(), mho::get_num_threads());
}

}  // namespace

int main(int argc, char** argv) {
  mho::ensure_blas_kernel(argv);
  mho::keep_freed_memory();
  if (argc == 3 && std::string(argv[1]) == "--reference-gflops") {
    // A case without a GEMM reference (mobilenet_block compares with a dense layer itself).
    std::printf("%.1f\n", kReferenceShapes.count(argv[2]) ? reference_alone_gflops(argv[2]) : 0.0);
    return 0;
  }
  const std::map<std::string, std::function<void()>> cases = {
      {"ideal", [] { single_tile("ideal", mho::TileSpec::ideal(256, 512), 41); }},
      {"realistic", [] { single_tile("realistic", realistic(256, 256), 41); }},
      {"bitserial", [] { single_tile("bitserial", bitserial_spec(), 9); }},
      {"charge_domain", [] { charge_domain(9); }},
      {"tiled", [] { tiled(5); }},
      {"parasitics", [] { parasitics("parasitics", 0.1); }},
      {"parasitics_1ohm", [] { parasitics("parasitics_1ohm", 1.0); }},
      {"parasitics_1024", [] { parasitics("parasitics_1024", 0.1); }},
      {"mobilenet_block", [] { mobilenet_block(15); }},
  };
  if (argc != 2 || !cases.count(argv[1])) {
    std::fprintf(stderr, "usage: mho_bench CASE   (cases:");
    for (const auto& kv : cases) std::fprintf(stderr, " %s", kv.first.c_str());
    std::fprintf(stderr, ")\n");
    return 2;
  }
  cases.at(argv[1])();
  return 0;
}
