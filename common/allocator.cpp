#include "common/allocator.h"

#include <malloc.h>

#include <cstdlib>
#include <mutex>

namespace mho {

namespace {
// glibc's largest mmap threshold settable through mallopt on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX,
// mallopt(3)); blocks above it are still mapped and unmapped.
constexpr int kMmapThreshold = 32 << 20;
// Freed memory at the heap top is returned only beyond this much.
constexpr int kTrimThreshold = 1 << 30;
}  // namespace

bool keep_freed_memory(bool even_if_set) {
  static std::mutex mutex;
  static bool done = false;
  const std::lock_guard<std::mutex> lock(mutex);
  if (done) return true;
  if (!even_if_set)
    for (const char* v : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES"})
      if (std::getenv(v)) return false;
  done = mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1;
  return done;
}

}  // namespace mho
