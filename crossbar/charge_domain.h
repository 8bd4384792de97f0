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
  // levels' rows x columns: the charge a cell draws from the V_DD supply per pass at unit drive
  // level, in units of C_u V_DD (see the energy model below).
  Eigen::MatrixXd supply;
};

// Energy model (the supply energy of one pass; the cells' share of TileCounters'
// cell energy). Every capacitor starts the pass empty (the reset dumps what the last pass
// stored, drawing nothing), and whatever charge Q reaches a capacitor from the V_DD rail draws
// Q V_DD from the supply however it gets there (half stored, half dissipated in the switch
// for a step charge): a pass draws V_DD x (the charge the rail delivers). Charging a
// capacitor C to V_DD n l takes C V_DD n l, so the energy is LINEAR in the drive level n
// (C V V_DD with V proportional to n; not the n^2 of a resistive cell's G V^2 t: one charging
// event per pass, not a current flowing for t_read). With a drive level n < 1 as a voltage
// level, the charge is taken to come from the V_DD rail through the drive (the DAC's own
// energy is the DAC's). A negative drive charges from a rail at -V_DD: |n|.
//   "bitline_sharing" / "binary_weighted": each cell's capacitors are charged in isolation
//   and then share their charge with the supply disconnected, which draws nothing more:
//   supply = q (its charge at full drive, mismatch included). The line itself has no
//   capacitance of its own in this model (c_line_F is the cells' sum): the shared line's
//   wire is charged by the sharing, not from the supply.
//   "c2c": nodes N_0 (LSB) .. N_{b-1} (the output), a termination of 1 unit from N_0 to
//   ground, bit k's branch capacitor (1 unit, its mismatch the same draw as in m) from N_k
//   to its driver at V_DD n bit_k, 2 units in series between N_k and N_{k+1} (so every node
//   looks into 2 units toward the LSB end and the output sits behind 2 units). Starting
//   empty, the floating nodes hold zero net charge, which fixes their voltages (a tridiagonal
//   solve); driver k delivers Q_k = C_k (V_DD n bit_k - V_k) and supply = sum_k Q_k over the
//   drivers at V_DD (the others are tied to ground, which costs nothing). This is the ladder
//   charged with its output floating. When the ladders then share on the line with their
//   drivers held (which m assumes), the drivers move more charge: exactly
//   C_th sum_i (V_i - V_j)^2 more for 1-bit drives (V_i cell i's open-circuit output, V_j the
//   line, C_th = 2 C_u), which depends on the whole column per pass and is NOT counted, so
//   the c2c figure is a lower bound, exact when a column's outputs are equal.

// Nominal line volts per unit of sum_i n_i l_ij for stored levels l of level_max on a column of
// `rows` cells: V_DD / (rows L), or V_DD / (rows 2^b) for a C-2C ladder of b bits.
double charge_level_volts(const CapSpec& cap, int rows, int level_max);

// levels: stored levels (integers 0 .. level_max, or in [0, 1] for analog weights with
// level_max = 1) of the programmed rows; rows: the cells on each line (>= levels.rows()).
ChargeArray charge_array(const CapSpec& cap, const Eigen::MatrixXd& levels, int rows, int level_max,
                         bool mismatch, const StreamKey& key);

// The mean of a cell's `supply` over its stored levels 0 .. level_max taken uniformly
// (analog cells: levels 0 and 1, the range's ends, by symmetry the same mean as uniform in
// [0, 1] for the linear schemes), nominal capacitors, units of C_u V_DD: the shape estimate
// of a driven cell's charge (evaluator/pim_cost.h).
double charge_mean_supply_units(const CapSpec& cap, int level_max);

// Charge (units of C_u V_DD) the drivers at V_DD deliver to a C-2C ladder of `bits` stages with
// branch capacitors branch[0 .. bits) (units of C_u) holding `code`, output floating.
double c2c_supply_units(const double* branch, int bits, unsigned code);

// Variance of the thermal (kT/C) noise sampled on a line of capacitance c_line_F, V^2.
double ktc_variance_V2(const CapSpec& cap, double c_line_F);

}  // namespace mho
