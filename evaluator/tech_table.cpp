#include "evaluator/tech_table.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <sstream>

#include "common/regular_file.h"

namespace mho {

namespace {

constexpr double kPico = 1e-12, kUm2 = 1e-12, kNano = 1e-9;

// Every number of the table is a per-action energy (pJ), an area (um^2), a time (ns), a
// capacity (bytes), a resistance or a ratio; 1e15 is beyond any of them (a 1 kJ conversion,
// a 1 m^2 adder) and keeps their products with action counts finite.
constexpr double kMaxTableNumber = 1e15;

struct Reader {
  std::string file;
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw std::invalid_argument("tech table " + file + ": " + key + ": " + what);
  }
  YAML::Node need(const YAML::Node& n, const std::string& parent, const std::string& key) const {
    const std::string path = parent.empty() ? key : parent + "." + key;
    if (!n.IsMap() || !n[key]) fail(path, "missing");
    return n[key];
  }
  double num(const YAML::Node& n, const std::string& parent, const std::string& key) const {
    const std::string path = parent.empty() ? key : parent + "." + key;
    const YAML::Node v = need(n, parent, key);
    try {
      const double d = v.as<double>();
      if (!(d >= 0 && d <= kMaxTableNumber))
        fail(path, to_string(d) + ": must be a finite number in [0, " + to_string(kMaxTableNumber) + "]");
      return d;
    } catch (const YAML::Exception&) {
      fail(path, "'" + (v.IsScalar() ? v.Scalar() : std::string("(not a scalar)")) + "': must be a number");
    }
  }
  std::vector<double> list(const YAML::Node& n, const std::string& parent, const std::string& key,
                           std::size_t size = 0) const {
    const std::string path = parent + "." + key;
    const YAML::Node v = need(n, parent, key);
    if (!v.IsSequence() || v.size() == 0) fail(path, "must be a non-empty list of numbers");
    if (size && v.size() != size) fail(path, "has " + std::to_string(v.size()) + " entries, needs " + std::to_string(size));
    std::vector<double> out;
    for (std::size_t i = 0; i < v.size(); ++i) {
      try {
        out.push_back(v[i].as<double>());
      } catch (const YAML::Exception&) {
        fail(path + "[" + std::to_string(i) + "]", "must be a number");
      }
      if (!(out.back() >= 0 && out.back() <= kMaxTableNumber))
        fail(path + "[" + std::to_string(i) + "]",
             to_string(out.back()) + ": must be a finite number in [0, " + to_string(kMaxTableNumber) + "]");
    }
    return out;
  }
  // A quantity the load divides by or takes the logarithm of: finite, > 0 and <= hi.
  double positive(const YAML::Node& n, const std::string& parent, const std::string& key, double hi) const {
    const std::string path = parent.empty() ? key : parent + "." + key;
    const double d = num(n, parent, key);
    if (!(d > 0 && d <= hi)) fail(path, to_string(d) + ": must be a finite number in (0, " + to_string(hi) + "]");
    return d;
  }
  // Operand or converter resolutions: whole numbers in [1, hi], each listed once (a fraction
  // would be truncated to another resolution's entry).
  std::vector<int> bits(const YAML::Node& n, const std::string& parent, const std::string& key, int hi) const {
    const std::vector<double> v = list(n, parent, key);
    std::vector<int> out;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string at = parent + "." + key + "[" + std::to_string(i) + "]";
      if (!(v[i] >= 1 && v[i] <= hi && v[i] == std::floor(v[i])))
        fail(at, to_string(v[i]) + ": must be a whole number of bits in [1, " + std::to_string(hi) + "]");
      if (std::find(out.begin(), out.end(), int(v[i])) != out.end())
        fail(at, to_string(v[i]) + ": listed twice");
      out.push_back(int(v[i]));
    }
    return out;
  }
  static std::string to_string(double d) {
    std::ostringstream s;
    s << d;
    return s.str();
  }
  std::string text(const YAML::Node& n, const std::string& parent, const std::string& key) const {
    try {
      return need(n, parent, key).as<std::string>();
    } catch (const YAML::Exception&) {
      fail(parent + "." + key, "must be a string");
    }
  }
};

// Far above any table (data/tech.yaml is 7 kB); a larger file is a wrong path.
constexpr std::size_t kMaxTechTableBytes = 16 << 20;

// What YAML readers disagree on, so that the table means what any reader of the text sees:
// a key given twice (yaml-cpp's lookup finds the first, PyYAML keeps the last) and explicit
// tags (`!!binary 5136` is bytes to YAML, but as<double>() reads the digits).
void check_structure(const YAML::Node& n, const std::string& path, const std::string& name) {
  auto fail = [&](const std::string& what) {
    throw std::invalid_argument("tech table " + name + ": " + (path.empty() ? "(top level)" : path) + ": " + what);
  };
  if (n.Tag() != "?" && n.Tag() != "!" && !n.Tag().empty()) fail("YAML tag '" + n.Tag() + "' is not allowed");
  if (n.IsSequence()) {
    for (std::size_t i = 0; i < n.size(); ++i) check_structure(n[i], path + "[" + std::to_string(i) + "]", name);
  } else if (n.IsMap()) {
    std::vector<std::string> keys;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) fail("a key is not a plain name");
      const std::string key = kv.first.Scalar();
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) fail("key '" + key + "' appears twice");
      keys.push_back(key);
      check_structure(kv.second, path.empty() ? key : path + "." + key, name);
    }
  }
}

YAML::Node parse_yaml(const std::string& text, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument("tech table " + name + ": not valid YAML: " + e.what());
  }
  check_structure(root, "", name);
  return root;
}

std::string allowed_bits(const std::map<int, ComponentCost>& m) {
  std::ostringstream s;
  for (auto it = m.begin(); it != m.end(); ++it) s << (it == m.begin() ? "" : ", ") << it->first;
  return s.str();
}

const ComponentCost& by_bits(const std::map<int, ComponentCost>& m, int bits, const std::string& what,
                             const std::string& node) {
  const auto it = m.find(bits);
  if (it == m.end())
    throw std::invalid_argument(what + " bits = " + std::to_string(bits) + ": the " + node +
                                " table has " + allowed_bits(m));
  return it->second;
}

}  // namespace

TechTable TechTable::load(const std::string& path, const std::string& node, const std::string& overlay) {
  std::string text;
  try {
    text = read_regular_file(path, kMaxTechTableBytes, "tech table");
  } catch (const RegularFileMissing&) {
    throw TechFileNotFound("tech table: no such file: " + path);
  }
  return parse(text, path, node, overlay);
}

static TechTable from_yaml(const YAML::Node& root, const std::string& path, const std::string& node);

TechTable TechTable::parse(const std::string& text, const std::string& path, const std::string& node,
                           const std::string& overlay) {
  YAML::Node root = parse_yaml(text, path);
  try {
    if (!overlay.empty()) {
      const YAML::Node over = parse_yaml(overlay, path + " (the design's own figures)");
      if (!over.IsMap()) throw std::invalid_argument("tech table overlay: must map node-table keys (adc, periphery, vdd_V, ...) to values");
      if (!root["nodes"] || !root["nodes"][node])
        return from_yaml(root, path, node);  // names the table's nodes
      YAML::Node n = root["nodes"][node];
      for (const auto& kv : over) {
        const std::string key = kv.first.as<std::string>();
        // Converter types and periphery figures add to (or replace one of) the node's own;
        // any other key replaces the node's.
        if ((key == "adc" || key == "periphery") && kv.second.IsMap() && n[key] && n[key].IsMap()) {
          YAML::Node dst = n[key];
          for (const auto& e : kv.second) dst[e.first.as<std::string>()] = YAML::Clone(e.second);
        } else {
          n[key] = YAML::Clone(kv.second);
        }
      }
    }
    TechTable t = from_yaml(root, path, node);
    t.overlay = overlay;
    return t;
  } catch (const YAML::Exception& e) {
    // A conversion the checks below did not foresee: still a malformed table, not a crash.
    throw std::invalid_argument("tech table " + path + ": malformed: " + e.what());
  }
}

static TechTable from_yaml(const YAML::Node& root, const std::string& path, const std::string& node) {
  Reader r{path};
  TechTable t;
  t.file = path;
  t.node = node;
  if (r.num(root, "", "version") != 1) r.fail("version", "must be 1");

  const YAML::Node nodes = r.need(root, "", "nodes");
  if (!nodes.IsMap()) r.fail("nodes", "must map node names to tables");
  if (!nodes[node]) {
    std::string names;
    for (const auto& kv : nodes) names += (names.empty() ? "" : ", ") + kv.first.as<std::string>();
    throw std::invalid_argument("tech node = '" + node + "': " + path + " has " + names);
  }
  const YAML::Node n = nodes[node];
  const std::string np = "nodes." + node;
  // Generous bounds on the node figures (CMOS nodes are 3-180 nm at 0.5-5 V and <= 10 GHz):
  // they are divisors and scale factors, so 0 or an absurd value would make every cost inf/NaN.
  constexpr double kMaxNodeNm = 1e4, kMaxVdd = 100.0, kMaxClockHz = 1e12;
  t.node_m = r.positive(n, np, "node_nm", kMaxNodeNm) * kNano;
  t.vdd_V = r.positive(n, np, "vdd_V", kMaxVdd);
  t.clock_hz = r.positive(n, np, "clock_hz", kMaxClockHz);

  const YAML::Node sc = r.need(root, "", "scaling");
  const double f0 = r.positive(sc, "scaling", "reference_node_nm", kMaxNodeNm) * kNano,
               v0 = r.positive(sc, "scaling", "reference_vdd_V", kMaxVdd);
  const double v2 = (t.vdd_V / v0) * (t.vdd_V / v0);
  const double logic_e = (t.node_m / f0) * v2, area_s = (t.node_m / f0) * (t.node_m / f0);

  const YAML::Node ref = r.need(root, "", "reference_45nm");
  auto energy_scale = [&](const YAML::Node& e, const std::string& p) {
    const std::string s = r.text(e, p, "scale");
    if (s == "logic") return logic_e;
    if (s == "wire") return v2;
    if (s == "none") return 1.0;
    r.fail(p + ".scale", "'" + s + "' is not one of logic, wire, none");
  };
  for (const char* op : {"add", "mult"}) {
    const std::string p = std::string("reference_45nm.") + op;
    const YAML::Node e = r.need(ref, "reference_45nm", op);
    const auto bits = r.bits(e, p, "bits", 128);
    const auto en = r.list(e, p, "energy_pJ", bits.size()), ar = r.list(e, p, "area_um2", bits.size());
    const double es = energy_scale(e, p);
    auto& m = std::string(op) == "add" ? t.add : t.mult;
    for (std::size_t i = 0; i < bits.size(); ++i) m[bits[i]] = {en[i] * kPico * es, ar[i] * kUm2 * area_s, 0.0};
  }
  {
    const YAML::Node e = r.need(ref, "reference_45nm", "sram_read_64b");
    const std::string p = "reference_45nm.sram_read_64b";
    const auto cap = r.list(e, p, "capacity_bytes");
    if (cap.size() < 2) r.fail(p + ".capacity_bytes", "needs at least 2 capacities to interpolate");
    const auto en = r.list(e, p, "energy_pJ", cap.size());
    const double es = energy_scale(e, p);
    for (std::size_t i = 0; i < cap.size(); ++i) {
      // Interpolated on log scales (sram_J_per_bit): zero has no logarithm.
      if (!(cap[i] > 0)) r.fail(p + ".capacity_bytes[" + std::to_string(i) + "]", "must be > 0");
      if (!(en[i] > 0)) r.fail(p + ".energy_pJ[" + std::to_string(i) + "]", "must be > 0");
      if (i && cap[i] <= cap[i - 1]) r.fail(p + ".capacity_bytes", "must increase");
      t.sram_read_64b.push_back({cap[i], en[i] * kPico * es});
    }
  }
  {
    const YAML::Node e = r.need(ref, "reference_45nm", "wire");
    t.wire_J_per_bit_m = r.num(e, "reference_45nm.wire", "energy_pJ_per_bit_mm") * kPico * 1e3 *
                         energy_scale(e, "reference_45nm.wire");
  }
  {
    const YAML::Node e = r.need(ref, "reference_45nm", "dac_bit");
    t.dac_bit = {r.num(e, "reference_45nm.dac_bit", "energy_pJ") * kPico * energy_scale(e, "reference_45nm.dac_bit"),
                 r.num(e, "reference_45nm.dac_bit", "area_um2") * kUm2 * area_s, 0.0};
  }
  if (root["array_wires"]) {
    t.array_wire_F_per_m = r.num(root["array_wires"], "array_wires", "cap_fF_per_um") * 1e-15 / 1e-6;
    r.text(root["array_wires"], "array_wires", "source");
  }
  t.dram_J_per_bit = r.num(r.need(root, "", "dram"), "dram", "energy_pJ_per_64b") * kPico / 64.0;
  const YAML::Node ey = r.need(root, "", "eyeriss");
  t.rf_access_per_mac = r.num(ey, "eyeriss", "rf_access_per_mac");
  t.pe_to_pe_per_mac = r.num(ey, "eyeriss", "pe_to_pe_per_mac");
  const YAML::Node sc_cell = r.need(root, "", "sram_cell");
  const double eff = r.num(sc_cell, "sram_cell", "array_efficiency");
  if (eff <= 0 || eff > 1) r.fail("sram_cell.array_efficiency", "must be in (0, 1]");
  t.sram_bit_area_m2 = r.num(sc_cell, "sram_cell", "area_F2") * t.node_m * t.node_m / eff;

  for (const auto& kv : r.need(root, "", "cells")) {
    const std::string name = kv.first.as<std::string>(), p = "cells." + name;
    const YAML::Node c = kv.second;
    CellEntry e;
    e.area_F2 = r.num(c, p, "area_F2");
    e.source = r.text(c, p, "source");
    if (c["node_nm"]) e.node_m = r.num(c, p, "node_nm") * kNano;
    if (c["r_on_ohm"]) e.r_on_ohm = r.num(c, p, "r_on_ohm");
    if (c["on_off"]) e.on_off = r.num(c, p, "on_off");
    t.cells[name] = e;
  }

  if (n["leakage"]) {
    const std::string p = np + ".leakage";
    t.sram_leakage_W_per_bit = r.num(n["leakage"], p, "sram_pW_per_bit") * kPico;
    t.logic_leakage_W_per_mac = r.num(n["leakage"], p, "logic_uW_per_mac") * 1e-6;
    r.text(n["leakage"], p, "source");
  }
  if (n["periphery"]) {
    // Flat named figures, the unit in each key's suffix (converted to SI here).
    const std::string p = np + ".periphery";
    const YAML::Node pe = n["periphery"];
    if (!pe.IsMap()) r.fail(p, "must map figure names to numbers (and a source)");
    static const std::vector<std::pair<std::string, double>> units = {
        {"_fF_per_um", 1e-9}, {"_ohm_per_um", 1e6}, {"_fJ", 1e-15}, {"_pJ", 1e-12}, {"_um2", 1e-12}, {"_um", 1e-6}, {"_ns", 1e-9},
        {"_nW", 1e-9},        {"_pW", 1e-12}, {"_fF", 1e-15}, {"_ohm", 1.0},  {"_ratio", 1.0}};
    for (const auto& kv : pe) {
      const std::string key = kv.first.as<std::string>();
      if (key == "source") continue;
      double scale = 0;
      for (const auto& u : units)
        if (key.size() > u.first.size() && key.compare(key.size() - u.first.size(), u.first.size(), u.first) == 0) {
          scale = u.second;
          break;
        }
      if (scale == 0) r.fail(p + "." + key, "the name must end in a unit: _fJ _pJ _um2 _um _ns _nW _pW _fF _fF_per_um _ohm _ohm_per_um _ratio");
      t.periphery[key] = r.num(pe, p, key) * scale;
    }
    r.text(pe, p, "source");
  }
  const YAML::Node adcs = r.need(n, np, "adc");
  if (!adcs.IsMap() || adcs.size() == 0) r.fail(np + ".adc", "must map ADC types to tables");
  for (const auto& kv : adcs) {
    const std::string type = kv.first.as<std::string>(), p = np + ".adc." + type;
    const auto bits = r.bits(kv.second, p, "bits", 24);  // AdcSpec.bits <= 24
    const auto en = r.list(kv.second, p, "energy_pJ", bits.size());
    const auto ar = r.list(kv.second, p, "area_um2", bits.size());
    const auto tm = r.list(kv.second, p, "time_ns", bits.size());
    r.text(kv.second, p, "source");
    for (std::size_t i = 0; i < bits.size(); ++i)
      t.adc[type][bits[i]] = {en[i] * kPico, ar[i] * kUm2, tm[i] * kNano};
  }
  return t;
}

const ComponentCost& TechTable::adc_cost(const std::string& type, int bits) const {
  const auto it = adc.find(type);
  if (it == adc.end()) {
    std::string names;
    for (const auto& kv : adc) names += (names.empty() ? "" : ", ") + kv.first;
    throw std::invalid_argument("adc type = '" + type + "': the " + node + " table has " + names);
  }
  return by_bits(it->second, bits, "ADC (" + type + ")", node);
}

double TechTable::periphery_figure(const std::string& name, const std::string& needed_by) const {
  const auto it = periphery.find(name);
  if (it == periphery.end())
    throw std::invalid_argument(needed_by + " needs the figure nodes." + node + ".periphery." + name +
                                ", which the tech table " + file + " does not give");
  return it->second;
}

const ComponentCost& TechTable::add_cost(int bits) const { return by_bits(add, bits, "adder", node); }
ComponentCost TechTable::adder(int bits) const {
  if (bits < 1) throw std::invalid_argument("adder bits = " + std::to_string(bits) + ": must be >= 1");
  if (add.empty()) throw std::invalid_argument("adder bits = " + std::to_string(bits) + ": the " + node + " table has no adders");
  const auto hi = add.lower_bound(bits);
  if (hi != add.end() && hi->first == bits) return hi->second;
  auto scaled = [&](const std::pair<const int, ComponentCost>& e) {
    const double k = double(bits) / e.first;
    return ComponentCost{e.second.energy_J * k, e.second.area_m2 * k, 0.0};
  };
  if (hi == add.begin()) return scaled(*hi);
  if (hi == add.end()) return scaled(*std::prev(hi));
  const auto lo = std::prev(hi);
  const double u = double(bits - lo->first) / (hi->first - lo->first);
  return {lo->second.energy_J + u * (hi->second.energy_J - lo->second.energy_J),
          lo->second.area_m2 + u * (hi->second.area_m2 - lo->second.area_m2), 0.0};
}

const ComponentCost& TechTable::mult_cost(int bits) const { return by_bits(mult, bits, "multiplier", node); }

ComponentCost TechTable::dac_cost(int bits) const {
  if (bits < 1) throw std::invalid_argument("DAC bits = " + std::to_string(bits) + ": must be >= 1");
  return {bits * dac_bit.energy_J, bits * dac_bit.area_m2, 0.0};
}

double TechTable::sram_J_per_bit(double capacity_bytes) const {
  const auto& s = sram_read_64b;
  const double c = std::clamp(capacity_bytes, s.front().first, s.back().first);
  std::size_t i = 1;
  while (i + 1 < s.size() && s[i].first < c) ++i;
  const auto& a = s[i - 1];
  const auto& b = s[i];
  const double u = std::log(c / a.first) / std::log(b.first / a.first);
  return std::exp(std::log(a.second) + u * (std::log(b.second) - std::log(a.second))) / 64.0;
}

}  // namespace mho
