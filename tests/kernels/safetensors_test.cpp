// The safetensors reader and writer: round trips, F16/BF16 conversion, and a clear
// SafeTensorsError (naming file and tensor) for every kind of malformed file.
#include "kernels/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace rlvr {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class SafeTensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("rlvr_safetensors_" + std::to_string(getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // A file with the given header text, its length field (default: the text's length) and data.
  std::string WriteRaw(const std::string& name, const std::string& header,
                       const std::vector<uint8_t>& data = {}, int64_t length_field = -1) {
    const std::string path = Path(name);
    std::ofstream out(path, std::ios::binary);
    const uint64_t n = length_field < 0 ? header.size() : static_cast<uint64_t>(length_field);
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>(n >> (8 * i)));
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(reinterpret_cast<const char*>(data.data()),
              static_cast<std::streamsize>(data.size()));
    return path;
  }

  fs::path dir_;
};

// The SafeTensorsError message of f(), or a test failure if it does not throw one.
template <typename F>
std::string ErrorOf(F f) {
  try {
    f();
  } catch (const SafeTensorsError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a SafeTensorsError";
  return "";
}

std::vector<uint8_t> Bytes(const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  return std::vector<uint8_t>(b, b + n);
}

TEST_F(SafeTensorsTest, RoundTripsTensorsAndMetadata) {
  const std::vector<float> a = {1.0f, -2.5f, 3.25f, 0.0f, 1e-30f, -7.0f};
  const std::vector<float> b = {42.0f};
  const std::string path = Path("t.safetensors");
  WriteSafeTensors(path, {{"a", {2, 3}, a.data()}, {"b.weight", {1}, b.data()}},
                   {{"format", "pt"}, {"dim", "3"}});
  const SafeTensorsFile file = SafeTensorsFile::Open(path);
  EXPECT_EQ(file.Names(), (std::vector<std::string>{"a", "b.weight"}));
  EXPECT_EQ(file.Info("a").dtype, "F32");
  EXPECT_EQ(file.Info("a").shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(file.Read("a", {2, 3}), a);
  EXPECT_EQ(file.Read("b.weight", {1}), b);
  EXPECT_EQ(file.metadata().at("dim"), "3");
  EXPECT_EQ(file.metadata().at("format"), "pt");
  // The header is padded so the data section starts 8-byte aligned.
  std::ifstream in(path, std::ios::binary);
  uint64_t header_size = 0;
  in.read(reinterpret_cast<char*>(&header_size), 8);
  EXPECT_EQ(header_size % 8, 0u);
  EXPECT_EQ(fs::file_size(path), 8 + header_size + (a.size() + b.size()) * sizeof(float));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST_F(SafeTensorsTest, ConvertsF16AndBF16ToFloat) {
  // 1.5, -2, 0.25, 65504 (largest half) in IEEE half; the same values in bfloat16 (top 16 bits of
  // the float), plus 2^-24 (the smallest half subnormal).
  const uint16_t f16[] = {0x3e00, 0xc000, 0x3400, 0x7bff, 0x0001};
  const uint16_t bf16[] = {0x3fc0, 0xc000, 0x3e80, 0x477f, 0x3380};
  const std::string header = R"({"h":{"dtype":"F16","shape":[5],"data_offsets":[0,10]},)"
                             R"("b":{"dtype":"BF16","shape":[5],"data_offsets":[10,20]}})";
  std::vector<uint8_t> data = Bytes(f16, sizeof f16);
  const std::vector<uint8_t> more = Bytes(bf16, sizeof bf16);
  data.insert(data.end(), more.begin(), more.end());
  const SafeTensorsFile file = SafeTensorsFile::Open(WriteRaw("h.safetensors", header, data));
  EXPECT_EQ(file.Read("h", {5}),
            (std::vector<float>{1.5f, -2.0f, 0.25f, 65504.0f, 5.9604644775390625e-8f}));
  EXPECT_EQ(file.Read("b", {5}),
            (std::vector<float>{1.5f, -2.0f, 0.25f, 65280.0f, 5.9604644775390625e-8f}));
}

TEST_F(SafeTensorsTest, MissingFileIsAnError) {
  const std::string path = Path("nope.safetensors");
  EXPECT_NE(ErrorOf([&] { SafeTensorsFile::Open(path); }).find(path), std::string::npos);
}

TEST_F(SafeTensorsTest, FileShorterThanLengthFieldIsAnError) {
  const std::string path = Path("short.safetensors");
  std::ofstream(path, std::ios::binary) << "abc";
  const std::string message = ErrorOf([&] { SafeTensorsFile::Open(path); });
  EXPECT_NE(message.find("too short"), std::string::npos) << message;
}

TEST_F(SafeTensorsTest, HeaderLengthBeyondFileSizeIsAnError) {
  const std::string path = WriteRaw("long.safetensors", "{}", {}, /*length_field=*/1000000);
  const std::string message = ErrorOf([&] { SafeTensorsFile::Open(path); });
  EXPECT_NE(message.find("header length 1000000 exceeds"), std::string::npos) << message;
  EXPECT_NE(message.find(path), std::string::npos) << message;
  // The largest length field must not overflow the check.
  const std::string huge = WriteRaw("huge.safetensors", "{}", {}, INT64_MAX);
  EXPECT_NE(ErrorOf([&] { SafeTensorsFile::Open(huge); }).find("exceeds"), std::string::npos);
}

TEST_F(SafeTensorsTest, BadJsonIsAnError) {
  const std::string path = WriteRaw("bad.safetensors", R"({"a": {"dtype": "F32", )");
  const std::string message = ErrorOf([&] { SafeTensorsFile::Open(path); });
  EXPECT_NE(message.find("not valid JSON"), std::string::npos) << message;
  const std::string deep =
      WriteRaw("deep.safetensors", std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_NE(ErrorOf([&] { SafeTensorsFile::Open(deep); }).find("nested deeper"), std::string::npos);
  const std::string array = WriteRaw("array.safetensors", "[1, 2]");
  EXPECT_NE(ErrorOf([&] { SafeTensorsFile::Open(array); }).find("not a JSON object"),
            std::string::npos);
}

TEST_F(SafeTensorsTest, MalformedEntriesAreErrorsNamingTheTensor) {
  const char* headers[] = {
      R"({"w":{"shape":[1],"data_offsets":[0,4]}})",
      R"({"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})",
      R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})",
      R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})",
      R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})",
      R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})",
      R"({"w":7})",
      R"({"__metadata__":{"k":1}})",
  };
  const float value = 1.0f;
  for (const char* header : headers) {
    const std::string path = WriteRaw("entry.safetensors", header, Bytes(&value, 4));
    const std::string message = ErrorOf([&] { SafeTensorsFile::Open(path); });
    EXPECT_TRUE(message.find("'w'") != std::string::npos ||
                message.find("__metadata__") != std::string::npos)
        << header << " -> " << message;
  }
}

TEST_F(SafeTensorsTest, MissingTensorIsAnErrorNamingIt) {
  const float a[2] = {1, 2};
  const std::string path = Path("m.safetensors");
  WriteSafeTensors(path, {{"present", {2}, a}});
  const SafeTensorsFile file = SafeTensorsFile::Open(path);
  EXPECT_FALSE(file.Has("absent"));
  const std::string message = ErrorOf([&] { file.Read("absent", {2}); });
  EXPECT_NE(message.find("'absent'"), std::string::npos) << message;
  EXPECT_NE(message.find("missing"), std::string::npos) << message;
  EXPECT_NE(message.find(path), std::string::npos) << message;
}

TEST_F(SafeTensorsTest, WrongShapeSaysExpectedAndFound) {
  const std::vector<float> a(6, 1.0f);
  const std::string path = Path("s.safetensors");
  WriteSafeTensors(path, {{"w", {2, 3}, a.data()}});
  const SafeTensorsFile file = SafeTensorsFile::Open(path);
  std::vector<float> out(6);
  const std::string message = ErrorOf([&] { file.Read("w", {3, 2}, out.data()); });
  EXPECT_NE(message.find("expected shape [3, 2], found [2, 3]"), std::string::npos) << message;
  EXPECT_NE(message.find("'w'"), std::string::npos) << message;
  EXPECT_NE(ErrorOf([&] { file.Read("w", {6}); }).find("found [2, 3]"), std::string::npos);
}

TEST_F(SafeTensorsTest, UnsupportedDtypeIsAnErrorOnRead) {
  const int64_t values[2] = {1, 2};
  const std::string path =
      WriteRaw("i64.safetensors", R"({"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})",
               Bytes(values, sizeof values));
  const SafeTensorsFile file = SafeTensorsFile::Open(path);  // listing it is fine
  const std::string message = ErrorOf([&] { file.Read("ids", {2}); });
  EXPECT_NE(message.find("unsupported dtype I64"), std::string::npos) << message;
  EXPECT_NE(message.find("'ids'"), std::string::npos) << message;
  const std::string unknown =
      WriteRaw("q.safetensors", R"({"q":{"dtype":"Q4_K","shape":[2],"data_offsets":[0,16]}})",
               Bytes(values, sizeof values));
  EXPECT_NE(ErrorOf([&] {
              SafeTensorsFile::Open(unknown).Read("q", {2});
            }).find("unsupported dtype Q4_K"),
            std::string::npos);
}

TEST_F(SafeTensorsTest, OffsetsOutOfRangeAreAnError) {
  const float value[2] = {1, 2};
  const std::string path =
      WriteRaw("o.safetensors", R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
               Bytes(value, sizeof value));
  const std::string message = ErrorOf([&] { SafeTensorsFile::Open(path); });
  EXPECT_NE(message.find("beyond the data section of 8 bytes"), std::string::npos) << message;
  EXPECT_NE(message.find("'w'"), std::string::npos) << message;
}

TEST_F(SafeTensorsTest, ByteSizeInconsistentWithShapeIsAnError) {
  const float value[4] = {1, 2, 3, 4};
  const std::string path =
      WriteRaw("z.safetensors", R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})",
               Bytes(value, sizeof value));
  const std::string message = ErrorOf([&] { SafeTensorsFile::Open(path); });
  EXPECT_NE(message.find("holds 16 bytes but dtype F32 and shape [3] need 12"), std::string::npos)
      << message;
}

TEST_F(SafeTensorsTest, TruncatedFileIsAnError) {
  const std::vector<float> a(1000, 0.5f), b(1000, 1.5f);
  const std::string path = Path("cut.safetensors");
  WriteSafeTensors(path, {{"a", {1000}, a.data()}, {"b", {1000}, b.data()}});
  fs::resize_file(path, fs::file_size(path) - 100);
  const std::string message = ErrorOf([&] { SafeTensorsFile::Open(path); });
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;
  EXPECT_NE(message.find("'b'"), std::string::npos) << message;
}

TEST_F(SafeTensorsTest, FileTruncatedAfterOpenIsAnErrorOnRead) {
  const std::vector<float> a(1000, 0.5f);
  const std::string path = Path("later.safetensors");
  WriteSafeTensors(path, {{"a", {1000}, a.data()}});
  const SafeTensorsFile file = SafeTensorsFile::Open(path);
  fs::resize_file(path, fs::file_size(path) - 100);
  const std::string message = ErrorOf([&] { file.Read("a", {1000}); });
  EXPECT_NE(message.find("file ends before"), std::string::npos) << message;
}

TEST_F(SafeTensorsTest, WriterRejectsDuplicateNamesAndUnwritablePaths) {
  const float a[1] = {1};
  const std::string path = Path("dup.safetensors");
  EXPECT_NE(ErrorOf([&] {
              WriteSafeTensors(path, {{"x", {1}, a}, {"x", {1}, a}});
            }).find("written twice"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(path));
  const std::string bad = Path("no/such/dir/w.safetensors");
  EXPECT_NE(ErrorOf([&] {
              WriteSafeTensors(bad, {{"x", {1}, a}});
            }).find("cannot open"),
            std::string::npos);
}

}  // namespace
}  // namespace rlvr
