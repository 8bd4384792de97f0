#include <pybind11/stl.h>

#include "bindings/bindings.h"
#include "bindings/convert.h"
#include "bindings/spec_binder.h"
#include "evaluator/digital_cost.h"
#include "evaluator/periphery.h"
#include "evaluator/pim_cost.h"
#include "evaluator/pipeline.h"
#include "nets/pim_network.h"

namespace mho::bindings {

namespace {

py::dict component(const ComponentCost& c) {
  return py::dict(py::arg("energy_J") = c.energy_J, py::arg("area_m2") = c.area_m2, py::arg("time_s") = c.time_s);
}

py::dict actions_dict(const LayerActions& a) {
  py::dict d;
  d["layer"] = a.layer; d["name"] = a.name; d["kind"] = a.kind; d["macs"] = a.macs;
  d["on_tiles"] = a.on_tiles; d["arrays"] = a.arrays; d["replication"] = a.replication;
  d["utilization"] = a.utilization; d["cell_reads"] = a.cell_reads;
  d["dac_conversions"] = a.dac_conversions; d["adc_conversions"] = a.adc_conversions;
  d["shift_adds"] = a.shift_adds; d["cell_energy_J"] = a.cell_energy_measured ? py::object(py::float_(a.cell_energy_J)) : py::none();
  d["acc_adds"] = a.acc_adds; d["act_adds"] = a.act_adds;
  d["act_mults"] = a.act_mults; d["buffer_read_bits"] = a.buffer_read_bits;
  d["buffer_write_bits"] = a.buffer_write_bits; d["sequential_passes"] = a.sequential_passes;
  d["conversions_per_adc"] = a.conversions_per_adc;
  d["activity"] = a.activity_measured ? py::object(py::float_(a.activity)) : py::none();
  d["shift_add_bits"] = a.shift_add_bits; d["partial_sum_bits"] = a.partial_sum_bits;
  return d;
}

}  // namespace

void bind_evaluator(py::module_& m) {
  py::register_exception<TechFileNotFound>(m, "TechFileNotFound", PyExc_FileNotFoundError);

  py::class_<TechTable> techTable_cls(m, "TechTable", "Per-action energies and component areas of one node. See evaluator/tech_table.h.");
  techTable_cls
      .def_static("load", [](py::handle path, py::handle node, py::handle overlay) {
        return TechTable::load(to_path(path, "TechTable.load(path)"), to_string(node, "TechTable.load(node)"),
                               to_string(overlay, "TechTable.load(overlay)"));
      }, py::arg("path"), py::arg("node"), py::arg("overlay") = "",
      "overlay: a design's own figures at the node, YAML text in the node-table format (evaluator/tech_table.h)")
      .def_readonly("file", &TechTable::file)
      .def_readonly("node", &TechTable::node)
      .def_readonly("overlay", &TechTable::overlay, "the design's own figures (tech.components) as YAML text; '' if none")
      .def_readonly("node_m", &TechTable::node_m)
      .def_readonly("vdd_V", &TechTable::vdd_V)
      .def_readonly("clock_hz", &TechTable::clock_hz)
      .def_readonly("wire_J_per_bit_m", &TechTable::wire_J_per_bit_m)
      .def_readonly("dram_J_per_bit", &TechTable::dram_J_per_bit)
      .def_readonly("sram_bit_area_m2", &TechTable::sram_bit_area_m2)
      .def_readonly("rf_access_per_mac", &TechTable::rf_access_per_mac)
      .def_readonly("pe_to_pe_per_mac", &TechTable::pe_to_pe_per_mac)
      .def_readonly("sram_leakage_W_per_bit", &TechTable::sram_leakage_W_per_bit)
      .def_readonly("logic_leakage_W_per_mac", &TechTable::logic_leakage_W_per_mac)
      .def("adc_types", [](const TechTable& t) {
        std::vector<std::string> v;
        for (const auto& kv : t.adc) v.push_back(kv.first);
        return v;
      })
      .def("adc_bits", [](const TechTable& t, const std::string& type) {
        if (!t.adc.count(type)) t.adc_cost(type, 1);  // throws ValueError naming the table's types
        std::vector<int> v;
        for (const auto& kv : t.adc.at(type)) v.push_back(kv.first);
        return v;
      }, py::arg("type"))
      .def("adc", [](const TechTable& t, const std::string& type, int bits) { return component(t.adc_cost(type, bits)); },
           py::arg("type"), py::arg("bits"))
      .def("add", [](const TechTable& t, int bits) { return component(t.add_cost(bits)); }, py::arg("bits"))
      .def("mult", [](const TechTable& t, int bits) { return component(t.mult_cost(bits)); }, py::arg("bits"))
      .def("dac", [](const TechTable& t, int bits) { return component(t.dac_cost(bits)); }, py::arg("bits"))
      .def("sram_J_per_bit", &TechTable::sram_J_per_bit, py::arg("capacity_bytes"))
      .def("periphery", [](const TechTable& t) { return t.periphery; },
           "the node's named periphery figures in SI units (evaluator/periphery.h)");
  m.def("msa_column_power_W", &msa_column_power_W, py::arg("r_ohm"), py::arg("levels"),
        "NeuroSim V1.4's 22 nm fitted column-path power of a multilevel sense amplifier (evaluator/periphery.h)");
  m.def("msa_conversion_time_s", &msa_conversion_time_s, py::arg("r_on_ohm"), py::arg("rows"), py::arg("levels"));
  m.def("msa_reference_power_W", &msa_reference_power_W, py::arg("r_on_ohm"), py::arg("rows"), py::arg("levels"),
        py::arg("shared_by"));
  reject_other_static_calls(techTable_cls, "load", "TechTable.load(path: str, node: str, overlay: str = '')");
  reject_other_calls(techTable_cls, "adc_bits", "TechTable.adc_bits(type: str)");
  reject_other_calls(techTable_cls, "adc", "TechTable.adc(type: str, bits: int)");
  for (const char* f : {"add", "mult", "dac"})
    reject_other_calls(techTable_cls, f, std::string("TechTable.") + f + "(bits: int)");
  reject_other_calls(techTable_cls, "sram_J_per_bit", "TechTable.sram_J_per_bit(capacity_bytes: float)");

  SpecBinder<PimSystemSpec>(m, "PimSystemSpec", "System around the tiles (converter type, buffers, digital). See evaluator/pim_cost.h.")
      .field("adc_type", &PimSystemSpec::adc_type, "ADC architecture in the tech table ('sar', 'flash', 'sense_amp') or 'multilevel_sa' (NeuroSim's formula)")
      .field("activation_bits", &PimSystemSpec::activation_bits, "activation word width in buffers and digital ops")
      .field("accumulator_bits", &PimSystemSpec::accumulator_bits, "shift-and-add and partial-sum width")
      .field("digital_lanes", &PimSystemSpec::digital_lanes, "digital ops per clock")
      .field("pipeline_layers", &PimSystemSpec::pipeline_layers, "layers pipelined (throughput = slowest layer)")
      .field("offchip_io", &PimSystemSpec::offchip_io, "input and output through DRAM")
      .field("batch", &PimSystemSpec::batch, "inferences per batch")
      .field("input_activity", &PimSystemSpec::input_activity,
             "driven rows / biased rows per pass for shape estimates (0.5: a bit of a uniform code)")
      .field("layer_activity", &PimSystemSpec::layer_activity, "per network layer activity (empty: input_activity)")
      .field("row_driver", &PimSystemSpec::row_driver, "'dac' (1-bit DAC per row) | 'switch_matrix' (NeuroSim's)")
      .field("column_mux", &PimSystemSpec::column_mux, "'none' | 'transmission_gate' (columns_per_adc:1 mux + decoder)")
      .field("write_voltage_V", &PimSystemSpec::write_voltage_V, "cell write voltage; > 1.5 V lays out level shifters")
      .field("accumulation", &PimSystemSpec::accumulation, "'adder' (table adders) | 'adder_register' (ripple adder + DFF at real widths)")
      .field("buffer_type", &PimSystemSpec::buffer_type, "'sram' | 'register_file' (DFF)")
      .field("buffer_levels", &PimSystemSpec::buffer_levels, "buffer levels each input bit passes (global, tile, PE)")
      .field("interconnect", &PimSystemSpec::interconnect, "'distance' (table wire energy) | 'xy_bus' (repeated wires, toggle rates)")
      .field("tile_interconnect", &PimSystemSpec::tile_interconnect,
             "'none' | 'htree' (H-trees inside the tiles: area, energy, latency; evaluator/interconnect.h)")
      .field("tile_bus_width_bits", &PimSystemSpec::tile_bus_width_bits,
             "htree: wires from a tile's root (0: the tile's rows, tile_row_arrays x rows)")
      .field("tile_routing_layers", &PimSystemSpec::tile_routing_layers,
             "htree: metal layers over the tiles free for the tree's wires (0: every wire in a track of its own)")
      .field("repeater_delay_tolerance", &PimSystemSpec::repeater_delay_tolerance,
             "xy_bus / htree: delay allowed above delay-optimal repeaters to save energy (0: delay-optimal)")
      .field("input_toggle", &PimSystemSpec::input_toggle, "xy_bus: fraction of input bits that toggle")
      .field("output_toggle", &PimSystemSpec::output_toggle, "xy_bus: fraction of output bits that toggle")
      .field("area_model", &PimSystemSpec::area_model, "'parts' (sum of components) | 'layout_box' (each array's layout box)")
      .field("cell_aspect", &PimSystemSpec::cell_aspect, "cell width / height in the layout")
      .field("clock_hz", &PimSystemSpec::clock_hz, "clock of buffers, bus and digital logic, Hz (0: the tech table's)")
      .field("synchronous", &PimSystemSpec::synchronous,
             "one chip clock, no faster than a conversion; reads and conversions in whole clocks")
      .field("buffer_line_bits", &PimSystemSpec::buffer_line_bits, "bits per buffer line (one line per port per clock)")
      .field("buffer_lines_per_clock", &PimSystemSpec::buffer_lines_per_clock, "buffer lines read or written per clock")
      .field("bus_width_bits", &PimSystemSpec::bus_width_bits, "chip bus width, bits per clock (xy_bus: its wires, area)")
      .field("tile_row_arrays", &PimSystemSpec::tile_row_arrays, "tile level: arrays per tile along the weight rows")
      .field("tile_col_arrays", &PimSystemSpec::tile_col_arrays, "tile level: arrays per tile along the weight columns")
      .field("layer_tile_row_arrays", &PimSystemSpec::layer_tile_row_arrays,
             "tile design per conv/linear layer, in order: arrays per tile along the weight rows (empty: tile_row_arrays)")
      .field("layer_tile_col_arrays", &PimSystemSpec::layer_tile_col_arrays,
             "tile design per conv/linear layer, in order: arrays per tile along the weight columns (empty: tile_col_arrays)")
      .field("tile_buffer_line_bits", &PimSystemSpec::tile_buffer_line_bits, "tile level: bits per tile buffer line")
      .field("tile_input_lines_per_clock", &PimSystemSpec::tile_input_lines_per_clock,
             "tile level: input buffer lines moved per clock (its cores)")
      .field("tile_output_lines_per_clock", &PimSystemSpec::tile_output_lines_per_clock,
             "tile level: output buffer lines moved per clock (its cores)")
      .field("replication", &PimSystemSpec::replication,
             "'given' (layer_replication, or 1 copy each) | 'auto' (balanced pipeline within area_budget_mm2)")
      .field("layer_replication", &PimSystemSpec::layer_replication, "copies per conv/linear layer, in order (empty: 1 each)")
      .field("area_budget_mm2", &PimSystemSpec::area_budget_mm2, "chip area that replication 'auto' may fill, mm2")
      .finish();

  SpecBinder<DigitalSpec>(m, "DigitalSpec", "Digital accelerator (PE array, buffers, weight storage, dataflow). See evaluator/digital_cost.h.")
      .field("pe_rows", &DigitalSpec::pe_rows, "MAC array rows")
      .field("pe_cols", &DigitalSpec::pe_cols, "MAC array columns")
      .field("bits", &DigitalSpec::bits, "operand precision")
      .field("accumulator_bits", &DigitalSpec::accumulator_bits, "accumulator width")
      .field("rf_bytes_per_pe", &DigitalSpec::rf_bytes_per_pe, "register file per PE, bytes")
      .field("glb_bytes", &DigitalSpec::glb_bytes, "global buffer, bytes")
      .field("dram_bandwidth_Bps", &DigitalSpec::dram_bandwidth_Bps, "DRAM bandwidth, bytes/s")
      .field("digital_lanes", &DigitalSpec::digital_lanes, "ops per clock for non-MAC layers")
      .field("batch", &DigitalSpec::batch, "inferences per batch (streamed weights fetched once per batch)")
      .field("dataflow", &DigitalSpec::dataflow, "'weight_stationary' | 'output_stationary' | 'row_stationary'")
      .field("weight_storage", &DigitalSpec::weight_storage,
             "'auto' (sized to the network, at most weight_storage_budget_bytes) | 'fixed' | 'none'")
      .field("weight_storage_bytes", &DigitalSpec::weight_storage_bytes, "on-chip weight SRAM, bytes ('fixed')")
      .field("weight_storage_budget_bytes", &DigitalSpec::weight_storage_budget_bytes,
             "largest weight SRAM 'auto' sizes, bytes")
      .finish();

  py::class_<LayerCost>(m, "LayerCost")
      .def_readonly("layer", &LayerCost::layer)
      .def_readonly("name", &LayerCost::name)
      .def_readonly("kind", &LayerCost::kind)
      .def_readonly("macs", &LayerCost::macs)
      .def_readonly("arrays", &LayerCost::arrays)
      .def_readonly("replication", &LayerCost::replication)
      .def_readonly("utilization", &LayerCost::utilization)
      .def_readonly("energy_J", &LayerCost::energy_J)
      .def_readonly("latency_s", &LayerCost::latency_s)
      .def_readonly("energy_by_component_J", &LayerCost::energy_by_component_J)
      .def_readonly("area_by_component_m2", &LayerCost::area_by_component_m2)
      .def_readonly("latency_by_component_s", &LayerCost::latency_by_component_s)
      .def_readonly("activity", &LayerCost::activity)
      .def_readonly("weights_resident", &LayerCost::weights_resident)
      .def_readonly("dram_bytes", &LayerCost::dram_bytes)
      .def_readonly("tiling", &LayerCost::tiling)
      .def_readonly("dram_accesses", &LayerCost::dram_accesses)
      .def_readonly("glb_accesses", &LayerCost::glb_accesses)
      .def_readonly("array_accesses", &LayerCost::array_accesses)
      .def_readonly("rf_accesses", &LayerCost::rf_accesses);

  py::class_<CostReport>(m, "CostReport", "Energy, area, latency of one system. See evaluator/cost_report.h.")
      .def_readonly("system", &CostReport::system)
      .def_readonly("network", &CostReport::network)
      .def_readonly("macs", &CostReport::macs)
      .def_readonly("batch", &CostReport::batch)
      .def_readonly("dataflow", &CostReport::dataflow)
      .def_readonly("weight_storage_bytes", &CostReport::weight_storage_bytes)
      .def_readonly("dram_bytes", &CostReport::dram_bytes)
      .def_readonly("leakage_W", &CostReport::leakage_W)
      .def_readonly("energy_J", &CostReport::energy_J)
      .def_readonly("area_m2", &CostReport::area_m2)
      .def_readonly("latency_s", &CostReport::latency_s)
      .def_readonly("throughput_per_s", &CostReport::throughput_per_s)
      .def_readonly("utilization", &CostReport::utilization)
      .def_readonly("layers", &CostReport::layers)
      .def_property_readonly("energy_total_J", &CostReport::energy_total_J)
      .def_property_readonly("energy_per_batch_J", &CostReport::energy_per_batch_J)
      .def_property_readonly("area_total_m2", &CostReport::area_total_m2)
      .def_property_readonly("tops", &CostReport::tops)
      .def_property_readonly("tops_per_w", &CostReport::tops_per_w)
      .def_property_readonly("tops_per_mm2", &CostReport::tops_per_mm2);

  m.def("shape_actions", [](const Network& n, const Mapping& mp, int bits) {
    py::list l;
    for (const LayerActions& a : shape_actions(n, mp, bits)) l.append(actions_dict(a));
    return l;
  }, py::arg("network"), py::arg("mapping"), py::arg("activation_bits") = 8,
     "Per-inference action counts of each layer, from shapes (see evaluator/actions.h).");
  reject_other_calls(m, "shape_actions", "shape_actions(network: Network, mapping: Mapping, activation_bits: int = 8)");

  m.def("system_replication", [](py::handle n_obj, py::handle sp_obj, py::handle t_obj, py::handle s_obj,
                                 const std::map<int, TileSpec>& layer_specs, const std::set<int>& digital) {
    return system_replication(to_object<Network>(n_obj, "system_replication(network)"),
                              to_object<TileSpec>(sp_obj, "system_replication(spec)"),
                              to_object<TechTable>(t_obj, "system_replication(tech)"),
                              to_object<PimSystemSpec>(s_obj, "system_replication(system)"),
                              LayerHardware{layer_specs, digital});
  }, py::arg("network"), py::arg("spec"), py::arg("tech"), py::arg("system"),
     py::arg("layer_specs") = std::map<int, TileSpec>(), py::arg("digital") = std::set<int>(),
     "{layer index: copies} the system's replication asks for (see evaluator/pipeline.h).");
  reject_other_calls(m, "system_replication",
                     "system_replication(network: Network, spec: TileSpec, tech: TechTable, system: PimSystemSpec, "
                     "layer_specs: dict[int, TileSpec] = {}, digital: set[int] = set())");
  m.def("evaluate_pim", [](py::handle n_obj, py::handle mp_obj, py::handle t_obj, py::handle s_obj) {
    const Network& n = to_object<Network>(n_obj, "evaluate_pim(network)");
    const Mapping& mp = to_object<Mapping>(mp_obj, "evaluate_pim(mapping)");
    const TechTable& t = to_object<TechTable>(t_obj, "evaluate_pim(tech)");
    const PimSystemSpec& s = to_object<PimSystemSpec>(s_obj, "evaluate_pim(system)");
    return evaluate_pim(n, mp, shape_actions(n, mp, s.activation_bits), t, s);
  }, py::arg("network"), py::arg("mapping"), py::arg("tech"), py::arg("system") = PimSystemSpec(),
     "Cost of a mapped network, action counts from layer shapes.");
  m.def("evaluate_pim_measured", [](py::handle p_obj, py::handle t_obj, py::handle s_obj) {
    const PimNetwork& pim = to_object<PimNetwork>(p_obj, "evaluate_pim_measured(pim)");
    const TechTable& t = to_object<TechTable>(t_obj, "evaluate_pim_measured(tech)");
    const PimSystemSpec& s = to_object<PimSystemSpec>(s_obj, "evaluate_pim_measured(system)");
    const auto acts = measured_actions(pim.network(), pim.mapping(), s.activation_bits, pim.layer_counters(),
                                       pim.inferences());
    return evaluate_pim(pim.network(), pim.mapping(), acts, t, s);
  }, py::arg("pim"), py::arg("tech"), py::arg("system") = PimSystemSpec(),
     "Cost of a PimNetwork with the tile actions (and cells' energy) counted since its last program().");
  // Counts made outside a PimNetwork (mho.torch's converted models): per layer index, a dict
  // with PimNetwork.counters' keys.
  m.def("evaluate_pim_counted", [](py::handle n_obj, py::handle mp_obj, py::handle t_obj, py::handle s_obj,
                                   py::handle counts_obj, py::handle inferences_obj) {
    const Network& n = to_object<Network>(n_obj, "evaluate_pim_counted(network)");
    const Mapping& mp = to_object<Mapping>(mp_obj, "evaluate_pim_counted(mapping)");
    const TechTable& t = to_object<TechTable>(t_obj, "evaluate_pim_counted(tech)");
    const PimSystemSpec& s = to_object<PimSystemSpec>(s_obj, "evaluate_pim_counted(system)");
    if (!py::isinstance<py::dict>(counts_obj))
      throw py::type_error("evaluate_pim_counted(counts): expected a dict {layer index: counters dict}, got " +
                           describe(counts_obj));
    std::map<int, TileCounters> per_layer;
    for (auto item : py::reinterpret_borrow<py::dict>(counts_obj)) {
      const int layer = to_integer<int>(item.first, "evaluate_pim_counted(counts) key");
      const std::string what = "evaluate_pim_counted(counts[" + std::to_string(layer) + "])";
      if (!py::isinstance<py::dict>(item.second))
        throw py::type_error(what + ": expected a dict of counters, got " + describe(item.second));
      const auto d = py::reinterpret_borrow<py::dict>(item.second);
      TileCounters c;
      const std::pair<const char*, std::uint64_t*> ints[] = {{"cell_reads", &c.cell_reads},
                                                             {"driven_rows", &c.driven_rows},
                                                             {"dac_conversions", &c.dac_conversions},
                                                             {"adc_conversions", &c.adc_conversions},
                                                             {"shift_adds", &c.shift_adds}};
      for (const auto& [key, field] : ints) {
        if (!d.contains(key)) throw py::value_error(what + ": missing '" + key + "'");
        *field = to_integer<std::uint64_t>(d[key], what + "['" + key + "']");
      }
      if (!d.contains("cell_energy_J")) throw py::value_error(what + ": missing 'cell_energy_J'");
      const double e = to_double(d["cell_energy_J"], what + "['cell_energy_J']");
      if (!(e >= 0.0 && e < 0x1p27))
        throw py::value_error(what + "['cell_energy_J'] = " + std::to_string(e) + ": must be in [0, 2**27) J");
      c.cell_energy_q = energy_q(e);
      per_layer[layer] = c;
    }
    const auto inferences = to_integer<long long>(inferences_obj, "evaluate_pim_counted(inferences)");
    return evaluate_pim(n, mp, measured_actions(n, mp, s.activation_bits, per_layer, inferences), t, s);
  }, py::arg("network"), py::arg("mapping"), py::arg("tech"), py::arg("system"), py::arg("counts"),
     py::arg("inferences"), "Cost of a mapped network with tile actions counted elsewhere (totals over `inferences`).");
  reject_other_calls(m, "evaluate_pim_counted",
                     "evaluate_pim_counted(network: Network, mapping: Mapping, tech: TechTable, system: PimSystemSpec, "
                     "counts: dict[int, dict], inferences: int)");
  m.def("evaluate_digital", [](py::handle n, py::handle t, py::handle d) {
    return evaluate_digital(to_object<Network>(n, "evaluate_digital(network)"), to_object<TechTable>(t, "evaluate_digital(tech)"),
                            to_object<DigitalSpec>(d, "evaluate_digital(spec)"));
  }, py::arg("network"), py::arg("tech"), py::arg("spec") = DigitalSpec());
  reject_other_calls(m, "evaluate_pim", "evaluate_pim(network: Network, mapping: Mapping, tech: TechTable, system: PimSystemSpec = PimSystemSpec())");
  reject_other_calls(m, "evaluate_pim_measured", "evaluate_pim_measured(pim: PimNetwork, tech: TechTable, system: PimSystemSpec = PimSystemSpec())");
  reject_other_calls(m, "evaluate_digital", "evaluate_digital(network: Network, tech: TechTable, spec: DigitalSpec = DigitalSpec())");
}

}  // namespace mho::bindings
