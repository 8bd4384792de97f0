// Shift-and-add: the digital recombination of planes and slices, out += coeff * in, where
// coeff = +-2^shift (a shift in hardware; a power-of-two scale here, which is exact in
// floating point). Returns the number of additions performed, for the action counters.
#pragma once

#include <cstdint>

#include <Eigen/Dense>

namespace mho {

template <typename Out, typename In>
std::uint64_t shift_add_into(Eigen::MatrixBase<Out>& out, const Eigen::MatrixBase<In>& in,
                             double coeff) {
  using S = typename Out::Scalar;
  out.derived() += (in.template cast<S>() * S(coeff));
  return std::uint64_t(in.size());
}

}  // namespace mho
