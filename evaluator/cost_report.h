// CostReport: what the evaluator returns for one system (PIM or digital) and one network.
//
// Every figure is per inference unless its name says otherwise, in SI units: energy in J,
// area in m^2, time in s. Breakdowns keep their order (the report prints them as given).
// TOPS counts 2 operations per MAC. Plain data; safe to copy and share.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace mho {

struct LayerCost {
  int layer = 0;
  std::string name, kind;
  long long macs = 0;
  int arrays = 0;            // PIM arrays (incl. replicas) or digital weight tiles
  int replication = 0;       // PIM: copies of the layer's arrays (0: not on tiles)
  double utilization = 0.0;  // PIM: weight cells / allocated cells; digital: busy MAC slots
  double energy_J = 0.0;
  double latency_s = 0.0;
  // PIM: the layer's share of each component (energy, and area of its arrays and their
  // converters and shift-add units; chip-wide parts such as buffers and digital lanes are in
  // CostReport::area_m2 only) and its latency's ingredients per inference: sensing (read
  // pulses), adc (conversions in sequence on each shared ADC), digital work, buffer and
  // interconnect transfers (evaluator/pipeline.h). Empty for digital.
  std::vector<std::pair<std::string, double>> energy_by_component_J, area_by_component_m2, latency_by_component_s;
  double activity = 0.0;  // PIM: driven rows / biased rows per pass used for the cell and DAC energy
  // Digital: whether the layer's weights sit in the weight storage (else they stream from
  // DRAM; PIM weights are always resident), its DRAM bytes per inference (streamed weights and
  // activations that do not fit the buffer), the tiling its dataflow chose, and its accesses
  // per inference at each level in words (DRAM, global buffer incl. weight storage, PE-to-PE,
  // register file).
  bool weights_resident = true;
  double dram_bytes = 0.0;
  std::string tiling;
  double dram_accesses = 0.0, glb_accesses = 0.0, array_accesses = 0.0, rf_accesses = 0.0;
};

struct CostReport {
  std::string system;  // "pim" or "digital"
  std::string network;
  long long macs = 0;
  int batch = 1;
  std::string dataflow;               // digital only
  double weight_storage_bytes = 0.0;  // digital: on-chip weight SRAM
  double dram_bytes = 0.0;            // per inference, all layers and the network's I/O
  double leakage_W = 0.0;
  std::vector<std::pair<std::string, double>> energy_J;  // per inference, by component
  std::vector<std::pair<std::string, double>> area_m2;   // by component
  double latency_s = 0.0;       // one inference through the whole network
  double throughput_per_s = 0;  // inferences per second in steady state
  double utilization = 0.0;
  std::vector<LayerCost> layers;

  double energy_total_J() const {
    double s = 0;
    for (const auto& e : energy_J) s += e.second;
    return s;
  }
  double energy_per_batch_J() const { return energy_total_J() * batch; }
  double area_total_m2() const {
    double s = 0;
    for (const auto& a : area_m2) s += a.second;
    return s;
  }
  double tops() const { return 2.0 * double(macs) * throughput_per_s / 1e12; }
  double tops_per_w() const { return 2.0 * double(macs) / energy_total_J() / 1e12; }
  double tops_per_mm2() const { return tops() / (area_total_m2() * 1e6); }
};

}  // namespace mho
