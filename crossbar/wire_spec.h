// WireSpec: the wire parasitics of a crossbar array, in ohms.
//
// Topology (shared/ARCHITECTURE.md): row i is driven by an ideal source at its column-0 end
// through r_driver; row segments of r_row join the cell nodes along the row; cell (i, j)
// joins row node (i, j) to column node (i, j); column segments of r_col join the nodes down
// a column; the last node reaches the 0 V sense node through r_sense. r_driver and r_sense
// default (< 0) to one row and one column segment. Any resistance may be 0 (a short).
// All zero means no parasitics.
#pragma once

#include <string>

namespace mho {

struct WireSpec {
  double r_row_ohm = 0.0;
  double r_col_ohm = 0.0;
  double r_driver_ohm = -1.0;  // < 0: r_row_ohm
  double r_sense_ohm = -1.0;   // < 0: r_col_ohm

  double driver() const { return r_driver_ohm < 0 ? r_row_ohm : r_driver_ohm; }
  double sense() const { return r_sense_ohm < 0 ? r_col_ohm : r_sense_ohm; }
  bool active() const { return r_row_ohm > 0 || r_col_ohm > 0 || driver() > 0 || sense() > 0; }
  // Some resistance is 0: nodes merge.
  bool has_short() const { return r_row_ohm == 0 || r_col_ohm == 0 || driver() == 0 || sense() == 0; }

  void validate() const;
  std::string repr() const;
};

}  // namespace mho
