// The charge-sharing array of a charge-domain tile (TileSpec.accumulation = "charge"; the
// capacitor schemes are described in crossbar/cap_spec.h).
//
// Why a matrix: the capacitance on a line does not depend on the inputs (every cell's
// capacitor shares charge, charged or not), so the settled line voltage
//   V_j = V_DD sum_i n_i q_ij / c_j,   c_j = sum over all rows of the cells' capacitances,
// (n_i the drive level of row i, q_ij the charge cell (i, j) holds at full drive in units of
// C_u V_DD, c_j in units of C_u) is the product of the drives with m_ij = V_DD q_ij / c_j,
// exactly, with every capacitor's mismatch inside q and c. Mismatch is drawn once per
// programming per capacitor, keyed by (row, physical column, bit) as cell errors are
// (devices/cell_model.h), so it depends neither on order nor on threads.
#pragma once

#include <Eigen/Dense>

#include "common/random_stream.h"
#include "crossbar/cap_spec.h"

namespace mho {

struct ChargeArray {
  Eigen::MatrixXd m;         // levels' rows x columns: line volts per unit drive level
  Eigen::VectorXd c_line_F;  // per column: the capacitance on the line, F
};

// Nominal line volts per unit of sum_i n_i l_ij for stored levels l of level_max on a column of
// `rows` cells: V_DD / (rows L), or V_DD / (rows 2^b) for a C-2C ladder of b bits.
double charge_level_volts(const CapSpec& cap, int rows, int level_max);

// levels: stored levels (integers 0 .. level_max, or in [0, 1] for analog weights with
// level_max = 1) of the programmed rows; rows: the cells on each line (>= levels.rows()).
ChargeArray charge_array(const CapSpec& cap, const Eigen::MatrixXd& levels, int rows, int level_max,
                         bool mismatch, const StreamKey& key);

// Variance of the thermal (kT/C) noise sampled on a line of capacitance c_line_F, V^2.
double ktc_variance_V2(const CapSpec& cap, double c_line_F);

}  // namespace mho
