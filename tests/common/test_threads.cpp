// mho's thread count is its own: a library that lowers OpenMP's default for the calling thread
// (Debian's torch does on import) must not shrink mho's parallel passes.
#include <gtest/gtest.h>
#include <omp.h>

#include "common/threads.h"
#include "crossbar/gemm.h"

namespace mho {
namespace {

int team_size() {
  int size = 0;
#pragma omp parallel num_threads(threads())
  {
#pragma omp single
    size = omp_get_num_threads();
  }
  return size;
}

TEST(Threads, IgnoreOpenMPsPerThreadDefault) {
  const int before = get_num_threads();
  set_num_threads(3);
  omp_set_num_threads(1);  // what `import torch` does to the importing thread here
  EXPECT_EQ(get_num_threads(), 3);
  EXPECT_EQ(team_size(), 3);
  set_num_threads(1);
  EXPECT_EQ(team_size(), 1);
  omp_set_num_threads(before);
  set_num_threads(before);
}

TEST(Threads, OneCountForEveryCallingThread) {
  set_num_threads(3);
  int seen = 0;
#pragma omp parallel num_threads(2)
  {
#pragma omp single
    seen = threads();
  }
  EXPECT_EQ(seen, 3);
  set_num_threads(2);
}

}  // namespace
}  // namespace mho
