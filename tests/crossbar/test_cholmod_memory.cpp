#include <gtest/gtest.h>

#include <SuiteSparse_config.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "crossbar/cholmod_memory.h"

namespace mho {
namespace {

constexpr std::size_t kMiB = std::size_t(1) << 20;

bool huge_aligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % (2 * kMiB) == 0; }

// Blocks that did not come from the hooks (e.g. allocated before they were installed) go back
// to malloc.
TEST(CholmodMemory, ForeignBlocksAreFreedByMalloc) {
  install_cholmod_memory();
  SuiteSparse_free(std::malloc(5 * kMiB));
  SuiteSparse_free(std::malloc(100));
  SUCCEED();
}

TEST(CholmodMemory, LargeBlocksAreHugePageAlignedAndCallocIsZero) {
  install_cholmod_memory();
  auto* z = static_cast<unsigned char*>(SuiteSparse_calloc(3 * kMiB + 7, 1));
  ASSERT_NE(z, nullptr);
  EXPECT_TRUE(huge_aligned(z));
  for (std::size_t i = 0; i < 3 * kMiB + 7; i += 4093) ASSERT_EQ(z[i], 0) << i;
  SuiteSparse_free(z);
  void* small = SuiteSparse_malloc(1000, 8);  // stays with malloc
  ASSERT_NE(small, nullptr);
  SuiteSparse_free(small);
}

TEST(CholmodMemory, ReallocKeepsTheContents) {
  install_cholmod_memory();
  const std::size_t n = 3 * kMiB / sizeof(int);
  int ok = 0;
  auto* p = static_cast<int*>(SuiteSparse_malloc(n, sizeof(int)));
  ASSERT_NE(p, nullptr);
  for (std::size_t i = 0; i < n; ++i) p[i] = int(i * 2654435761u);
  p = static_cast<int*>(SuiteSparse_realloc(2 * n, n, sizeof(int), p, &ok));  // grows
  ASSERT_TRUE(ok);
  for (std::size_t i = 0; i < n; i += 97) ASSERT_EQ(p[i], int(i * 2654435761u)) << i;
  p = static_cast<int*>(SuiteSparse_realloc(n / 4, 2 * n, sizeof(int), p, &ok));  // shrinks
  ASSERT_TRUE(ok);
  for (std::size_t i = 0; i < n / 4; i += 97) ASSERT_EQ(p[i], int(i * 2654435761u)) << i;
  SuiteSparse_free(p);
  // A malloc block grown past the threshold.
  auto* q = static_cast<char*>(SuiteSparse_malloc(100, 1));
  std::memset(q, 7, 100);
  q = static_cast<char*>(SuiteSparse_realloc(4 * kMiB, 100, 1, q, &ok));
  ASSERT_TRUE(ok);
  EXPECT_EQ(q[99], 7);
  SuiteSparse_free(q);
}

}  // namespace
}  // namespace mho
