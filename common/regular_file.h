// Whole-file reads for input files (model files, tech tables): regular files only, opened so
// that a FIFO or device never blocks, with a size cap, and read with plain reads so that a
// checksum can be verified before any parser sees the bytes.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace mho {

// The file does not exist (callers turn this into their own not-found error).
struct RegularFileMissing : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The bytes of `path`. Throws RegularFileMissing if it does not exist, std::invalid_argument
// "<what> <path>: <problem>" if it is not a regular file, is larger than max_bytes, or cannot
// be read.
std::string read_regular_file(const std::string& path, std::size_t max_bytes, const std::string& what);

}  // namespace mho
