// Dac: turns a batch of inputs into stacked analog passes ("planes").
//
// Contract: encode() writes, for each plane k and sample b, the normalized drive level
// n in [0, 1] (or [-1, 1] for bipolar) of every row into row k*B + b of the output, so one
// matrix product serves all planes. Input is recovered as x = sum_k multiplier(k) * n_k
// (exactly, up to the code's rounding). Thread-safe (const).
#pragma once

#include <vector>

#include <Eigen/Dense>

#include "adc_dac/dac_spec.h"

namespace mho {

struct DacPlane {
  int shift_bits;  // weight 2^shift_bits in the code
  int sign;        // +1, or -1 for the negative pass of "two_pass"
  int pass;        // 0: positive (or only) pass, 1: negative pass
};

class Dac {
 public:
  explicit Dac(DacSpec spec);
  const DacSpec& spec() const { return spec_; }

  const std::vector<DacPlane>& planes() const { return planes_; }
  int num_planes() const { return int(planes_.size()); }
  // Largest code of one plane (the level n = 1); 1 for the ideal DAC.
  int plane_max_code() const { return plane_max_; }
  int max_code() const { return max_code_; }
  // Input units represented by level 1.0 of plane k, for range x_max.
  double multiplier(int k, double x_max) const;
  bool is_ideal() const { return spec_.input_bits == 0; }

  // Range from data: the spec's percentile of |x| (1.0 for all-zero data).
  template <typename T>
  double calibrated_range(const Eigen::Ref<const Eigen::Matrix<T, -1, -1, Eigen::RowMajor>>& x) const;

  template <typename T>
  void encode(const Eigen::Ref<const Eigen::Matrix<T, -1, -1, Eigen::RowMajor>>& x, double x_max,
              Eigen::Matrix<T, -1, -1, Eigen::RowMajor>& levels) const;

 private:
  DacSpec spec_;
  std::vector<DacPlane> planes_;
  int plane_max_ = 1;
  int max_code_ = 1;
};

}  // namespace mho
