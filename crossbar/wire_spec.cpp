#include "crossbar/wire_spec.h"

#include <cmath>
#include <sstream>

#include "common/validate.h"

namespace mho {

void WireSpec::validate() const {
  auto finite = [](const char* f, double v) {
    if (!std::isfinite(v)) reject(f, to_text(v), "must be finite");
  };
  finite("WireSpec.r_row_ohm", r_row_ohm);
  finite("WireSpec.r_col_ohm", r_col_ohm);
  finite("WireSpec.r_driver_ohm", r_driver_ohm);
  finite("WireSpec.r_sense_ohm", r_sense_ohm);
  require_nonnegative("WireSpec.r_row_ohm", r_row_ohm);
  require_nonnegative("WireSpec.r_col_ohm", r_col_ohm);
  if (r_driver_ohm < 0 && r_driver_ohm != -1.0)
    reject("WireSpec.r_driver_ohm", to_text(r_driver_ohm), "must be >= 0, or -1 for one row segment");
  if (r_sense_ohm < 0 && r_sense_ohm != -1.0)
    reject("WireSpec.r_sense_ohm", to_text(r_sense_ohm), "must be >= 0, or -1 for one column segment");
}

std::string WireSpec::repr() const {
  std::ostringstream os;
  os << "WireSpec(r_row_ohm=" << r_row_ohm << ", r_col_ohm=" << r_col_ohm
     << ", r_driver_ohm=" << r_driver_ohm << ", r_sense_ohm=" << r_sense_ohm << ")";
  return os.str();
}

}  // namespace mho
