// GoogleTest main for mho's suites: the BLAS kernel is settled (crossbar/blas_runtime.h)
// before any test runs, as in every mho program.
#include <gtest/gtest.h>

#include "common/allocator.h"
#include "crossbar/blas_runtime.h"

int main(int argc, char** argv) {
  mho::ensure_blas_kernel(argv);
  mho::keep_freed_memory();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
