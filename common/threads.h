// The thread count of mho's own OpenMP passes, kept apart from OpenMP's per-thread default.
//
// Why: OpenMP's default count (nthreads-var) belongs to each calling thread and any library in
// the process may set it. Debian's torch sets it to its own choice when imported (1 on this
// project's 2-vCPU machines), which silently made every mho pass single-threaded in the
// thread that imported torch. So every mho parallel region names its count explicitly:
//   #pragma omp parallel for num_threads(mho::threads())
//
// Contract: threads() is set_threads(n)'s last n for the whole process (all calling threads);
// before any call, OMP_NUM_THREADS's first value when set and valid, else the number of
// processors OpenMP sees. Results never depend on it (each pass splits its work in fixed
// shapes). Thread-safe: an atomic read and write.
#pragma once

namespace mho {

int threads();
void set_threads(int n);  // n in [1, 1024]; the caller validates

}  // namespace mho
