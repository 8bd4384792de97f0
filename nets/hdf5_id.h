// RAII for HDF5 identifiers: the reader, the writer and the fuzz harnesses close what they open.
#pragma once

#include <hdf5.h>

namespace mho {

struct Id {
  hid_t id;
  herr_t (*close)(hid_t);
  Id(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  ~Id() {
    if (id >= 0) close(id);
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  operator hid_t() const { return id; }
};

}  // namespace mho
