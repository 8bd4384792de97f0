// TechTable: the per-action energies and per-component areas of one technology node, read
// from a YAML table (data/tech.yaml documents the format, the sources and the scaling rule).
//
// Units inside are SI: joules per action, m^2 per component, seconds, hertz. Entries given at
// the 45 nm reference are scaled on load: logic/SRAM energy by (F/45nm)(Vdd/0.9V)^2, wire
// energy by (Vdd/0.9V)^2, area by (F/45nm)^2. Lookups of a size or resolution the table does
// not hold throw std::invalid_argument naming what is allowed. Immutable after load; safe to
// share between threads.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace mho {

struct ComponentCost {
  double energy_J = 0.0;  // per action
  double area_m2 = 0.0;   // per component
  double time_s = 0.0;    // per action (converters); 0 where not applicable
};

// A memory cell technology's reference figures (data/tech.yaml `cells`); 0 where not given.
struct CellEntry {
  double node_m = 0.0, r_on_ohm = 0.0, on_off = 0.0, area_F2 = 0.0;
  std::string source;
};

struct TechTable {
  std::string file, node;  // where it came from
  std::string overlay;     // the design's own figures it was edited by (YAML text; empty: none)
  double node_m = 0.0, vdd_V = 0.0, clock_hz = 0.0;
  std::map<std::string, std::map<int, ComponentCost>> adc;  // type -> bits -> cost
  std::map<int, ComponentCost> add, mult;                   // operand bits -> cost
  std::vector<std::pair<double, double>> sram_read_64b;     // (capacity bytes, J per 64-bit read)
  double wire_J_per_bit_m = 0.0;
  double array_wire_F_per_m = 0.0;  // word/bit-line capacitance (optional `array_wires`; 0 without)
  double dram_J_per_bit = 0.0;
  ComponentCost dac_bit;  // one bit of a row driver; a b-bit DAC costs b times
  double sram_bit_area_m2 = 0.0;
  double rf_access_per_mac = 1.0, pe_to_pe_per_mac = 2.0;  // Eyeriss ratios
  // Static power of the node (its optional `leakage` entry; 0 where the table has none).
  double sram_leakage_W_per_bit = 0.0, logic_leakage_W_per_mac = 0.0;
  std::map<std::string, CellEntry> cells;
  // Named periphery figures of the node (its optional `periphery` entry), in SI units: the
  // selectable components of evaluator/periphery.h read them by name.
  std::map<std::string, double> periphery;

  // Throws FileNotFound-style std::runtime_error for a missing file (message names it) and
  // std::invalid_argument naming the key for a malformed one or an unknown node.
  // Regular files only (a FIFO never blocks), at most 16 MiB.
  // `overlay`: a design's own figures at the node (see parse).
  static TechTable load(const std::string& path, const std::string& node, const std::string& overlay = "");
  // The same from a table's text; `path` names it in messages. `overlay` (YAML text, may be
  // empty) is a design's own figures at `node`, in the node-table format: its `adc` types and
  // `periphery` figures add to or replace the node's, any other key replaces the node's; the
  // result is checked as a whole, as a table file is.
  static TechTable parse(const std::string& text, const std::string& path, const std::string& node,
                         const std::string& overlay = "");

  const ComponentCost& adc_cost(const std::string& type, int bits) const;
  const ComponentCost& add_cost(int bits) const;
  // An adder of any width >= 1: energy and area linear in the width between the table's
  // widths (a ripple-carry adder switches and occupies one full adder per bit; Horowitz's
  // 8/16/32-bit figures are close to linear), proportional to the nearest entry outside them.
  ComponentCost adder(int bits) const;
  const ComponentCost& mult_cost(int bits) const;
  ComponentCost dac_cost(int bits) const;
  // periphery[name]; std::invalid_argument naming the figure and `needed_by` if absent.
  double periphery_figure(const std::string& name, const std::string& needed_by) const;
  // Energy per bit read (or written) of an SRAM of `capacity_bytes`.
  double sram_J_per_bit(double capacity_bytes) const;
};

// Thrown when a table file does not exist (Python: FileNotFoundError).
struct TechFileNotFound : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace mho
