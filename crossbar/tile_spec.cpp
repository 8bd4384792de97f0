#include "crossbar/tile_spec.h"

#include <sstream>

#include "common/validate.h"

namespace mho {

TileSpec TileSpec::ideal(int rows, int cols) {
  TileSpec s;
  s.rows = rows;
  s.cols = cols;
  s.weight_bits = 0;
  s.dac.input_bits = 0;
  s.adc.bits = 0;
  s.dac.signed_mode = "bipolar";  // an ideal bipolar driver: one pass for signed inputs
  s.programming_error = s.read_noise = s.drift = s.stuck_at = s.nonlinear_iv = false;
  return s;
}

void TileSpec::validate() const {
  require_in("TileSpec.rows", rows, 1, 65536);
  require_in("TileSpec.cols", cols, 1, 65536);
  require_in("TileSpec.weight_bits", weight_bits, 0, 16);
  require_in("TileSpec.bits_per_cell", bits_per_cell, 0, 16);
  require_one_of("TileSpec.weight_scale", weight_scale, {"per_tensor", "per_column"});
  require_one_of("TileSpec.encoding", encoding, {"differential", "offset"});
  require_one_of("TileSpec.subtract", subtract, {"analog", "digital"});
  require_one_of("TileSpec.read_noise_method", read_noise_method, {"aggregate", "per_cell"});
  require_one_of("TileSpec.drift_compensation", drift_compensation, {"none", "global", "per_column"});
  require_one_of("TileSpec.accumulation", accumulation, {"current", "charge"});
  cell.validate();
  cap.validate();
  dac.validate();
  adc.validate();
  if (weight_bits > 0 && bits_per_cell > cell.bits)
    reject("TileSpec.bits_per_cell", to_text(bits_per_cell),
           "must be <= the cell's bits (" + to_text(cell.bits) + " for '" + cell.name + "')");
  wires.validate();
  if (wires.active() && nonlinear_iv && cell.iv != "linear")
    reject("TileSpec.nonlinear_iv", "true",
           "a nonlinear ('" + cell.iv + "') cell with wire resistance is not supported; set "
           "nonlinear_iv=False or zero wire resistance");
  if (wires.active() && read_noise && read_noise_method == "per_cell")
    reject("TileSpec.read_noise_method", "'per_cell'",
           "the per-cell reference path does not model wire resistance; use 'aggregate'");
  if (accumulation == "charge") {
    if (wires.active())
      reject("TileSpec.wires", wires.repr(), "charge accumulation does not model wire resistance; use WireSpec()");
    if (drift_compensation != "none")
      reject("TileSpec.drift_compensation", "'" + drift_compensation + "'",
             "capacitors do not drift: use 'none' with accumulation='charge'");
    if (weight_bits == 0 && cap.scheme != "bitline_sharing")
      reject("TileSpec.cap.scheme", "'" + cap.scheme + "'",
             "stores bits of a level code: needs weight_bits > 0 (analog weights: 'bitline_sharing')");
  }
  if (encoding == "offset" && weight_bits == 1)
    reject("TileSpec.weight_bits", "1", "offset encoding needs weight_bits >= 2 (or 0)");
}

std::string TileSpec::repr() const {
  std::ostringstream os;
  os << std::boolalpha << "TileSpec(rows=" << rows << ", cols=" << cols << ", weight_bits=" << weight_bits
     << ", bits_per_cell=" << bits_per_cell << ", weight_scale='" << weight_scale
     << "', encoding='" << encoding << "', subtract='" << subtract << "', accumulation='" << accumulation
     << "', cap=" << cap.repr() << ", cell='" << cell.name
     << "', dac=" << dac.repr() << ", adc=" << adc.repr()
     << ", programming_error=" << programming_error << ", read_noise=" << read_noise
     << ", drift=" << drift << ", stuck_at=" << stuck_at << ", nonlinear_iv=" << nonlinear_iv
     << ", wires=" << wires.repr() << ", drift_compensation='" << drift_compensation << "', read_noise_method='"
     << read_noise_method << "', seed=" << seed << ")";
  return os.str();
}

}  // namespace mho
