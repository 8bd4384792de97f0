#include "crossbar/wire_spec.h"

#include <sstream>

#include "common/validate.h"

namespace mho {

void WireSpec::validate() const {
  // A wire segment of an array is 0.1-10 ohm (NeuroSim's Cu interconnect at 22-90 nm pitch);
  // 1 Gohm is an open circuit next to any cell (<= 1/g_min), and below 1 nohm 1/r overflows
  // the nodal matrix's scale (1/5e-324 = inf): 0 stands for a short.
  constexpr double kMinOhm = 1e-9, kMaxOhm = 1e9;
  auto check = [&](const char* f, double v, const char* default_text) {
    const bool ok = v == 0.0 || (v >= kMinOhm && v <= kMaxOhm) || (default_text && v == -1.0);
    if (!ok)
      reject(f, to_text(v),
             std::string("must be ") + (default_text ? default_text : "") + "0 (a short) or a finite number in [" +
                 to_text(kMinOhm) + ", " + to_text(kMaxOhm) + "] ohm");
  };
  check("WireSpec.r_row_ohm", r_row_ohm, nullptr);
  check("WireSpec.r_col_ohm", r_col_ohm, nullptr);
  check("WireSpec.r_driver_ohm", r_driver_ohm, "-1 (one row segment), ");
  check("WireSpec.r_sense_ohm", r_sense_ohm, "-1 (one column segment), ");
}std::string WireSpec::repr() const {
  std::ostringstream os;
  os << "WireSpec(r_row_ohm=" << r_row_ohm << ", r_col_ohm=" << r_col_ohm
     << ", r_driver_ohm=" << r_driver_ohm << ", r_sense_ohm=" << r_sense_ohm << ")";
  return os.str();
}

}  // namespace mho
