// Every floating-point spec field rejects NaN, infinity and overflowing values with a message
// naming the field, the value and the range; the tech table rejects zero divisors, non-finite
// numbers and fractional bits naming the key; Network.forward rejects non-finite input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>

#include "adc_dac/adc_spec.h"
#include "adc_dac/dac_spec.h"
#include "crossbar/tile.h"
#include "crossbar/tile_spec.h"
#include "crossbar/wire_spec.h"
#include "devices/cell_spec.h"
#include "evaluator/digital_cost.h"
#include "evaluator/tech_table.h"
#include "nets/network.h"

namespace mho {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The message of the std::invalid_argument `f` throws ("" if none).
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

template <typename Spec>
void expect_field_rejects(const std::string& field, double Spec::*pm, std::initializer_list<double> bad) {
  for (double v : bad) {
    Spec s;
    s.*pm = v;
    const std::string msg = error_of([&] { s.validate(); });
    EXPECT_NE(msg.find(field + " = "), std::string::npos) << field << " = " << v << ": " << msg;
    EXPECT_NE(msg.find("finite number in"), std::string::npos) << msg;
    std::ostringstream shown;
    shown << v;
    EXPECT_NE(msg.find(shown.str()), std::string::npos) << "value not shown: " << msg;
  }
}

TEST(SpecValues, EveryFloatFieldRejectsNanInfinityAndOverflow) {
  const std::initializer_list<double> bad = {kNan, kInf, -kInf, 1e300};
  expect_field_rejects<CellSpec>("CellSpec.g_min_S", &CellSpec::g_min_S, {kNan, kInf, -kInf});
  expect_field_rejects<CellSpec>("CellSpec.g_max_S", &CellSpec::g_max_S, bad);
  expect_field_rejects<CellSpec>("CellSpec.drift_t0_s", &CellSpec::drift_t0_s, bad);
  expect_field_rejects<CellSpec>("CellSpec.iv_v0_V", &CellSpec::iv_v0_V, bad);
  expect_field_rejects<CellSpec>("CellSpec.stuck_at_min_prob", &CellSpec::stuck_at_min_prob, {kNan, kInf});
  expect_field_rejects<CellSpec>("CellSpec.stuck_at_max_prob", &CellSpec::stuck_at_max_prob, {kNan, kInf});
  expect_field_rejects<CellSpec>("CellSpec.area_F2", &CellSpec::area_F2, bad);
  expect_field_rejects<CellSpec>("CellSpec.feature_size_m", &CellSpec::feature_size_m, bad);
  expect_field_rejects<CellSpec>("CellSpec.v_read_V", &CellSpec::v_read_V, bad);
  expect_field_rejects<CellSpec>("CellSpec.t_read_s", &CellSpec::t_read_s, bad);
  expect_field_rejects<DacSpec>("DacSpec.x_max", &DacSpec::x_max, {kNan, kInf, 1e300, 1e-300});
  expect_field_rejects<DacSpec>("DacSpec.percentile", &DacSpec::percentile, {kNan, kInf});
  expect_field_rejects<AdcSpec>("AdcSpec.percentile", &AdcSpec::percentile, {kNan, kInf});
  expect_field_rejects<AdcSpec>("AdcSpec.noise_lsb", &AdcSpec::noise_lsb, bad);
  expect_field_rejects<AdcSpec>("AdcSpec.inl_lsb", &AdcSpec::inl_lsb, bad);
  expect_field_rejects<DigitalSpec>("DigitalSpec.glb_bytes", &DigitalSpec::glb_bytes, bad);
  expect_field_rejects<DigitalSpec>("DigitalSpec.dram_bandwidth_Bps", &DigitalSpec::dram_bandwidth_Bps, bad);
  for (auto pm : {&DigitalSpec::weight_storage_bytes, &DigitalSpec::weight_storage_budget_bytes})
    for (double v : {kNan, kInf, -1.0, 1e300}) {
      DigitalSpec d;
      d.*pm = v;
      EXPECT_THROW(d.validate(), std::invalid_argument) << v;
    }
  for (auto pm : {&WireSpec::r_row_ohm, &WireSpec::r_col_ohm, &WireSpec::r_driver_ohm, &WireSpec::r_sense_ohm})
    for (double v : {kNan, kInf, -kInf, 1e300, 1e-320}) {
      WireSpec w;
      w.*pm = v;
      const std::string msg = error_of([&] { w.validate(); });
      EXPECT_NE(msg.find("WireSpec.r_"), std::string::npos) << v << ": " << msg;
      EXPECT_NE(msg.find("0 (a short) or a finite number in [1e-09, 1e+09]"), std::string::npos) << msg;
    }
}

TEST(SpecValues, TheDefaultsAndEveryPresetPass) {
  CellSpec().validate();
  DacSpec().validate();
  AdcSpec().validate();
  WireSpec().validate();
  TileSpec().validate();
  DigitalSpec().validate();
  WireSpec w;
  w.r_row_ohm = 2.5;
  w.r_col_ohm = 0.0;
  w.r_driver_ohm = 1e-9;
  w.r_sense_ohm = 1e9;
  w.validate();
}

TEST(SpecValues, NoiseAndDriftParametersAreBounded) {
  struct Case {
    std::function<void(CellSpec&)> edit;
    const char* field;
  };
  const Case cases[] = {
      {[](CellSpec& s) { s.read_noise = "constant"; s.read_sigma = {1e300}; }, "CellSpec.read_sigma[0] (sigma_S) = 1e+300"},
      {[](CellSpec& s) { s.read_noise = "proportional"; s.read_sigma = {kInf}; }, "CellSpec.read_sigma[0]"},
      {[](CellSpec& s) { s.read_noise = "proportional"; s.read_sigma = {11.0}; }, "CellSpec.read_sigma[0] (k) = 11"},
      {[](CellSpec& s) { s.prog_error = "polynomial"; s.prog_sigma = {1e-6, -2.0}; }, "CellSpec.prog_sigma[1] = -2"},
      {[](CellSpec& s) { s.read_noise = "pcm_1f"; s.read_sigma = {0.01, 0.6, 0.2, 10.0}; }, "CellSpec.read_sigma[3] (t_read_s) = 10"},
      {[](CellSpec& s) { s.read_noise = "pcm_1f"; s.read_sigma = {0.01, 1e3, 0.2, 1e-7}; }, "CellSpec.read_sigma[1] (exponent)"},
      {[](CellSpec& s) { s.drift = "constant"; s.drift_params = {kNan, 0.0}; }, "CellSpec.drift_params[0] = nan: must be finite"},
      {[](CellSpec& s) { s.drift = "constant"; s.drift_params = {0.05, 2.0}; }, "CellSpec.drift_params[1] (nu_std) = 2"},
      {[](CellSpec& s) { s.iv = "sinh"; s.iv_v0_V = 1e-4; }, "CellSpec.iv_v0_V = 0.0001: must be >= v_read_V / 100"},
  };
  for (const Case& c : cases) {
    CellSpec s;
    c.edit(s);
    const std::string msg = error_of([&] { s.validate(); });
    EXPECT_NE(msg.find(c.field), std::string::npos) << c.field << " | " << msg;
  }
}

class TechValues : public ::testing::Test {
 protected:
  // The shipped table with `from` replaced by `to` (once), loaded for 22 nm.
  std::string load_error(const std::string& from, const std::string& to) {
    std::ifstream in(std::string(MHO_SOURCE_DIR) + "/data/tech.yaml");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at == std::string::npos) return "";
    text.replace(at, from.size(), to);
    // One file per test: ctest runs this binary's tests side by side in separate processes.
    const std::string path = ::testing::TempDir() + "tech_values_" +
                             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".yaml";
    std::ofstream(path) << text;
    return error_of([&] { TechTable::load(path, "22nm"); });
  }
};

TEST_F(TechValues, ShippedTableLoads) { TechTable::load(std::string(MHO_SOURCE_DIR) + "/data/tech.yaml", "22nm"); }

TEST_F(TechValues, ZeroOrNegativeDivisorsAreRejectedNamingTheKey) {
  EXPECT_NE(load_error("reference_node_nm: 45", "reference_node_nm: 0").find("scaling.reference_node_nm: 0: must be a finite number in (0,"),
            std::string::npos);
  EXPECT_NE(load_error("reference_vdd_V: 0.9", "reference_vdd_V: -0.9").find("scaling.reference_vdd_V: -0.9: must be a finite number in [0, 1e+15]"),
            std::string::npos);
  EXPECT_NE(load_error("\n    node_nm: 22", "\n    node_nm: 0").find("nodes.22nm.node_nm: 0"), std::string::npos);
}

TEST_F(TechValues, NonFiniteNumbersAreRejectedNamingTheKey) {
  EXPECT_NE(load_error("reference_node_nm: 45", "reference_node_nm: .inf").find("scaling.reference_node_nm: inf"),
            std::string::npos);
  EXPECT_NE(load_error("reference_vdd_V: 0.9", "reference_vdd_V: .nan").find("scaling.reference_vdd_V: nan"),
            std::string::npos);
  EXPECT_NE(load_error("reference_node_nm: 45", "reference_node_nm: 1e400").find("scaling.reference_node_nm"),
            std::string::npos);
}

TEST_F(TechValues, HugeNumbersAreRejected) {
  EXPECT_NE(load_error("energy_pJ: [0.2, 0.8, 3.1]", "energy_pJ: [0.2, 1e300, 3.1]")
                .find("reference_45nm.mult.energy_pJ[1]: 1e+300: must be a finite number in [0, 1e+15]"),
            std::string::npos);
}

TEST_F(TechValues, OnlyRegularFilesAreRead) {
  const std::string folder = ::testing::TempDir() + "tech_folder";
  std::filesystem::create_directories(folder);
  EXPECT_NE(error_of([&] { TechTable::load(folder, "22nm"); }).find("not a regular file"), std::string::npos);
  EXPECT_THROW(TechTable::load(folder + "/none.yaml", "22nm"), TechFileNotFound);
}

TEST_F(TechValues, BitsMustBeWholeAndListedOnce) {
  EXPECT_NE(load_error("bits: [8, 16, 32]", "bits: [8, 16.5, 32]").find("reference_45nm.add.bits[1]: 16.5: must be a whole number of bits"),
            std::string::npos);
  EXPECT_NE(load_error("bits: [8, 16, 32]", "bits: [8, 8, 32]").find("reference_45nm.add.bits[1]: 8: listed twice"),
            std::string::npos);
  EXPECT_NE(load_error("bits:      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", "bits:      [1, 2, 3, 4.5, 5, 6, 7, 8, 9, 10]")
                .find(".adc.sar.bits[3]: 4.5"),
            std::string::npos);
}

TEST(TileTime, SetTimeRejectsNonFiniteAndNegative) {
  Tile t(TileSpec::ideal(8, 8));
  t.program(Eigen::MatrixXd::Ones(8, 2));
  for (double bad : {kNan, kInf, -1.0, 1e11}) {
    const std::string msg = error_of([&] { t.set_time(bad); });
    EXPECT_NE(msg.find("Tile.set_time(t_s) = "), std::string::npos) << msg;
    EXPECT_NE(msg.find("must be a finite number in [0, 1e+10]"), std::string::npos) << msg;
  }
  t.set_time(3600.0);
  EXPECT_EQ(t.time(), 3600.0);
}

TEST(NetworkInput, NonFiniteInputIsRejectedLikeTileForward) {
  Layer l;
  l.kind = LayerKind::kLinear;
  l.name = "fc";
  l.inputs = {-1};
  l.in_ch = 4;
  l.out_ch = 2;
  l.weight.assign(8, 0.5f);
  l.bias.assign(2, 0.0f);
  Network net("n", {4, 1, 1}, {l});
  RowMat<float> x = RowMat<float>::Ones(3, 4);
  EXPECT_EQ(net.forward(x).rows(), 3);
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    x(2, 1) = bad;
    const std::string msg = error_of([&] { net.forward(x); });
    EXPECT_NE(msg.find("network input = row 2 with NaN or infinity: must be finite"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace mho
