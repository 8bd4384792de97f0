// Allocator policy for mho's processes: keep freed memory for reuse instead of returning it
// to the kernel at once.
//
// Why: a study allocates and frees the same large arrays (im2col patches, drive levels,
// currents; tens of MB) for every layer of every batch. glibc serves blocks above its mmap
// threshold with fresh mappings and trims the heap top as soon as it is freed, so each
// allocation is paid again in page faults and page zeroing: 630,000 faults and a fifth of
// the run time in a 12-task LeNet-5 sweep, and worse with two worker processes on two cores
// (both zero pages through the same memory bus). Keeping freed blocks cut the faults 17x.
//
// keep_freed_memory() raises glibc's mmap and trim thresholds (mallopt), unless glibc's
// malloc tunables are set in the environment (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_,
// MALLOC_TOP_PAD_ or GLIBC_TUNABLES: the user's choice, left alone) and even_if_set is false.
// even_if_set is for processes whose environment someone else chose: Dask's nanny starts every
// worker with MALLOC_TRIM_THRESHOLD_=65536 (distributed.nanny.pre-spawn-environ), which made
// each sweep task twice as slow. The cost: a process's resident memory stays near its peak.
// Thread-safe.
#pragma once

namespace mho {

// Returns true if the policy is now in force (false: left to the environment's tunables).
bool keep_freed_memory(bool even_if_set = false);

}  // namespace mho
