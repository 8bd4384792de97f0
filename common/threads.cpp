#include "common/threads.h"

#include <omp.h>

#include <atomic>
#include <cstdlib>

namespace mho {

namespace {
int initial_threads() {
  // OMP_NUM_THREADS may be a list ("4,2" for nested levels); its first entry is the top level's.
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && n >= 1 && n <= 1024) return int(n);
  }
  const int procs = omp_get_num_procs();
  return procs >= 1 ? procs : 1;
}

std::atomic<int>& count() {
  static std::atomic<int> n{initial_threads()};
  return n;
}
}  // namespace

int threads() { return count().load(std::memory_order_relaxed); }

void set_threads(int n) { count().store(n, std::memory_order_relaxed); }

}  // namespace mho
