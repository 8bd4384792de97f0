#include "crossbar/blas_runtime.h"

#include "crossbar/gemm.h"

#include <cblas.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <vector>

namespace mho {

namespace {
struct SerialState {
  std::mutex mutex;
  int depth = 0, saved = 1;
};
SerialState& serial_state() {
  static SerialState s;
  return s;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

bool cpu_has_avx2_fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
}  // namespace

BlasSerialScope::BlasSerialScope() {
  SerialState& s = serial_state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.depth++ == 0) {
    s.saved = openblas_get_num_threads();
    if (s.saved != 1) openblas_set_num_threads(1);
  }
}

BlasSerialScope::~BlasSerialScope() {
  SerialState& s = serial_state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (--s.depth == 0 && s.saved != 1) openblas_set_num_threads(s.saved);
}

std::string preferred_blas_kernel() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512cd"))
    return "SkylakeX";
  if (cpu_has_avx2_fma()) return __builtin_cpu_is("amd") ? "Zen" : "Haswell";
  return "";
}

std::string blas_config() { return openblas_get_config(); }
std::string blas_kernel() { return openblas_get_corename(); }

bool blas_kernel_is_generic() {
  // OpenBLAS's kernels without AVX2 (its corename strings, lower case).
  static const char* const kOld[] = {"prescott", "core2", "penryn", "dunnington", "nehalem",
                                     "atom", "katmai", "coppermine", "northwood", "banias",
                                     "opteron", "barcelona", "bobcat", "sandybridge",
                                     "bulldozer", "piledriver", "steamroller", "excavator",
                                     "nano", "generic", "unknown"};
  if (!cpu_has_avx2_fma()) return false;
  const std::string k = lower(blas_kernel());
  for (const char* o : kOld)
    if (k == o) return true;
  return false;
}

namespace {
template <typename T>
bool check_one(int m, int n, int k, std::string* detail) {
  std::vector<T> a(std::size_t(m) * k), b(std::size_t(k) * n), c(std::size_t(m) * n, T(7));
  // A fixed LCG fill: exact in both precisions, of mixed signs and magnitudes.
  std::uint64_t s = 0x9E3779B97F4A7C15ull + std::uint64_t(m * 131 + n * 7 + k);
  auto next = [&] {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return T(std::int64_t(s >> 40) - (std::int64_t(1) << 23)) / T(1 << 20);
  };
  for (T& v : a) v = next();
  for (T& v : b) v = next();
  if constexpr (sizeof(T) == 4)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n);
  else
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a.data(), k, b.data(), n, 0.0, c.data(), n);
  const long double eps = std::numeric_limits<T>::epsilon();
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      long double ref = 0.0L, mag = 0.0L;
      for (int q = 0; q < k; ++q) {
        const long double p = (long double)a[std::size_t(i) * k + q] * b[std::size_t(q) * n + j];
        ref += p;
        mag += std::fabs(p);
      }
      const long double err = std::fabs((long double)c[std::size_t(i) * n + j] - ref);
      if (!(err <= (k + 4) * eps * mag)) {
        if (detail) {
          char buf[200];
          std::snprintf(buf, sizeof buf, "%s %dx%dx%d: C[%d,%d] = %.9Lg, expected %.9Lg",
                        sizeof(T) == 4 ? "sgemm" : "dgemm", m, n, k, i, j,
                        (long double)c[std::size_t(i) * n + j], ref);
          *detail = buf;
        }
        return false;
      }
    }
  return true;
}
}  // namespace

bool blas_self_check(std::string* detail) {
  BlasSerialScope serial;  // the way mho calls it
  // Shapes: edge kernels in M and N, the small-matrix direct path, several K blocks (> 512).
  const int shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {33, 17, 29}, {64, 64, 64}, {67, 61, 130}, {129, 30, 700}};
  for (const auto& sh : shapes) {
    if (!check_one<float>(sh[0], sh[1], sh[2], detail)) return false;
    if (!check_one<double>(sh[0], sh[1], sh[2], detail)) return false;
  }
  if (detail) detail->clear();
  return true;
}

double blas_measure_gflops(int m, int n, int k, bool as_mho) {
  RowMat<float> a(m, k), b(k, n), c(m, n);
  for (Eigen::Index i = 0; i < a.size(); ++i) a.data()[i] = float(i % 17) * 0.25f - 2.0f;
  for (Eigen::Index i = 0; i < b.size(); ++i) b.data()[i] = float(i % 13) * 0.125f - 0.75f;
  auto once = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    if (as_mho)
      gemm<float>(a, b, c);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f,
                  c.data(), n);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  once();
  double best = 1e30, spent = 0.0;
  for (int r = 0; r < 200 && (r < 5 || spent < 0.3); ++r) {
    const double t = once();
    best = std::min(best, t);
    spent += t;
  }
  return 2.0 * double(m) * n * k / best * 1e-9;
}

void ensure_blas_kernel(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE")) {
    if (std::getenv("MHO_BLAS_REEXEC") && !blas_self_check()) {
      // Our choice computes wrong results on this CPU: run as OpenBLAS decides.
      unsetenv("OPENBLAS_CORETYPE");
      execv("/proc/self/exe", argv);
    }
    return;
  }
  if (std::getenv("MHO_BLAS_REEXEC") || !blas_kernel_is_generic()) return;
  const std::string want = preferred_blas_kernel();
  if (want.empty()) return;
  setenv("OPENBLAS_CORETYPE", want.c_str(), 1);
  setenv("MHO_BLAS_REEXEC", "1", 1);
  std::fprintf(stderr, "mho: OpenBLAS chose its generic %s kernel on this CPU; restarting with OPENBLAS_CORETYPE=%s\n",
               blas_kernel().c_str(), want.c_str());
  execv("/proc/self/exe", argv);
  unsetenv("OPENBLAS_CORETYPE");  // exec failed: carry on as we are
}

}  // namespace mho
