// Test helper: a spec whose validate() must throw std::invalid_argument naming `field`.
#pragma once

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace mho::testing {

template <typename Spec, typename Edit>
void expect_rejects(Edit edit, const std::string& field) {
  Spec s;
  edit(s);
  try {
    s.validate();
    ADD_FAILURE() << "no error for " << field;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}

}  // namespace mho::testing
