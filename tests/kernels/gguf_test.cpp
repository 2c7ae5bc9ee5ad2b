// The GGUF reader and writer: round trips of every metadata type and tensor type (the fixture is
// made by the test, nothing binary is committed), a file assembled byte by byte from the format
// description, a clear GgufError naming the field or tensor for every kind of malformed file,
// and a fuzz loop (every truncation, then seeded random mutations) that must end in success or a
// GgufError, never a crash or another exception (it runs under ASan in the sanitizers build).
#include "kernels/gguf.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "kernels/kquant.h"
#include "kernels/quant.h"
#include "kernels/splitmix64.h"
#include "tests/common/test_seed.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;

using Metadata = std::vector<std::pair<std::string, GgufValue>>;

// The GgufError message of f(), or a test failure if it does not throw one.
template <typename F>
std::string ErrorOf(F f) {
  try {
    f();
  } catch (const GgufError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a GgufError";
  return "";
}

#define EXPECT_ERROR_HAS(message, part) \
  EXPECT_NE(std::string(message).find(part), std::string::npos) << (message)

// Little-endian fields appended by hand, independent of the writer under test.
struct Raw {
  std::string bytes;
  Raw& U8(uint8_t v) { return Le(v, 1); }
  Raw& U32(uint32_t v) { return Le(v, 4); }
  Raw& U64(uint64_t v) { return Le(v, 8); }
  Raw& Str(const std::string& s) {
    U64(s.size());
    bytes += s;
    return *this;
  }
  Raw& F32(float f) { return U32(std::bit_cast<uint32_t>(f)); }
  Raw& PadTo(size_t alignment) {
    bytes.resize((bytes.size() + alignment - 1) / alignment * alignment, '\0');
    return *this;
  }
  Raw& Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
};

// A header: magic, version, counts.
Raw Header(uint64_t tensors, uint64_t keys, uint32_t version = 3) {
  Raw r;
  r.bytes = "GGUF";
  r.U32(version).U64(tensors).U64(keys);
  return r;
}

// One F32 tensor "w" of dims {4, 2} at offset 0 after one string key.
std::string SmallFile() {
  Raw r = Header(1, 1);
  r.Str("general.architecture").U32(8).Str("llama");
  r.Str("w").U32(2).U64(4).U64(2).U32(0).U64(0);
  r.PadTo(32);
  for (int i = 0; i < 8; ++i) r.F32(0.5f * i);
  return r.bytes;
}

TEST(GgufTest, ParsesAFileAssembledFromTheSpecification) {
  const GgufFile f = GgufFile::FromBytes(SmallFile(), "small");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.data_offset() % 32, 0u);
  EXPECT_EQ(f.GetString("general.architecture"), "llama");
  ASSERT_EQ(f.tensors().size(), 1u);
  const GgufTensorInfo& w = f.Info("w");
  EXPECT_EQ(w.dims, (std::vector<uint64_t>{4, 2}));
  EXPECT_EQ(w.Shape(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(w.type, GgmlType::kF32);
  EXPECT_EQ(w.bytes, 32u);
  const std::vector<float> values = f.ReadFloat("w", {2, 4});
  for (int i = 0; i < 8; ++i) EXPECT_EQ(values[i], 0.5f * i);
}

// A fresh directory per test, removed afterwards.
class GgufFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ =
        fs::temp_directory_path() / ("rlvr_gguf_" + std::to_string(getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

Metadata EveryValueType() {
  using T = GgufValueType;
  return {
      {"general.architecture", GgufValue::String("llama")},
      {"u8", GgufValue::Uint(T::kUint8, 255)},
      {"i8", GgufValue::Int(T::kInt8, -128)},
      {"u16", GgufValue::Uint(T::kUint16, 65535)},
      {"i16", GgufValue::Int(T::kInt16, -32768)},
      {"u32", GgufValue::Uint32(4000000000u)},
      {"i32", GgufValue::Int32(-2000000000)},
      {"f32", GgufValue::Float32(1e-5f)},
      {"bool.true", GgufValue::Bool(true)},
      {"bool.false", GgufValue::Bool(false)},
      {"str.empty", GgufValue::String("")},
      {"str.unicode", GgufValue::String("d\xc3\xa9j\xc3\xa0 \xe2\x96\x81vu")},
      {"u64", GgufValue::Uint64(UINT64_MAX)},
      {"i64", GgufValue::Int(T::kInt64, INT64_MIN)},
      {"f64", GgufValue::Float64(-2.5e300)},
      {"arr.i32", GgufValue::Array(T::kInt32, {GgufValue::Int32(1), GgufValue::Int32(-2)})},
      {"arr.str", GgufValue::Array(T::kString, {GgufValue::String("a"), GgufValue::String("bc")})},
      {"arr.empty", GgufValue::Array(T::kFloat32, {})},
      {"arr.nested",
       GgufValue::Array(T::kArray, {GgufValue::Array(T::kUint8, {GgufValue::Uint(T::kUint8, 7)}),
                                    GgufValue::Array(T::kBool, {GgufValue::Bool(true)})})},
  };
}

// Tensors of every readable type (and one that is not), with their expected float values.
struct Fixture {
  std::vector<float> f32, f32_values;
  std::vector<uint16_t> f16, bf16;
  std::vector<BlockQ8_0> q8;
  std::vector<BlockQ4_0> q4;
  std::vector<BlockQ4_K> q4k;
  std::vector<BlockQ6_K> q6k;
  std::vector<uint8_t> q5k;  // stored and read raw only
  std::vector<GgufTensorToWrite> tensors;

  explicit Fixture(uint64_t seed) {
    auto uniform = [&seed](size_t n) {
      std::vector<float> v(n);
      for (float& x : v) x = static_cast<float>(SplitMix64(seed) >> 40) * 0x1.0p-23f - 1.0f;
      return v;
    };
    f32 = uniform(15);
    for (float x : uniform(12)) f16.push_back(FloatToHalf(x));
    for (float x : uniform(6))
      bf16.push_back(static_cast<uint16_t>(std::bit_cast<uint32_t>(x) >> 16));
    const std::vector<float> w8 = uniform(96), w4 = uniform(64), wk4 = uniform(3 * 512),
                             wk6 = uniform(5 * 256);
    q8.resize(3);
    QuantizeQ8_0(w8.data(), q8.data(), 96);
    q4.resize(2);
    QuantizeQ4_0(w4.data(), q4.data(), 64);
    q4k.resize(6);
    QuantizeQ4_K(wk4.data(), q4k.data(), 3 * 512);
    q6k.resize(5);
    QuantizeQ6_K(wk6.data(), q6k.data(), 5 * 256);
    for (int i = 0; i < 176; ++i) q5k.push_back(static_cast<uint8_t>(SplitMix64(seed)));
    tensors = {
        {"token_embd.weight", {5, 3}, GgmlType::kF32, f32.data()},
        {"blk.0.attn_norm.weight", {12}, GgmlType::kF16, f16.data()},
        {"bf16", {3, 2}, GgmlType::kBF16, bf16.data()},
        {"blk.0.attn_q.weight", {32, 3}, GgmlType::kQ8_0, q8.data()},
        {"q4_0", {64, 1}, GgmlType::kQ4_0, q4.data()},
        {"blk.0.ffn_up.weight", {512, 3}, GgmlType::kQ4_K, q4k.data()},
        {"output.weight", {256, 5}, GgmlType::kQ6_K, q6k.data()},
        {"q5_k", {256}, GgmlType::kQ5_K, q5k.data()},
        {"empty", {0, 4}, GgmlType::kF32, nullptr},
    };
  }
};

void CheckFixture(const GgufFile& f, const Fixture& x, const Metadata& metadata) {
  ASSERT_EQ(f.metadata().size(), metadata.size());
  for (size_t i = 0; i < metadata.size(); ++i) {
    EXPECT_EQ(f.metadata()[i].first, metadata[i].first);
    EXPECT_TRUE(f.metadata()[i].second == metadata[i].second) << metadata[i].first;
  }
  EXPECT_EQ(f.GetUint("u8"), 255u);
  EXPECT_EQ(f.GetUint("u64"), UINT64_MAX);
  EXPECT_EQ(f.GetFloat("f32"), static_cast<double>(1e-5f));
  ASSERT_EQ(f.tensors().size(), x.tensors.size());
  for (size_t i = 0; i < x.tensors.size(); ++i) {
    const GgufTensorInfo& info = f.tensors()[i];
    EXPECT_EQ(info.name, x.tensors[i].name);
    EXPECT_EQ(info.dims, x.tensors[i].dims);
    EXPECT_EQ(info.type, x.tensors[i].type);
    EXPECT_EQ(info.offset % f.alignment(), 0u) << info.name;
    const std::vector<uint8_t> raw = f.ReadRaw(info.name);
    if (!raw.empty()) {
      EXPECT_EQ(std::memcmp(raw.data(), x.tensors[i].data, raw.size()), 0) << info.name;
    }
  }
  EXPECT_EQ(f.ReadFloat("token_embd.weight", {3, 5}), x.f32);
  std::vector<float> want(12);
  for (int i = 0; i < 12; ++i) want[i] = HalfToFloat(x.f16[i]);
  EXPECT_EQ(f.ReadFloat("blk.0.attn_norm.weight", {12}), want);
  want.resize(6);
  for (int i = 0; i < 6; ++i)
    want[i] = std::bit_cast<float>(static_cast<uint32_t>(x.bf16[i]) << 16);
  EXPECT_EQ(f.ReadFloat("bf16", {2, 3}), want);
  want.resize(96);
  DequantizeQ8_0(x.q8.data(), want.data(), 96);
  EXPECT_EQ(f.ReadFloat("blk.0.attn_q.weight", {3, 32}), want);
  want.resize(64);
  DequantizeQ4_0(x.q4.data(), want.data(), 64);
  EXPECT_EQ(f.ReadFloat("q4_0", {1, 64}), want);
  want.resize(3 * 512);
  DequantizeQ4_K(x.q4k.data(), want.data(), 3 * 512);
  EXPECT_EQ(f.ReadFloat("blk.0.ffn_up.weight", {3, 512}), want);
  want.resize(5 * 256);
  DequantizeQ6_K(x.q6k.data(), want.data(), 5 * 256);
  EXPECT_EQ(f.ReadFloat("output.weight", {5, 256}), want);
  EXPECT_TRUE(f.ReadFloat("empty", {4, 0}).empty());
  EXPECT_ERROR_HAS(ErrorOf([&] { f.ReadFloat("q5_k", {256}); }), "Q5_K cannot be read as float");
}

TEST_F(GgufFileTest, RoundTripsEveryValueTypeAndTensorType) {
  const Fixture x(TestSeedFor(1401));
  const Metadata metadata = EveryValueType();
  const std::string path = Path("model.gguf");
  WriteGguf(path, metadata, x.tensors);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_LT(fs::file_size(path), 8192u);  // a tiny fixture
  const GgufFile from_file = GgufFile::Open(path);
  CheckFixture(from_file, x, metadata);
  const GgufFile from_bytes = GgufFile::FromBytes(SerializeGguf(metadata, x.tensors));
  CheckFixture(from_bytes, x, metadata);
  EXPECT_EQ(from_file.data_offset(), from_bytes.data_offset());
}

TEST_F(GgufFileTest, HonoursGeneralAlignment) {
  const Fixture x(TestSeedFor(1402));
  Metadata metadata = EveryValueType();
  metadata.emplace_back("general.alignment", GgufValue::Uint32(256));
  const GgufFile f = GgufFile::FromBytes(SerializeGguf(metadata, x.tensors));
  EXPECT_EQ(f.alignment(), 256u);
  EXPECT_EQ(f.data_offset() % 256, 0u);
  CheckFixture(f, x, metadata);
  // Offsets are not required to be in order or packed, only aligned and disjoint.
  Raw r = Header(2, 1);
  r.Str("general.alignment").U32(4).U32(8);
  r.Str("b").U32(1).U64(2).U32(0).U64(0);
  r.Str("a").U32(1).U64(2).U32(0).U64(16);
  r.PadTo(8);
  r.F32(1).F32(2).U64(0).F32(3).F32(4);
  const GgufFile g = GgufFile::FromBytes(r.bytes);
  EXPECT_EQ(g.ReadFloat("a", {2}), (std::vector<float>{3, 4}));
  EXPECT_EQ(g.ReadFloat("b", {2}), (std::vector<float>{1, 2}));
}

TEST(GgufTest, WriterRejectsInvalidTensorsAndAlignment) {
  const float data[512] = {};
  EXPECT_ERROR_HAS(ErrorOf([&] {
                     SerializeGguf({}, {{"w", {100, 2}, GgmlType::kQ4_K, data}});
                   }),
                   "tensor 'w': dims[0] = 100 is not a multiple of Q4_K's block of 256");
  EXPECT_ERROR_HAS(
      ErrorOf([&] {
        SerializeGguf({}, {{"w", {4}, GgmlType::kF32, data}, {"w", {4}, GgmlType::kF32, data}});
      }),
      "tensor 'w': written twice");
  EXPECT_ERROR_HAS(ErrorOf([&] {
                     SerializeGguf({}, {{"w", {4}, static_cast<GgmlType>(4), data}});
                   }),
                   "unknown type 4");
  EXPECT_ERROR_HAS(ErrorOf([&] {
                     SerializeGguf({}, {{"w", {4}, GgmlType::kF32, nullptr}});
                   }),
                   "no data");
  EXPECT_ERROR_HAS(ErrorOf([&] {
                     SerializeGguf({{"general.alignment", GgufValue::Uint32(48)}}, {});
                   }),
                   "power of two");
  EXPECT_ERROR_HAS(ErrorOf([&] {
                     SerializeGguf(
                         {{"k", GgufValue::Array(GgufValueType::kInt32, {GgufValue::String("x")})}},
                         {});
                   }),
                   "metadata key 'k': array of int32 holds a string");
}

TEST_F(GgufFileTest, MissingFileTensorAndKeyAreNamed) {
  EXPECT_ERROR_HAS(ErrorOf([&] { GgufFile::Open(Path("absent.gguf")); }), "cannot open");
  const GgufFile f = GgufFile::FromBytes(SmallFile(), "small.gguf");
  EXPECT_ERROR_HAS(ErrorOf([&] { f.Info("blk.9.attn_q.weight"); }),
                   "GGUF file 'small.gguf', tensor 'blk.9.attn_q.weight': missing");
  EXPECT_ERROR_HAS(ErrorOf([&] { f.ReadFloat("nope", {1}); }), "'nope': missing");
  EXPECT_ERROR_HAS(ErrorOf([&] { f.Get("llama.context_length"); }),
                   "metadata key 'llama.context_length' is missing");
  EXPECT_ERROR_HAS(ErrorOf([&] { f.GetUint("general.architecture"); }), "not an integer");
  EXPECT_ERROR_HAS(ErrorOf([&] { f.GetFloat("general.architecture"); }), "not a float");
  EXPECT_ERROR_HAS(ErrorOf([&] {
                     f.ReadFloat("w", {4, 2});
                   }),
                   "tensor 'w': expected shape [4, 2], found [2, 4]");
  std::vector<float> small(3);
  EXPECT_ERROR_HAS(ErrorOf([&] { f.ReadRaw("w", small.data(), 12); }), "holds 32 bytes");
}

TEST_F(GgufFileTest, FileTruncatedAfterOpenIsAnErrorOnRead) {
  const std::string path = Path("cut.gguf");
  const std::string bytes = SmallFile();
  std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
  const GgufFile f = GgufFile::Open(path);
  fs::resize_file(path, bytes.size() - 4);
  EXPECT_ERROR_HAS(ErrorOf([&] { f.ReadFloat("w", {2, 4}); }), "tensor 'w': file ends before");
}

// Each malformed file and the words its error must contain.
TEST(GgufTest, MalformedFilesGiveClearErrors) {
  struct Case {
    const char* what;
    std::string bytes;
    std::vector<std::string> parts;
  };
  std::vector<Case> cases;
  auto with_tensor = [](uint64_t n_dims, std::vector<uint64_t> dims, uint32_t type, uint64_t offset,
                        size_t data_bytes) {
    Raw r = Header(1, 0);
    r.Str("blk.0.w").U32(static_cast<uint32_t>(n_dims));
    for (uint64_t d : dims) r.U64(d);
    r.U32(type).U64(offset);
    r.PadTo(32);
    r.bytes.append(data_bytes, '\0');
    return r.bytes;
  };
  cases.push_back({"empty", "", {"magic", "truncated"}});
  cases.push_back({"wrong magic", "GGML" + SmallFile().substr(4), {"wrong magic 'GGML'"}});
  cases.push_back({"version 1", Header(0, 0, 1).bytes, {"unsupported GGUF version 1"}});
  cases.push_back({"version 4", Header(0, 0, 4).bytes, {"unsupported GGUF version 4"}});
  cases.push_back({"big-endian", Header(0, 0, 0x03000000).bytes, {"big-endian"}});
  cases.push_back({"header cut", Header(0, 0).bytes.substr(0, 15), {"tensor count", "truncated"}});
  {
    Raw r = Header(0, 1);
    r.Str("general.name").U32(8).U64(100).bytes += "short";
    cases.push_back({"string value cut",
                     r.bytes,
                     {"metadata key 'general.name' value", "string length 100", "truncated"}});
  }
  {
    Raw r = Header(0, 1);
    r.U64(1u << 30);
    cases.push_back({"key length huge", r.bytes, {"metadata key #0", "truncated"}});
  }
  {
    Raw r = Header(0, 1);
    r.Str("k").U32(13).U32(0);
    cases.push_back({"unknown value type", r.bytes, {"metadata key 'k'", "unknown value type 13"}});
  }
  {
    Raw r = Header(0, 1);
    r.Str("flag").U32(7).U8(2);
    cases.push_back({"bool 2", r.bytes, {"'flag'", "neither 0 nor 1"}});
  }
  {
    Raw r = Header(0, 2);
    r.Str("k").U32(4).U32(1).Str("k").U32(4).U32(2);
    cases.push_back({"duplicate key", r.bytes, {"metadata key 'k' appears twice"}});
  }
  {
    Raw r = Header(0, 1);
    r.Str("tokens").U32(9).U32(8).U64(UINT64_MAX / 2);
    cases.push_back({"array count huge", r.bytes, {"'tokens'", "cannot fit", "truncated"}});
  }
  {
    Raw r = Header(0, 1);
    r.Str("a").U32(9).U32(77).U64(0);
    cases.push_back({"array element type", r.bytes, {"'a'", "unknown array element type 77"}});
  }
  {
    Raw r = Header(0, 1);
    r.Str("deep").U32(9);
    for (int i = 0; i < 20; ++i) r.U32(9).U64(1);  // an array of one array of one array ...
    r.U32(4).U64(1).U32(5);
    cases.push_back({"nested arrays", r.bytes, {"'deep'", "nested deeper"}});
  }
  {
    Raw r = Header(0, 1);
    r.Str("general.alignment").U32(4).U32(48);
    cases.push_back({"alignment 48", r.bytes, {"general.alignment must be a uint32 power of two"}});
    Raw z = Header(0, 1);
    z.Str("general.alignment").U32(4).U32(0);
    cases.push_back({"alignment 0", z.bytes, {"general.alignment"}});
    Raw t = Header(0, 1);
    t.Str("general.alignment").U32(10).U64(32);
    cases.push_back({"alignment uint64", t.bytes, {"general.alignment", "uint64"}});
  }
  cases.push_back({"five dims",
                   with_tensor(5, {1, 1, 1, 1, 1}, 0, 0, 4),
                   {"tensor 'blk.0.w'", "5 dimensions"}});
  cases.push_back({"dims overflow",
                   with_tensor(2, {1ull << 40, 1ull << 40}, 0, 0, 0),
                   {"tensor 'blk.0.w'", "overflows"}});
  cases.push_back({"bytes overflow",
                   with_tensor(2, {1ull << 31, 1ull << 31}, 0, 0, 0),
                   {"tensor 'blk.0.w'", "byte size overflows"}});
  cases.push_back({"unknown type",
                   with_tensor(1, {4}, 99, 0, 16),
                   {"tensor 'blk.0.w'", "unknown GGML type 99"}});
  cases.push_back({"removed type 4",
                   with_tensor(1, {32}, 4, 0, 64),
                   {"tensor 'blk.0.w'", "unknown GGML type 4"}});
  cases.push_back({"partial block",
                   with_tensor(2, {100, 2}, 12, 0, 1000),
                   {"tensor 'blk.0.w'", "dims[0] = 100", "Q4_K's block of 256"}});
  cases.push_back({"misaligned offset",
                   with_tensor(1, {4}, 0, 4, 32),
                   {"tensor 'blk.0.w'", "offset 4 is not a multiple of the alignment 32"}});
  cases.push_back({"offset beyond data",
                   with_tensor(1, {4}, 0, 1ull << 62, 16),
                   {"tensor 'blk.0.w'", "reaches beyond the data section of 16 bytes"}});
  cases.push_back({"data cut",
                   with_tensor(2, {256, 2}, 14, 0, 300),
                   {"tensor 'blk.0.w'", "reaches beyond", "truncated file?"}});
  cases.push_back({"offset + size wraps",
                   with_tensor(1, {8}, 0, UINT64_MAX - 31, 32),
                   {"tensor 'blk.0.w'", "reaches beyond"}});
  {
    Raw r = Header(2, 0);
    r.Str("first").U32(1).U64(8).U32(0).U64(0);
    r.Str("second").U32(1).U64(8).U32(0).U64(0);
    r.PadTo(32);
    r.bytes.append(64, '\0');
    cases.push_back({"overlap", r.bytes, {"tensor 'second'", "overlaps tensor 'first'"}});
    Raw d = Header(2, 0);
    d.Str("same").U32(1).U64(8).U32(0).U64(0);
    d.Str("same").U32(1).U64(8).U32(0).U64(32);
    d.PadTo(32);
    d.bytes.append(64, '\0');
    cases.push_back({"duplicate tensor", d.bytes, {"tensor 'same': appears twice"}});
  }
  {
    Raw r = Header(3, 0);
    r.Str("only").U32(1).U64(8).U32(0).U64(0);
    cases.push_back({"tensor infos cut", r.bytes, {"tensor info #1 name", "truncated"}});
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string message = ErrorOf([&] { GgufFile::FromBytes(c.bytes, "bad.gguf"); });
    EXPECT_ERROR_HAS(message, "GGUF file 'bad.gguf'");
    for (const std::string& part : c.parts) EXPECT_ERROR_HAS(message, part);
  }
}

// Parses bytes and, if that works, reads every tensor every way; anything but success or a
// GgufError fails the test (a crash fails it anyway; ASan catches reads out of bounds). Returns
// whether the bytes parsed.
bool ParseAndReadEverything(const std::string& bytes, const std::string& label) {
  try {
    const GgufFile f = GgufFile::FromBytes(bytes, label);
    for (const GgufTensorInfo& t : f.tensors()) {
      try {
        f.ReadRaw(t.name);
        f.ReadFloat(t.name, t.Shape());
      } catch (const GgufError&) {
      }
    }
    for (const auto& [key, value] : f.metadata()) {
      try {
        f.GetUint(key);
      } catch (const GgufError&) {
      }
    }
    return true;
  } catch (const GgufError&) {
  } catch (const std::exception& e) {
    ADD_FAILURE() << label << ": threw a non-GgufError exception: " << e.what();
  }
  return false;
}

TEST(GgufFuzzTest, EveryTruncationIsACleanError) {
  const Fixture x(TestSeedFor(1403));
  const std::string valid = SerializeGguf(EveryValueType(), x.tensors);
  // Only the zero padding after the last tensor may be missing without harm.
  const GgufFile whole = GgufFile::FromBytes(valid);
  uint64_t end = 0;
  for (const GgufTensorInfo& t : whole.tensors()) {
    end = std::max(end, whole.data_offset() + t.offset + t.bytes);
  }
  ASSERT_GT(end, valid.size() - 32);
  for (size_t length = 0; length < valid.size(); ++length) {
    const std::string cut = valid.substr(0, length);
    bool failed_cleanly = false;
    try {
      GgufFile::FromBytes(cut, "cut");
    } catch (const GgufError&) {
      failed_cleanly = true;
    }
    ParseAndReadEverything(cut, "cut to " + std::to_string(length));
    if (length < end) {
      ASSERT_TRUE(failed_cleanly) << "a file cut to " << length << " of " << valid.size()
                                  << " bytes was accepted";
    }
  }
}

TEST(GgufFuzzTest, RandomMutationsNeverCrash) {
  const Fixture x(TestSeedFor(1404));
  const std::string valid = SerializeGguf(EveryValueType(), x.tensors);
  uint64_t seed = TestSeedFor(1405);
  int accepted = 0;
  constexpr int kIterations = 3000;
  for (int iteration = 0; iteration < kIterations; ++iteration) {
    std::string bytes = valid;
    const int mutations = 1 + static_cast<int>(SplitMix64(seed) % 4);
    for (int m = 0; m < mutations && !bytes.empty(); ++m) {
      const size_t at = SplitMix64(seed) % bytes.size();
      switch (SplitMix64(seed) % 6) {
        case 0:  // flip one bit
          bytes[at] = static_cast<char>(bytes[at] ^ (1 << (SplitMix64(seed) % 8)));
          break;
        case 1:  // a random byte
          bytes[at] = static_cast<char>(SplitMix64(seed));
          break;
        case 2: {  // a random or extreme 64-bit field (lengths, counts, dims, offsets)
          const uint64_t choices[] = {SplitMix64(seed), UINT64_MAX, 1ull << 63, 0, 1ull << 32};
          const uint64_t v = choices[SplitMix64(seed) % 5];
          for (int i = 0; i < 8 && at + i < bytes.size(); ++i) {
            bytes[at + i] = static_cast<char>(v >> (8 * i));
          }
          break;
        }
        case 3:  // truncate
          bytes.resize(at);
          break;
        case 4:  // delete a few bytes
          bytes.erase(at, 1 + SplitMix64(seed) % 8);
          break;
        default:  // insert a few bytes
          bytes.insert(at, 1 + SplitMix64(seed) % 8, static_cast<char>(SplitMix64(seed)));
          break;
      }
    }
    accepted += ParseAndReadEverything(bytes, "mutation " + std::to_string(iteration));
  }
  // Mutating tensor data leaves a valid file: the loop exercised both outcomes.
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, kIterations);
}

}  // namespace
}  // namespace rlvr
