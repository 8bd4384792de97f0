// The BLAS behind every product (Debian's OpenBLAS, built for every x86-64 kernel and picking
// one when it loads) and the rules mho holds it to.
//
// Reproducibility: a multi-threaded OpenBLAS call divides M and N among its threads, and where
// a thread's share ends decides which outputs go through the main or the edge micro-kernels,
// which round differently. So mho never lets OpenBLAS thread a call of its own: its products
// run as fixed-shape single-threaded calls that mho parallelises itself (crossbar/gemm.h).
// BlasSerialScope holds OpenBLAS at one thread while any of them runs.
//
// Kernel choice: OpenBLAS 0.3.21 does not know recent CPUs (e.g. Sapphire Rapids Xeons) and
// falls back to its generic Prescott kernels, ~4x slower. The kernel is fixed when the library
// loads, from OPENBLAS_CORETYPE, so it must be chosen before: the Python package does that on
// import (python/mho/_blas.py), C++ programs by ensure_blas_kernel() at the top of main().
// A kernel named in the environment always wins. Different kernels round differently: results
// are bit-identical on one kernel, statistically equivalent across kernels (README).
#pragma once

#include <string>

namespace mho {

// Holds OpenBLAS at one thread for its lifetime; nested and concurrent scopes are fine (the
// previous setting comes back when the last one ends). Process-wide: other threads' BLAS
// calls meanwhile run single-threaded too.
class BlasSerialScope {
 public:
  BlasSerialScope();
  ~BlasSerialScope();
  BlasSerialScope(const BlasSerialScope&) = delete;
  BlasSerialScope& operator=(const BlasSerialScope&) = delete;
};

// The OpenBLAS kernel (OPENBLAS_CORETYPE name) that suits this CPU's instructions:
// "SkylakeX" with AVX-512 (F, BW, DQ, VL, CD), "Zen" on AMD and "Haswell" elsewhere with
// AVX2 + FMA, "" (let OpenBLAS decide) otherwise.
std::string preferred_blas_kernel();

// What OpenBLAS is running: its build configuration and the kernel it chose.
std::string blas_config();
std::string blas_kernel();
bool blas_kernel_is_generic();  // Prescott/Core2/Atom/... while the CPU has AVX2

// Compares sgemm and dgemm on awkward shapes (edge kernels, the direct small-matrix path,
// several K blocks) with a long-double product; false and a description if any element is
// off by more than the rounding bound k * eps * sum |a||b| (a few ulps of slack).
bool blas_self_check(std::string* detail = nullptr);

// Best-of-several float32 GFLOP/s of an m x n x k product: as mho runs it (gemm(): fixed
// single-threaded calls on mho's threads) or as one call threaded by OpenBLAS (numpy's way).
double blas_measure_gflops(int m, int n, int k, bool as_mho);

// For C++ programs: if OPENBLAS_CORETYPE is unset and OpenBLAS chose a generic kernel where
// the CPU has a better one, re-executes the program with OPENBLAS_CORETYPE set to it (once;
// if the re-executed program's self-check fails, it runs again without). No effect otherwise.
void ensure_blas_kernel(char** argv);

}  // namespace mho
