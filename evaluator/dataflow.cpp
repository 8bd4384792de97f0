#include "evaluator/dataflow.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "common/validate.h"

namespace mho {

namespace {

double cdiv(double a, double b) { return std::ceil(a / b); }

std::string whole(double v) { return std::to_string((long long)v); }

// 1, 2, 4, ... up to the first power of two >= hi (so hi itself is covered by the ceil-divs).
std::vector<double> powers_up_to(double hi) {
  std::vector<double> v{1};
  while (v.back() < hi) v.push_back(v.back() * 2);
  return v;
}

struct Best {
  DataflowCounts counts;
  double energy = std::numeric_limits<double>::infinity();
  bool found = false;
  void offer(const DataflowCounts& c, const std::function<double(const DataflowCounts&)>& e) {
    const double x = e(c);
    if (!found || x < energy) {
      counts = c;
      energy = x;
      found = true;
    }
  }
};

void weight_stationary(const ConvDims& d, const ArraySpec& a, Best& best,
                       const std::function<double(const DataflowCounts&)>& energy) {
  const double K = d.C * d.R * d.S, V = d.N * d.E * d.F, macs = d.macs(), Wn = K * d.M;
  const double rt = cdiv(K, a.pe_rows), ct = cdiv(d.M, a.pe_cols);
  if (a.word_bits > a.rf_bits) return;  // a PE holds at least its weight
  // Partial sums wait in the buffer between row tiles only when there are several.
  for (double v = V;; v = std::ceil(v / 2)) {
    const bool fits = rt == 1 || v * std::min<double>(d.M, a.pe_cols) * a.psum_bits <= a.psum_glb_bits;
    if (fits) {
      const double nb = cdiv(V, v);
      DataflowCounts c;
      c.weights = {Wn * nb, 0, Wn * nb, macs};
      c.inputs = {0, V * K * ct, macs, 0};
      c.psums = {0, 2 * V * d.M * (rt - 1), macs, 0};
      c.outputs = V * d.M;
      c.weight_passes = nb;
      // Per weight load: pe_rows cycles to shift it in, pe_rows + pe_cols to fill and drain.
      c.cycles = rt * ct * (nb * (2.0 * a.pe_rows + a.pe_cols) + V);
      c.tiling = "v=" + whole(v);
      best.offer(c, energy);
    }
    if (v <= 1) break;
  }
}

void output_stationary(const ConvDims& d, const ArraySpec& a, Best& best,
                       const std::function<double(const DataflowCounts&)>& energy) {
  const double K = d.C * d.R * d.S, V = d.N * d.E * d.F, macs = d.macs(), Wn = K * d.M;
  const double ot = cdiv(V, a.pe_rows);
  for (double p : powers_up_to(cdiv(d.M, a.pe_cols))) {
    if (p * a.psum_bits + (p > 1 ? a.word_bits : 0) > a.rf_bits) break;
    const double ct = cdiv(d.M, a.pe_cols * p);
    DataflowCounts c;
    c.weights = {Wn * ot, 0, macs, 0};
    c.inputs = {0, V * K * ct, macs / p, p > 1 ? macs : 0};
    c.psums = {0, 0, 0, 2 * macs};
    c.outputs = V * d.M;
    c.weight_passes = ot;
    c.cycles = ot * ct * (K * p + a.pe_rows + a.pe_cols);
    c.tiling = "p=" + whole(p);
    best.offer(c, energy);
  }
}

void row_stationary(const ConvDims& d, const ArraySpec& a, Best& best,
                    const std::function<double(const DataflowCounts&)>& energy) {
  const double macs = d.macs(), Wn = d.M * d.C * d.R * d.S;
  const double Rc = cdiv(d.R, a.pe_rows), Rh = cdiv(d.R, Rc);
  const double e = std::min<double>(d.E, a.pe_cols), Es = cdiv(d.E, e);
  const double sets = std::floor(a.pe_rows / Rh) * std::floor(a.pe_cols / e);
  // Input rows a strip of e output rows reads, over all strips (at most the whole input).
  const double rows = std::min(d.H * Rc, Es * ((e - 1) * d.U + d.R));
  const double w_row = (d.F - 1) * d.U + d.S;
  for (double p : powers_up_to(d.M))
    for (double q : powers_up_to(d.C)) {
      if ((p * q * d.S + q * d.S) * a.word_bits + p * a.psum_bits > a.rf_bits) continue;
      const double t = std::min(sets, cdiv(d.M, p));
      const double r = std::max(1.0, std::min(std::floor(sets / t), cdiv(d.C, q)));
      const double fp = cdiv(d.M, p * t), cp = cdiv(d.C, q * r);
      for (double n : powers_up_to(d.N)) {
        const double ib = cdiv(d.N, n);
        const bool waits = cp * Rc > 1;
        if (waits && n * p * t * e * d.F * a.psum_bits > a.psum_glb_bits) break;
        DataflowCounts c;
        c.weights = {Wn * Es * ib, 0, Wn * d.E * ib, macs};
        c.inputs = {0, fp * d.N * d.C * d.W * rows, d.N * d.C * d.E * d.R * w_row * cdiv(d.M, p), macs};
        c.psums = {0, 2 * d.N * d.M * d.E * d.F * (cp * Rc - 1), d.N * d.M * d.E * d.F * d.R * cdiv(d.C, q), 2 * macs};
        c.outputs = d.N * d.M * d.E * d.F;
        c.weight_passes = Es * ib;
        // Each PE performs p q S F MACs (over its share of the filter rows) per row pass.
        c.cycles = fp * cp * Rc * Es * d.N * p * q * (d.S * d.F);
        c.tiling = "p=" + whole(p) + " q=" + whole(q) + " n=" + whole(n);
        best.offer(c, energy);
        if (!waits && n >= d.N) break;
      }
    }
}

}  // namespace

const std::vector<std::string>& dataflow_names() {
  static const std::vector<std::string> n = {"weight_stationary", "output_stationary", "row_stationary"};
  return n;
}

DataflowCounts dataflow_counts(const std::string& dataflow, const ConvDims& d, const ArraySpec& a,
                               const std::function<double(const DataflowCounts&)>& energy) {
  Best best;
  if (dataflow == "weight_stationary") weight_stationary(d, a, best, energy);
  else if (dataflow == "output_stationary") output_stationary(d, a, best, energy);
  else if (dataflow == "row_stationary") row_stationary(d, a, best, energy);
  else require_one_of("DigitalSpec.dataflow", dataflow, dataflow_names());
  if (!best.found)
    throw std::invalid_argument("DigitalSpec.rf_bytes_per_pe = " + to_text(a.rf_bits / 8) + ": no " + dataflow +
                                " tiling fits the register file (needs at least one accumulator and, for "
                                "row_stationary, one filter row and input window)");
  return best.counts;
}

}  // namespace mho
