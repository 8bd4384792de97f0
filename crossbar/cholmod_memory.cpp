#include "crossbar/cholmod_memory.h"

#include <SuiteSparse_config.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace mho {

namespace {

constexpr std::size_t kHuge = std::size_t(2) << 20;

struct Mapping {
  void* base;
  std::size_t length;
  std::size_t size;  // bytes asked for
};

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
std::unordered_map<void*, Mapping>& registry() {
  static auto* r = new std::unordered_map<void*, Mapping>();  // outlives static destructors
  return *r;
}

// A 2 MiB-aligned anonymous mapping of at least `size` bytes, or nullptr.
void* map_huge(std::size_t size) {
  const std::size_t rounded = (size + kHuge - 1) / kHuge * kHuge;
  const std::size_t length = rounded + kHuge;
  void* base = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return nullptr;
  const auto b = reinterpret_cast<std::uintptr_t>(base);
  void* p = reinterpret_cast<void*>((b + kHuge - 1) / kHuge * kHuge);
#ifdef MADV_HUGEPAGE
  madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure leaves ordinary pages
#endif
  std::lock_guard<std::mutex> lock(registry_mutex());
  registry()[p] = {base, length, size};
  return p;
}

// Unmaps p if it is one of ours; false otherwise.
bool unmap_if_ours(void* p) {
  Mapping m;
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    auto it = registry().find(p);
    if (it == registry().end()) return false;
    m = it->second;
    registry().erase(it);
  }
  munmap(m.base, m.length);
  return true;
}

std::size_t size_if_ours(void* p) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto it = registry().find(p);
  return it == registry().end() ? 0 : it->second.size;
}

void* hook_malloc(std::size_t size) {
  if (size >= kHuge)
    if (void* p = map_huge(size)) return p;
  return std::malloc(size);
}

void* hook_calloc(std::size_t n, std::size_t size) {
  if (size != 0 && n > SIZE_MAX / size) return nullptr;
  if (n * size >= kHuge)
    if (void* p = map_huge(n * size)) return p;  // the kernel's pages are zero
  return std::calloc(n, size);
}

void hook_free(void* p) {
  if (p && !unmap_if_ours(p)) std::free(p);
}

void* hook_realloc(void* p, std::size_t size) {
  if (!p) return hook_malloc(size);
  // A malloc block stays with malloc (its size is not known here, so it cannot be copied).
  const std::size_t old = size_if_ours(p);
  if (old == 0) return std::realloc(p, size);
  void* q = hook_malloc(size);
  if (!q) return nullptr;
  std::memcpy(q, p, old < size ? old : size);
  unmap_if_ours(p);
  return q;
}

}  // namespace

void install_cholmod_memory() {
  static std::once_flag once;
  std::call_once(once, [] {
    SuiteSparse_config.malloc_func = hook_malloc;
    SuiteSparse_config.calloc_func = hook_calloc;
    SuiteSparse_config.realloc_func = hook_realloc;
    SuiteSparse_config.free_func = hook_free;
  });
}

}  // namespace mho
