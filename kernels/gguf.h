// Reading and writing GGUF (versions 2 and 3, little-endian), llama.cpp's model format: a header
// ("GGUF", version, tensor and key counts), typed metadata key-value pairs (integers, floats,
// bools, strings, nested arrays), tensor infos (name, dims, GGML type, offset), then the tensor
// data, each tensor aligned to general.alignment (default 32) from the start of the data section.
//
// Every tensor type's size is known, so offsets and sizes are checked at Open; tensors of types
// F32, F16, BF16, Q8_0, Q4_0, Q4_K and Q6_K can be read as float. Every malformed input (truncated,
// wrong magic, unsupported version, unknown type, bad or overlapping offsets, sizes that
// overflow, missing tensor or key) is a GgufError whose message names the file and the field or
// tensor; parsing never allocates more than the file's size justifies.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace rlvr {

class GgufError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class GgufValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// The GGML tensor types with their GGUF numbers (GGML's enum ggml_type).
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
};

struct GgmlTypeTraits {
  const char* name;       // "Q4_K"
  uint64_t block_values;  // values per block (1 for plain types)
  uint64_t block_bytes;   // bytes per block
};

// The traits of GGUF type number `type`, or nullptr for a number GGML does not define.
const GgmlTypeTraits* FindGgmlType(uint32_t type);
// "Q4_K", or "type 99" for an undefined number.
std::string GgmlTypeName(GgmlType type);
// Whether GgufFile::ReadFloat converts tensors of this type.
bool GgmlTypeReadableAsFloat(GgmlType type);

// One metadata value. `type` says which field holds it: uint_value (kUint*, kBool as 0/1),
// int_value (kInt*), float_value (kFloat32/kFloat64), string_value, or array (whose elements all
// have type array_type).
struct GgufValue {
  GgufValueType type = GgufValueType::kUint32;
  GgufValueType array_type = GgufValueType::kUint8;
  uint64_t uint_value = 0;
  int64_t int_value = 0;
  double float_value = 0.0;
  std::string string_value;
  std::vector<GgufValue> array;

  static GgufValue Uint(GgufValueType type, uint64_t v);  // kUint8/16/32/64
  static GgufValue Int(GgufValueType type, int64_t v);    // kInt8/16/32/64
  static GgufValue Uint32(uint32_t v) { return Uint(GgufValueType::kUint32, v); }
  static GgufValue Uint64(uint64_t v) { return Uint(GgufValueType::kUint64, v); }
  static GgufValue Int32(int32_t v) { return Int(GgufValueType::kInt32, v); }
  static GgufValue Float32(float v);
  static GgufValue Float64(double v);
  static GgufValue Bool(bool v);
  static GgufValue String(std::string v);
  static GgufValue Array(GgufValueType element_type, std::vector<GgufValue> elements);

  bool operator==(const GgufValue& other) const;
};

// "uint32", "array", ... for messages.
std::string GgufValueTypeName(GgufValueType type);

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> dims;  // GGML order: dims[0] varies fastest (a row's length)
  GgmlType type = GgmlType::kF32;
  uint64_t offset = 0;  // from the start of the data section
  uint64_t bytes = 0;
  uint64_t elements = 0;

  // The dims in row-major order (reversed), as safetensors and PyTorch spell a shape: a GGUF
  // matrix with dims {in, out} is [out, in].
  std::vector<int64_t> Shape() const;
};

// An opened GGUF file: header, metadata and tensor infos are parsed and checked at Open; tensor
// data is read on demand. Reads may run concurrently.
class GgufFile {
 public:
  static GgufFile Open(const std::string& path);
  // The same from bytes in memory; `name` stands for the path in messages.
  static GgufFile FromBytes(std::string bytes, const std::string& name = "<memory>");

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // where the data section starts

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  bool HasKey(const std::string& key) const { return key_index_.count(key) != 0; }
  // Throws GgufError if the key is missing.
  const GgufValue& Get(const std::string& key) const;
  // Typed getters: throw GgufError naming the key if it is missing or of another type (GetUint
  // takes any unsigned integer, or a signed one that is non-negative).
  uint64_t GetUint(const std::string& key) const;
  std::string GetString(const std::string& key) const;
  double GetFloat(const std::string& key) const;  // kFloat32 or kFloat64

  // Tensors in file order.
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  bool Has(const std::string& name) const { return tensor_index_.count(name) != 0; }
  // Throws GgufError if the tensor is missing.
  const GgufTensorInfo& Info(const std::string& name) const;

  // The tensor's bytes as stored (GGML blocks for quantized types). dst_bytes must equal
  // Info(name).bytes.
  void ReadRaw(const std::string& name, void* dst, uint64_t dst_bytes) const;
  std::vector<uint8_t> ReadRaw(const std::string& name) const;

  // The tensor converted to float (types F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K), row-major.
  // expected_shape is in row-major order (GgufTensorInfo::Shape); throws if it differs, if the
  // type is not readable, or if the file is shorter than its offsets say.
  void ReadFloat(const std::string& name, const std::vector<int64_t>& expected_shape,
                 float* out) const;
  std::vector<float> ReadFloat(const std::string& name,
                               const std::vector<int64_t>& expected_shape) const;

 private:
  static GgufFile Parse(const std::string& path, std::shared_ptr<const std::string> memory);

  std::string path_;
  std::shared_ptr<const std::string> memory_;  // set by FromBytes
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::map<std::string, size_t> key_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

struct GgufTensorToWrite {
  std::string name;
  std::vector<uint64_t> dims;  // GGML order, 1 to 4 of them
  GgmlType type = GgmlType::kF32;
  const void* data = nullptr;  // the bytes the type and dims need (GGML blocks when quantized)
};

// A GGUF version 3 file as bytes. Alignment is general.alignment from `metadata` if present (a
// uint32 power of two), else 32. Throws GgufError on an invalid tensor (unknown type, dims[0] not
// a multiple of the type's block, duplicate name, no data) or alignment.
std::string SerializeGguf(const std::vector<std::pair<std::string, GgufValue>>& metadata,
                          const std::vector<GgufTensorToWrite>& tensors);

// SerializeGguf written to path + ".tmp" and renamed into place.
void WriteGguf(const std::string& path,
               const std::vector<std::pair<std::string, GgufValue>>& metadata,
               const std::vector<GgufTensorToWrite>& tensors);

}  // namespace rlvr
