// libFuzzer harness for the model reader (nets/model_file.h), from bytes in memory.
//
// Built twice by run_libfuzzer.sh: as model_reader_fuzzer the input is a whole file and goes
// through load_model_from_bytes (the integrity check first, then libhdf5 only for files
// that pass it or that have no block); with MHO_FUZZ_PARSER (model_parser_fuzzer) it goes
// straight to the HDF5 parser behind the check, as a verified file would, so that mutations
// reach libhdf5 and mho's validation of what it returns. A clean rejection is
// std::invalid_argument; anything else (a crash, a sanitizer report, another exception,
// a leak, a timeout) is a finding.
//
// Not covered by the reader harness: inputs that start with the HDF5 signature, i.e. files
// without an integrity block (written before it existed). Those are parsed by libhdf5
// unverified, including variable-length strings, and libhdf5 1.10 hangs or crashes on some
// damaged ones (H5HG_read) before mho's code gets control; mho warns when it reads such a
// file and `mho model-migrate` removes the risk. model_parser_fuzzer shows what libhdf5
// does with damaged bytes.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "nets/model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
#ifndef MHO_FUZZ_PARSER
  if (bytes.compare(0, 8, "\x89HDF\r\n\x1a\n") == 0) return 0;
#endif
  mho::ModelInfo info;
  try {
#ifdef MHO_FUZZ_PARSER
    mho::parse_model_unverified(bytes, "fuzz-input", &info);
#else
    mho::load_model_from_bytes(bytes, "fuzz-input", &info);
#endif
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
