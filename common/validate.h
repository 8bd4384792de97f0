// Helpers that reject bad spec values with a message naming the field, the value and what
// is allowed. They throw std::invalid_argument, which Python sees as ValueError.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace mho {

template <typename T>
std::string to_text(const T& v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

[[noreturn]] inline void reject(const std::string& field, const std::string& value,
                                const std::string& allowed) {
  throw std::invalid_argument(field + " = " + value + ": " + allowed);
}

template <typename T>
void require_in(const std::string& field, T v, T lo, T hi) {
  if (!(v >= lo && v <= hi))
    reject(field, to_text(v), "must be in [" + to_text(lo) + ", " + to_text(hi) + "]");
}

// The one check of a floating-point spec field: finite and within [lo, hi] (lo_open: (lo, hi]).
// NaN fails every comparison and infinity exceeds every finite hi, so both are rejected with a
// message naming the field, the value and the range. Every float field has a finite hi where
// an overflow is reachable; each caller cites why its bounds are physically generous.
inline void require_finite_in(const std::string& field, double v, double lo, double hi,
                              bool lo_open = false) {
  const bool ok = (lo_open ? v > lo : v >= lo) && v <= hi;
  if (!ok)
    reject(field, to_text(v),
           "must be a finite number in " + std::string(lo_open ? "(" : "[") + to_text(lo) + ", " +
               to_text(hi) + "]");
}

// (0, hi]: a positive finite quantity.
inline void require_finite_positive(const std::string& field, double v, double hi) {
  require_finite_in(field, v, 0.0, hi, true);
}

template <typename T>
void require_positive(const std::string& field, T v) {
  if (!(v > T(0))) reject(field, to_text(v), "must be > 0");
}

template <typename T>
void require_nonnegative(const std::string& field, T v) {
  if (!(v >= T(0))) reject(field, to_text(v), "must be >= 0");
}

inline void require_one_of(const std::string& field, const std::string& v,
                           const std::vector<std::string>& allowed) {
  for (const auto& a : allowed)
    if (a == v) return;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + ("'" + a + "'");
  reject(field, "'" + v + "'", "must be one of " + list);
}

}  // namespace mho

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace mho {

// True if no element is NaN or infinite. Tests the exponent bits as integers, which
// vectorises (a floating-point test would not, without -ffast-math).
template <typename T>
bool all_finite(const T* p, std::size_t n) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "float or double");
  using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  constexpr U kExp = sizeof(T) == 4 ? U(0x7f800000u) : U(0x7ff0000000000000ull);
  U bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    U u;
    std::memcpy(&u, p + i, sizeof u);
    bad |= U((u & kExp) == kExp);
  }
  return bad == 0;
}

}  // namespace mho
