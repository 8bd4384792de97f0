// Model files: the integrity block (checked against a published SHA-256 test vector), damage
// of any kind rejected before libhdf5 parses, only regular files opened, values validated.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "nets/model_file.h"
#include "tests/random_vector.h"

namespace mho {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << bytes;
}

Network small_net() {
  Layer c;
  c.kind = LayerKind::kConv2d;
  c.name = "c";
  c.inputs = {-1};
  c.in_ch = 2;
  c.out_ch = 3;
  c.kh = c.kw = 3;
  c.pad_h = c.pad_w = 1;
  c.weight = randv(3 * 2 * 9, 3);
  c.bias = randv(3, 4);
  Layer bn;
  bn.kind = LayerKind::kBatchNorm;
  bn.name = "bn";
  bn.inputs = {0};
  bn.gamma = randv(3, 5);
  bn.beta = randv(3, 6);
  bn.mean = randv(3, 7);
  bn.var = {0.5f, 1.0f, 2.0f};
  Layer f;
  f.kind = LayerKind::kFlatten;
  f.name = "f";
  f.inputs = {1};
  Layer fc;
  fc.kind = LayerKind::kLinear;
  fc.name = "fc";
  fc.inputs = {2};
  fc.in_ch = 3 * 4 * 4;
  fc.out_ch = 2;
  fc.weight = randv(2 * 48, 8);
  return Network("small", {2, 4, 4}, {c, bn, f, fc});
}

std::string saved(const std::string& stem) {
  const std::string path = ::testing::TempDir() + "/" + stem + ".h5";
  ModelInfo info;
  info.dataset = "none";
  info.source = "test";
  info.float_test_accuracy = 0.5;
  save_model(small_net(), path, info);
  return path;
}

std::string error_of(const std::string& bytes) {
  try {
    load_model_from_bytes(bytes, "FILE");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(ModelFile, IntegrityBlockMatchesThePublishedSha256TestVector) {
  // FIPS 180-2, appendix B.1: SHA-256("abc").
  const std::string want = std::string("mho-model-integrity 1\npayload-bytes 3\npayload-sha256 ") +
                           "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n";
  const std::string block = model_integrity_block("abc", 3);
  ASSERT_EQ(block.size(), 512u);
  EXPECT_EQ(block.substr(0, want.size()), want);
  EXPECT_EQ(block.find_first_not_of('\0', want.size()), std::string::npos);
}

TEST(ModelFile, SavedFileCarriesTheBlockOfItsOwnBytesAndLoadsVerified) {
  const std::string path = saved("mho_sealed");
  const std::string bytes = slurp(path);
  ASSERT_GT(bytes.size(), 512u);
  EXPECT_EQ(bytes.substr(0, 512), model_integrity_block(bytes.data() + 512, bytes.size() - 512));
  ModelInfo info;
  Network n = load_model(path, &info);
  std::remove(path.c_str());
  EXPECT_TRUE(info.integrity_verified);
  EXPECT_EQ(info.source, "test");
  EXPECT_EQ(n.layers()[3].weight, small_net().layers()[3].weight);
  EXPECT_EQ(n.layers()[1].var, small_net().layers()[1].var);
}

TEST(ModelFile, EveryKindOfDamageIsRejectedNamingTheFile) {
  const std::string path = saved("mho_damage");
  const std::string good = slurp(path);
  std::remove(path.c_str());
  ASSERT_EQ(error_of(good), "");
  // A flipped bit anywhere: in the block, at the HDF5 signature, in the middle, the last byte.
  for (std::size_t at : {std::size_t(0), std::size_t(30), std::size_t(100), std::size_t(511), std::size_t(512),
                         good.size() / 2, good.size() - 1}) {
    std::string b = good;
    b[at] ^= 1;
    const std::string e = error_of(b);
    EXPECT_NE(e.find("model file FILE: "), std::string::npos) << at << ": " << e;
    EXPECT_TRUE(e.find("damaged") != std::string::npos || e.find("not an mho model file") != std::string::npos) << e;
  }
  std::string b = good;
  b[good.size() / 2] ^= 1;
  EXPECT_NE(error_of(b).find("SHA-256"), std::string::npos);
  EXPECT_NE(error_of(good.substr(0, good.size() - 1)).find("does not record"), std::string::npos);
  EXPECT_NE(error_of(good + "x").find("does not record"), std::string::npos);
  EXPECT_NE(error_of(good.substr(0, 100)).find("truncated"), std::string::npos);
  EXPECT_NE(error_of("").find("not an mho model file"), std::string::npos);
  EXPECT_NE(error_of("hello").find("not an mho model file"), std::string::npos);
  // Padding after the block's lines is part of what is checked.
  b = good;
  b[400] = ' ';
  EXPECT_NE(error_of(b).find("malformed integrity block"), std::string::npos);
}

TEST(ModelFile, TheParserBehindTheCheckRejectsWhatItCannotRead) {
  const std::string path = saved("mho_parser");
  const std::string good = slurp(path);
  std::remove(path.c_str());
  EXPECT_NO_THROW(parse_model_unverified(good, "FILE"));
  // The HDF5 part without its block is a file from before the block: read, not verified.
  ModelInfo info;
  info.integrity_verified = true;
  EXPECT_NO_THROW(load_model_from_bytes(good.substr(512), "FILE", &info));
  std::string b = good;
  b.replace(512, 8, "garbage!");
  EXPECT_THROW(parse_model_unverified(b, "FILE"), std::invalid_argument);
}

TEST(ModelFile, OnlyRegularFilesAreOpened) {
  const std::string dir = ::testing::TempDir();
  try {
    load_model(dir);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
  // A FIFO with no writer: an ordinary open would wait for ever.
  const std::string fifo = dir + "/mho_fifo_" + std::to_string(getpid());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THROW(load_model(fifo), std::invalid_argument);
  std::remove(fifo.c_str());
  EXPECT_THROW(load_model(dir + "/no/such.h5"), FileNotFound);
}

TEST(ModelFile, ShapesOutsideIntAreRejectedNotWrapped) {
  // Any int geometry can come from a file; the shapes it implies are computed in 64 bits.
  Layer pool;
  pool.kind = LayerKind::kMaxPool;
  pool.name = "p";
  pool.inputs = {-1};
  pool.kh = pool.kw = 1;
  pool.pad_h = pool.pad_w = 1 << 30;  // output extent 2^31 + 1
  EXPECT_THROW(Network("n", {1, 1, 1}, {pool}), std::invalid_argument);
  pool.pad_h = pool.pad_w = 0;
  EXPECT_THROW(Network("n", {1, 1 << 16, 1 << 16}, {pool}), std::invalid_argument);  // 2^32 values
  // A window larger than the input with stride 2: floor((1 - 3) / 2) + 1 = 0 outputs, as in
  // PyTorch (truncating the division would give 1).
  pool.kh = pool.kw = 3;
  pool.stride_h = pool.stride_w = 2;
  EXPECT_THROW(Network("n", {1, 1, 1}, {pool}), std::invalid_argument);
  pool.kh = pool.kw = 1;
  EXPECT_NO_THROW(Network("n", {1, 1, 1}, {pool}));
}

}  // namespace
}  // namespace mho
