// Memory for SuiteSparse (CHOLMOD) allocations.
//
// A 256x256 factor is ~30 MB that CHOLMOD allocates and first touches on every factorization;
// in 4 KiB pages the kernel's page faults cost about as much as the arithmetic. Blocks of
// 2 MiB and more are therefore mapped on their own, 2 MiB-aligned and advised as transparent
// huge pages (one fault per 2 MiB where the kernel allows it; ordinary pages otherwise).
// Smaller blocks, and blocks allocated before the hooks were installed, stay with malloc: the
// hooks recognize their own mappings, so installing them is safe at any time. Fresh mappings
// are zero-filled by the kernel, so calloc of a large block costs no memset.
// Thread-safety: every hook is safe to call concurrently; install is idempotent.
#pragma once

namespace mho {

// Points SuiteSparse_config's allocation hooks at these functions (once per process).
void install_cholmod_memory();

}  // namespace mho
