// Action counters of a tile: what the periphery did, for the energy model.
//   cell_reads       cells biased during analog passes (active rows x used columns per pass)
//   dac_conversions  row drives (active rows per pass)
//   driven_rows      row drives with a nonzero code: a zero input bit drives no row, so the
//                    drivers' switching energy is theirs (evaluator/pim_cost.h)
//   adc_conversions  column conversions (one per converted column per pass)
//   shift_adds       additions in the digital recombination of planes, slices and signs
//   cell_energy_J()  energy dissipated in the cells, sum over passes of t_read sum_ij V_i I_ij
//                    with V_i the row drive (exact without wires; with wires the cells see
//                   less, so it is an upper bound there); charge accumulation: the energy the
//                    passes draw from V_DD to charge the cells' capacitors, sum over passes of
//                    C_u V_DD^2 sum_ij |n_i| supply_ij (crossbar/charge_domain.h). Accumulated exactly, per pass,
//                    in fixed point (cell_energy_q, units of 2^-100 J), so the total is the
//                    same bits however a stream is split into calls or threads.
//   samples          input vectors processed; forward_calls: calls of forward()
#pragma once

#include <cmath>
#include <cstdint>

namespace mho {

// Energy in exact fixed point: 2^-100 J (8e-31 J) units in 128 bits hold up to 2^27 J
// (1.3e8 J, any study); truncation costs < 1e-13 relative on the smallest pass (> 1e-17 J).
using EnergyQ = __int128;
// Two hardware conversions instead of the library's double -> __int128 (exact: hi * 2^64 and
// the remainder are representable; 0 <= joules < 2^27).
inline EnergyQ energy_q(double joules) {
  const double scaled = joules * 0x1p100;
  const double hi = std::floor(scaled * 0x1p-64);
  return (EnergyQ(std::int64_t(hi)) << 64) + EnergyQ(std::uint64_t(scaled - hi * 0x1p64));
}
inline double energy_J(EnergyQ q) { return double(q) * 0x1p-100; }

struct TileCounters {
  std::uint64_t cell_reads = 0;
  std::uint64_t dac_conversions = 0;
  std::uint64_t driven_rows = 0;
  std::uint64_t adc_conversions = 0;
  std::uint64_t shift_adds = 0;
  EnergyQ cell_energy_q = 0;
  double cell_energy_J() const { return energy_J(cell_energy_q); }
  std::uint64_t samples = 0;
  std::uint64_t forward_calls = 0;

  TileCounters& operator+=(const TileCounters& o) {
    cell_reads += o.cell_reads;
    dac_conversions += o.dac_conversions;
    driven_rows += o.driven_rows;
    adc_conversions += o.adc_conversions;
    shift_adds += o.shift_adds;
    cell_energy_q += o.cell_energy_q;
    samples += o.samples;
    forward_calls += o.forward_calls;
    return *this;
  }
};

}  // namespace mho
