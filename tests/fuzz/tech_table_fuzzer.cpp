// libFuzzer harness for the tech-table reader (evaluator/tech_table.h), from text in memory.
// Each input is parsed for both nodes of data/tech.yaml and, where it loads, every lookup is
// exercised. A clean rejection is std::invalid_argument; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "evaluator/tech_table.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const char* node : {"22nm", "65nm"}) {
    try {
      const mho::TechTable t = mho::TechTable::parse(text, "fuzz-input", node);
      for (const auto& kv : t.adc)
        for (const auto& bits : kv.second) t.adc_cost(kv.first, bits.first);
      for (const auto& bits : t.add) t.add_cost(bits.first);
      for (const auto& bits : t.mult) t.mult_cost(bits.first);
      t.dac_cost(8);
      for (double c : {1.0, 8192.0, 1e5, 1e12}) t.sram_J_per_bit(c);
    } catch (const std::invalid_argument&) {
    }
  }
  return 0;
}
