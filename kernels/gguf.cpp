#include "kernels/gguf.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "kernels/kquant.h"
#include "kernels/quant.h"

namespace rlvr {

static_assert(std::endian::native == std::endian::little,
              "GGUF tensor data is little-endian; this reader copies it as is");

namespace {

constexpr uint64_t kDefaultAlignment = 32;
constexpr int kMaxDims = 4;          // GGML_MAX_DIMS
constexpr int kMaxArrayNesting = 8;  // arrays of arrays: real files use none

struct TypeEntry {
  GgmlType type;
  GgmlTypeTraits traits;
};

// Sizes as GGML defines them (ggml_type_traits: blck_size, type_size).
constexpr TypeEntry kTypes[] = {
    {GgmlType::kF32, {"F32", 1, 4}},
    {GgmlType::kF16, {"F16", 1, 2}},
    {GgmlType::kQ4_0, {"Q4_0", 32, 18}},
    {GgmlType::kQ4_1, {"Q4_1", 32, 20}},
    {GgmlType::kQ5_0, {"Q5_0", 32, 22}},
    {GgmlType::kQ5_1, {"Q5_1", 32, 24}},
    {GgmlType::kQ8_0, {"Q8_0", 32, 34}},
    {GgmlType::kQ8_1, {"Q8_1", 32, 36}},
    {GgmlType::kQ2_K, {"Q2_K", 256, 84}},
    {GgmlType::kQ3_K, {"Q3_K", 256, 110}},
    {GgmlType::kQ4_K, {"Q4_K", 256, 144}},
    {GgmlType::kQ5_K, {"Q5_K", 256, 176}},
    {GgmlType::kQ6_K, {"Q6_K", 256, 210}},
    {GgmlType::kQ8_K, {"Q8_K", 256, 292}},
    {GgmlType::kIQ2_XXS, {"IQ2_XXS", 256, 66}},
    {GgmlType::kIQ2_XS, {"IQ2_XS", 256, 74}},
    {GgmlType::kIQ3_XXS, {"IQ3_XXS", 256, 98}},
    {GgmlType::kIQ1_S, {"IQ1_S", 256, 50}},
    {GgmlType::kIQ4_NL, {"IQ4_NL", 32, 18}},
    {GgmlType::kIQ3_S, {"IQ3_S", 256, 110}},
    {GgmlType::kIQ2_S, {"IQ2_S", 256, 82}},
    {GgmlType::kIQ4_XS, {"IQ4_XS", 256, 136}},
    {GgmlType::kI8, {"I8", 1, 1}},
    {GgmlType::kI16, {"I16", 1, 2}},
    {GgmlType::kI32, {"I32", 1, 4}},
    {GgmlType::kI64, {"I64", 1, 8}},
    {GgmlType::kF64, {"F64", 1, 8}},
    {GgmlType::kIQ1_M, {"IQ1_M", 256, 56}},
    {GgmlType::kBF16, {"BF16", 1, 2}},
    {GgmlType::kTQ1_0, {"TQ1_0", 256, 54}},
    {GgmlType::kTQ2_0, {"TQ2_0", 256, 66}},
};

static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_K) == 144 &&
                  sizeof(BlockQ6_K) == 210,
              "block sizes agree with the table");

// Bytes a value of a scalar type takes; 0 for kString and kArray (variable) and unknown types.
uint64_t ScalarSize(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kBool:
      return 1;
    case GgufValueType::kUint16:
    case GgufValueType::kInt16:
      return 2;
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kFloat32:
      return 4;
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
    case GgufValueType::kFloat64:
      return 8;
    default:
      return 0;
  }
}

bool KnownValueType(uint32_t type) {
  return type <= static_cast<uint32_t>(GgufValueType::kFloat64);
}

// The fewest bytes one value of the type can take in a file (a string's length, an array's type
// and count): bounds how many elements an array's count can honestly claim.
uint64_t MinimumSize(GgufValueType type) {
  if (type == GgufValueType::kString) return 8;
  if (type == GgufValueType::kArray) return 12;
  return ScalarSize(type);
}

bool CheckedMultiply(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > UINT64_MAX / a) return false;
  *out = a * b;
  return true;
}

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw GgufError("GGUF file '" + path + "': " + what);
}

[[noreturn]] void FailTensor(const std::string& path, const std::string& name,
                             const std::string& what) {
  throw GgufError("GGUF file '" + path + "', tensor '" + name + "': " + what);
}

std::string Printable(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

// Sequential reads of the header from a file stream or from memory, each checked against the
// bytes left so that a length field can never make it read past the end or allocate more than
// the file holds.
class HeaderReader {
 public:
  HeaderReader(const std::string& path, uint64_t size, std::istream* stream,
               const std::string* memory)
      : path_(path), size_(size), stream_(stream), memory_(memory) {}

  uint64_t position() const { return position_; }
  uint64_t remaining() const { return size_ - position_; }

  void Bytes(void* dst, uint64_t n, const std::string& what) {
    if (n > remaining()) {
      Fail(path_, what + ": needs " + std::to_string(n) + " bytes at offset " +
                      std::to_string(position_) + " but the file has " +
                      std::to_string(remaining()) + " left (truncated?)");
    }
    if (memory_ != nullptr) {
      std::memcpy(dst, memory_->data() + position_, n);
    } else {
      stream_->read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
      if (!*stream_ || static_cast<uint64_t>(stream_->gcount()) != n) {
        Fail(path_, what + ": read failed at offset " + std::to_string(position_));
      }
    }
    position_ += n;
  }

  uint64_t Unsigned(int bytes, const std::string& what) {
    unsigned char b[8];
    Bytes(b, bytes, what);
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | b[i];
    return v;
  }
  uint32_t U32(const std::string& what) { return static_cast<uint32_t>(Unsigned(4, what)); }
  uint64_t U64(const std::string& what) { return Unsigned(8, what); }

  std::string String(const std::string& what) {
    const uint64_t length = U64(what + " (string length)");
    if (length > remaining()) {
      Fail(path_, what + ": string length " + std::to_string(length) + " exceeds the " +
                      std::to_string(remaining()) + " bytes left in the file (truncated?)");
    }
    std::string s(length, '\0');
    Bytes(s.data(), length, what);
    return s;
  }

 private:
  const std::string& path_;
  uint64_t size_;
  uint64_t position_ = 0;
  std::istream* stream_;
  const std::string* memory_;
};

GgufValue ReadValue(HeaderReader& in, const std::string& path, GgufValueType type,
                    const std::string& what, int depth) {
  GgufValue v;
  v.type = type;
  switch (type) {
    case GgufValueType::kUint8:
    case GgufValueType::kUint16:
    case GgufValueType::kUint32:
    case GgufValueType::kUint64:
      v.uint_value = in.Unsigned(static_cast<int>(ScalarSize(type)), what);
      break;
    case GgufValueType::kInt8:
    case GgufValueType::kInt16:
    case GgufValueType::kInt32:
    case GgufValueType::kInt64: {
      const int bytes = static_cast<int>(ScalarSize(type));
      const uint64_t raw = in.Unsigned(bytes, what);
      const int shift = 64 - 8 * bytes;  // sign-extend
      v.int_value = static_cast<int64_t>(raw << shift) >> shift;
      break;
    }
    case GgufValueType::kFloat32:
      v.float_value = std::bit_cast<float>(static_cast<uint32_t>(in.Unsigned(4, what)));
      break;
    case GgufValueType::kFloat64:
      v.float_value = std::bit_cast<double>(in.Unsigned(8, what));
      break;
    case GgufValueType::kBool: {
      const uint64_t b = in.Unsigned(1, what);
      if (b > 1) Fail(path, what + ": bool value " + std::to_string(b) + " is neither 0 nor 1");
      v.uint_value = b;
      break;
    }
    case GgufValueType::kString:
      v.string_value = in.String(what);
      break;
    case GgufValueType::kArray: {
      if (depth >= kMaxArrayNesting) {
        Fail(path, what + ": arrays nested deeper than " + std::to_string(kMaxArrayNesting));
      }
      const uint32_t element_type = in.U32(what + " (array element type)");
      if (!KnownValueType(element_type)) {
        Fail(path, what + ": unknown array element type " + std::to_string(element_type));
      }
      v.array_type = static_cast<GgufValueType>(element_type);
      const uint64_t count = in.U64(what + " (array length)");
      if (count > in.remaining() / MinimumSize(v.array_type)) {
        Fail(path, what + ": array of " + std::to_string(count) + " " +
                       GgufValueTypeName(v.array_type) + " values cannot fit in the " +
                       std::to_string(in.remaining()) + " bytes left (truncated?)");
      }
      v.array.reserve(count);
      for (uint64_t i = 0; i < count; ++i) {
        v.array.push_back(
            ReadValue(in, path, v.array_type, what + "[" + std::to_string(i) + "]", depth + 1));
      }
      break;
    }
  }
  return v;
}

void AppendUnsigned(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void AppendString(std::string& out, const std::string& s) {
  AppendUnsigned(out, s.size(), 8);
  out += s;
}

void AppendValue(std::string& out, const GgufValue& v, const std::string& key) {
  const uint64_t size = ScalarSize(v.type);
  switch (v.type) {
    case GgufValueType::kUint8:
    case GgufValueType::kUint16:
    case GgufValueType::kUint32:
    case GgufValueType::kUint64:
    case GgufValueType::kBool:
      AppendUnsigned(out, v.uint_value, static_cast<int>(size));
      break;
    case GgufValueType::kInt8:
    case GgufValueType::kInt16:
    case GgufValueType::kInt32:
    case GgufValueType::kInt64:
      AppendUnsigned(out, static_cast<uint64_t>(v.int_value), static_cast<int>(size));
      break;
    case GgufValueType::kFloat32:
      AppendUnsigned(out, std::bit_cast<uint32_t>(static_cast<float>(v.float_value)), 4);
      break;
    case GgufValueType::kFloat64:
      AppendUnsigned(out, std::bit_cast<uint64_t>(v.float_value), 8);
      break;
    case GgufValueType::kString:
      AppendString(out, v.string_value);
      break;
    case GgufValueType::kArray:
      AppendUnsigned(out, static_cast<uint32_t>(v.array_type), 4);
      AppendUnsigned(out, v.array.size(), 8);
      for (const GgufValue& e : v.array) {
        if (e.type != v.array_type) {
          throw GgufError("GGUF metadata key '" + key + "': array of " +
                          GgufValueTypeName(v.array_type) + " holds a " +
                          GgufValueTypeName(e.type));
        }
        AppendValue(out, e, key);
      }
      break;
    default:
      throw GgufError("GGUF metadata key '" + key + "': unknown value type " +
                      std::to_string(static_cast<uint32_t>(v.type)));
  }
}

uint64_t AlignUp(uint64_t v, uint64_t alignment) {
  return (v + alignment - 1) / alignment * alignment;
}

bool PowerOfTwo(uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

}  // namespace

const GgmlTypeTraits* FindGgmlType(uint32_t type) {
  for (const TypeEntry& e : kTypes) {
    if (static_cast<uint32_t>(e.type) == type) return &e.traits;
  }
  return nullptr;
}

std::string GgmlTypeName(GgmlType type) {
  const GgmlTypeTraits* traits = FindGgmlType(static_cast<uint32_t>(type));
  return traits != nullptr ? traits->name : "type " + std::to_string(static_cast<uint32_t>(type));
}

bool GgmlTypeReadableAsFloat(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
    case GgmlType::kF16:
    case GgmlType::kBF16:
    case GgmlType::kQ8_0:
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_K:
    case GgmlType::kQ6_K:
      return true;
    default:
      return false;
  }
}

std::string GgufValueTypeName(GgufValueType type) {
  static const char* const kNames[] = {"uint8",  "int8",    "uint16", "int16",  "uint32",
                                       "int32",  "float32", "bool",   "string", "array",
                                       "uint64", "int64",   "float64"};
  const auto i = static_cast<uint32_t>(type);
  return i < 13 ? kNames[i] : "value type " + std::to_string(i);
}

GgufValue GgufValue::Uint(GgufValueType type, uint64_t v) {
  GgufValue value;
  value.type = type;
  value.uint_value = v;
  return value;
}

GgufValue GgufValue::Int(GgufValueType type, int64_t v) {
  GgufValue value;
  value.type = type;
  value.int_value = v;
  return value;
}

GgufValue GgufValue::Float32(float v) {
  GgufValue value;
  value.type = GgufValueType::kFloat32;
  value.float_value = v;
  return value;
}

GgufValue GgufValue::Float64(double v) {
  GgufValue value;
  value.type = GgufValueType::kFloat64;
  value.float_value = v;
  return value;
}

GgufValue GgufValue::Bool(bool v) {
  return Uint(GgufValueType::kBool, v ? 1 : 0);
}

GgufValue GgufValue::String(std::string v) {
  GgufValue value;
  value.type = GgufValueType::kString;
  value.string_value = std::move(v);
  return value;
}

GgufValue GgufValue::Array(GgufValueType element_type, std::vector<GgufValue> elements) {
  GgufValue value;
  value.type = GgufValueType::kArray;
  value.array_type = element_type;
  value.array = std::move(elements);
  return value;
}

bool GgufValue::operator==(const GgufValue& other) const {
  if (type != other.type) return false;
  switch (type) {
    case GgufValueType::kInt8:
    case GgufValueType::kInt16:
    case GgufValueType::kInt32:
    case GgufValueType::kInt64:
      return int_value == other.int_value;
    case GgufValueType::kFloat32:
    case GgufValueType::kFloat64:
      return std::bit_cast<uint64_t>(float_value) == std::bit_cast<uint64_t>(other.float_value);
    case GgufValueType::kString:
      return string_value == other.string_value;
    case GgufValueType::kArray:
      return array_type == other.array_type && array == other.array;
    default:
      return uint_value == other.uint_value;
  }
}

std::vector<int64_t> GgufTensorInfo::Shape() const {
  std::vector<int64_t> shape(dims.rbegin(), dims.rend());
  return shape;
}

GgufFile GgufFile::Open(const std::string& path) {
  return Parse(path, nullptr);
}

GgufFile GgufFile::FromBytes(std::string bytes, const std::string& name) {
  return Parse(name, std::make_shared<const std::string>(std::move(bytes)));
}

GgufFile GgufFile::Parse(const std::string& path, std::shared_ptr<const std::string> memory) {
  GgufFile file;
  file.path_ = path;
  file.memory_ = memory;
  std::ifstream stream;
  uint64_t file_size = 0;
  if (memory != nullptr) {
    file_size = memory->size();
  } else {
    stream.open(path, std::ios::binary);
    if (!stream) Fail(path, "cannot open for reading");
    stream.seekg(0, std::ios::end);
    file_size = static_cast<uint64_t>(stream.tellg());
    stream.seekg(0);
  }
  HeaderReader in(path, file_size, &stream, memory.get());

  std::string magic(4, '\0');
  in.Bytes(magic.data(), 4, "magic");
  if (magic != "GGUF") {
    Fail(path, "wrong magic '" + Printable(magic) + "' (a GGUF file starts with 'GGUF')");
  }
  file.version_ = in.U32("version");
  if (file.version_ != 2 && file.version_ != 3) {
    if (file.version_ == 0x02000000u || file.version_ == 0x03000000u) {
      Fail(path, "big-endian GGUF files are not supported");
    }
    Fail(path,
         "unsupported GGUF version " + std::to_string(file.version_) + " (supported: 2 and 3)");
  }
  const uint64_t tensor_count = in.U64("tensor count");
  const uint64_t key_count = in.U64("metadata key count");

  for (uint64_t i = 0; i < key_count; ++i) {
    const std::string label = "metadata key #" + std::to_string(i);
    std::string key = in.String(label);
    const std::string what = "metadata key '" + Printable(key) + "'";
    if (file.key_index_.count(key) != 0) Fail(path, what + " appears twice");
    const uint32_t type = in.U32(what + " value type");
    if (!KnownValueType(type)) Fail(path, what + ": unknown value type " + std::to_string(type));
    GgufValue value = ReadValue(in, path, static_cast<GgufValueType>(type), what + " value", 0);
    file.key_index_[key] = file.metadata_.size();
    file.metadata_.emplace_back(std::move(key), std::move(value));
  }

  if (file.HasKey("general.alignment")) {
    const GgufValue& a = file.Get("general.alignment");
    if (a.type != GgufValueType::kUint32 || !PowerOfTwo(a.uint_value)) {
      Fail(path, "general.alignment must be a uint32 power of two, found " +
                     GgufValueTypeName(a.type) + " " + std::to_string(a.uint_value));
    }
    file.alignment_ = a.uint_value;
  } else {
    file.alignment_ = kDefaultAlignment;
  }

  for (uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensorInfo t;
    t.name = in.String("tensor info #" + std::to_string(i) + " name");
    const std::string name = Printable(t.name);
    if (file.tensor_index_.count(t.name) != 0) FailTensor(path, name, "appears twice");
    const uint32_t n_dims = in.U32("tensor '" + name + "' dimension count");
    if (n_dims > kMaxDims) {
      FailTensor(path, name,
                 std::to_string(n_dims) + " dimensions (at most " + std::to_string(kMaxDims) + ")");
    }
    t.elements = 1;
    bool overflow = false;
    for (uint32_t d = 0; d < n_dims; ++d) {
      t.dims.push_back(in.U64("tensor '" + name + "' dims[" + std::to_string(d) + "]"));
      overflow = overflow || !CheckedMultiply(t.elements, t.dims.back(), &t.elements);
    }
    if (overflow || t.elements > static_cast<uint64_t>(INT64_MAX)) {
      FailTensor(path, name, "element count of dims overflows");
    }
    const uint32_t type = in.U32("tensor '" + name + "' type");
    const GgmlTypeTraits* traits = FindGgmlType(type);
    if (traits == nullptr) FailTensor(path, name, "unknown GGML type " + std::to_string(type));
    t.type = static_cast<GgmlType>(type);
    const uint64_t row = t.dims.empty() ? 1 : t.dims[0];
    if (row % traits->block_values != 0) {
      FailTensor(path, name,
                 "dims[0] = " + std::to_string(row) + " is not a multiple of " + traits->name +
                     "'s block of " + std::to_string(traits->block_values) + " values");
    }
    if (!CheckedMultiply(t.elements / traits->block_values, traits->block_bytes, &t.bytes)) {
      FailTensor(path, name, "byte size overflows");
    }
    t.offset = in.U64("tensor '" + name + "' offset");
    if (t.offset % file.alignment_ != 0) {
      FailTensor(path, name,
                 "offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                     std::to_string(file.alignment_));
    }
    file.tensor_index_[t.name] = file.tensors_.size();
    file.tensors_.push_back(std::move(t));
  }

  file.data_offset_ = AlignUp(in.position(), file.alignment_);
  const uint64_t data_size = file_size > file.data_offset_ ? file_size - file.data_offset_ : 0;
  for (const GgufTensorInfo& t : file.tensors_) {
    if (t.offset > data_size || t.bytes > data_size - t.offset) {
      FailTensor(path, Printable(t.name),
                 "data [" + std::to_string(t.offset) + ", +" + std::to_string(t.bytes) +
                     ") reaches beyond the data section of " + std::to_string(data_size) +
                     " bytes (truncated file?)");
    }
  }
  // No two tensors may share bytes.
  std::vector<const GgufTensorInfo*> by_offset;
  for (const GgufTensorInfo& t : file.tensors_) {
    if (t.bytes != 0) by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensorInfo& a = *by_offset[i - 1];
    const GgufTensorInfo& b = *by_offset[i];
    if (a.offset + a.bytes > b.offset) {
      FailTensor(path, Printable(b.name), "data overlaps tensor '" + Printable(a.name) + "'");
    }
  }
  return file;
}

const GgufValue& GgufFile::Get(const std::string& key) const {
  auto it = key_index_.find(key);
  if (it == key_index_.end()) Fail(path_, "metadata key '" + key + "' is missing");
  return metadata_[it->second].second;
}

uint64_t GgufFile::GetUint(const std::string& key) const {
  const GgufValue& v = Get(key);
  switch (v.type) {
    case GgufValueType::kUint8:
    case GgufValueType::kUint16:
    case GgufValueType::kUint32:
    case GgufValueType::kUint64:
      return v.uint_value;
    case GgufValueType::kInt8:
    case GgufValueType::kInt16:
    case GgufValueType::kInt32:
    case GgufValueType::kInt64:
      if (v.int_value >= 0) return static_cast<uint64_t>(v.int_value);
      Fail(path_, "metadata key '" + key + "' is negative (" + std::to_string(v.int_value) + ")");
    default:
      Fail(path_,
           "metadata key '" + key + "' is a " + GgufValueTypeName(v.type) + ", not an integer");
  }
}

std::string GgufFile::GetString(const std::string& key) const {
  const GgufValue& v = Get(key);
  if (v.type != GgufValueType::kString) {
    Fail(path_, "metadata key '" + key + "' is a " + GgufValueTypeName(v.type) + ", not a string");
  }
  return v.string_value;
}

double GgufFile::GetFloat(const std::string& key) const {
  const GgufValue& v = Get(key);
  if (v.type != GgufValueType::kFloat32 && v.type != GgufValueType::kFloat64) {
    Fail(path_, "metadata key '" + key + "' is a " + GgufValueTypeName(v.type) + ", not a float");
  }
  return v.float_value;
}

const GgufTensorInfo& GgufFile::Info(const std::string& name) const {
  auto it = tensor_index_.find(name);
  if (it == tensor_index_.end()) FailTensor(path_, name, "missing");
  return tensors_[it->second];
}

void GgufFile::ReadRaw(const std::string& name, void* dst, uint64_t dst_bytes) const {
  const GgufTensorInfo& t = Info(name);
  if (dst_bytes != t.bytes) {
    FailTensor(path_, name,
               "holds " + std::to_string(t.bytes) + " bytes, the destination " +
                   std::to_string(dst_bytes));
  }
  if (t.bytes == 0) return;
  const uint64_t begin = data_offset_ + t.offset;
  if (memory_ != nullptr) {
    // Checked at Parse; checked again so a reader can never run off the buffer.
    if (begin > memory_->size() || t.bytes > memory_->size() - begin) {
      FailTensor(path_, name, "data beyond the end of the buffer");
    }
    std::memcpy(dst, memory_->data() + begin, t.bytes);
    return;
  }
  std::ifstream in(path_, std::ios::binary);
  if (!in) Fail(path_, "cannot open for reading");
  in.seekg(static_cast<std::streamoff>(begin));
  in.read(static_cast<char*>(dst), static_cast<std::streamsize>(t.bytes));
  if (!in || static_cast<uint64_t>(in.gcount()) != t.bytes) {
    FailTensor(path_, name,
               "file ends before the tensor's " + std::to_string(t.bytes) +
                   " bytes (truncated since it was opened?)");
  }
}

std::vector<uint8_t> GgufFile::ReadRaw(const std::string& name) const {
  std::vector<uint8_t> bytes(Info(name).bytes);
  ReadRaw(name, bytes.data(), bytes.size());
  return bytes;
}

namespace {

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

template <typename Block>
void DequantizeRows(const std::vector<uint8_t>& raw, float* out, uint64_t rows, int row_values,
                    int block_values, void (*dequantize)(const Block*, float*, int)) {
  const uint64_t blocks_per_row = static_cast<uint64_t>(row_values) / block_values;
  std::vector<Block> row(blocks_per_row);
  for (uint64_t r = 0; r < rows; ++r) {
    std::memcpy(row.data(), raw.data() + r * blocks_per_row * sizeof(Block),
                blocks_per_row * sizeof(Block));
    dequantize(row.data(), out + r * row_values, row_values);
  }
}

}  // namespace

void GgufFile::ReadFloat(const std::string& name, const std::vector<int64_t>& expected_shape,
                         float* out) const {
  const GgufTensorInfo& t = Info(name);
  if (t.Shape() != expected_shape) {
    FailTensor(path_, name,
               "expected shape " + ShapeText(expected_shape) + ", found " + ShapeText(t.Shape()));
  }
  if (!GgmlTypeReadableAsFloat(t.type)) {
    FailTensor(path_, name,
               "type " + GgmlTypeName(t.type) +
                   " cannot be read as float (readable: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K)");
  }
  if (t.elements == 0) return;
  if (t.type == GgmlType::kF32) {
    ReadRaw(name, out, t.bytes);
    return;
  }
  const std::vector<uint8_t> raw = ReadRaw(name);
  if (t.type == GgmlType::kF16 || t.type == GgmlType::kBF16) {
    for (uint64_t i = 0; i < t.elements; ++i) {
      const uint16_t h = static_cast<uint16_t>(raw[2 * i] | (raw[2 * i + 1] << 8));
      out[i] = t.type == GgmlType::kF16 ? HalfToFloat(h)
                                        : std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
    }
    return;
  }
  // Quantized: dequantize row by row (a row is dims[0] values, whole blocks).
  const uint64_t row = t.dims.empty() ? 1 : t.dims[0];
  if (row > static_cast<uint64_t>(INT32_MAX)) {
    FailTensor(path_, name, "rows of " + std::to_string(row) + " values are too long");
  }
  const uint64_t rows = t.elements / row;
  const int n = static_cast<int>(row);
  switch (t.type) {
    case GgmlType::kQ8_0:
      DequantizeRows<BlockQ8_0>(raw, out, rows, n, kQuantBlock, DequantizeQ8_0);
      break;
    case GgmlType::kQ4_0:
      DequantizeRows<BlockQ4_0>(raw, out, rows, n, kQuantBlock, DequantizeQ4_0);
      break;
    case GgmlType::kQ4_K:
      DequantizeRows<BlockQ4_K>(raw, out, rows, n, kSuperBlock, DequantizeQ4_K);
      break;
    default:  // kQ6_K
      DequantizeRows<BlockQ6_K>(raw, out, rows, n, kSuperBlock, DequantizeQ6_K);
      break;
  }
}

std::vector<float> GgufFile::ReadFloat(const std::string& name,
                                       const std::vector<int64_t>& expected_shape) const {
  // Check first so a wrong expectation is reported before allocating for it.
  const GgufTensorInfo& t = Info(name);
  if (t.Shape() != expected_shape) {
    FailTensor(path_, name,
               "expected shape " + ShapeText(expected_shape) + ", found " + ShapeText(t.Shape()));
  }
  std::vector<float> out(t.elements);
  ReadFloat(name, expected_shape, out.data());
  return out;
}

std::string SerializeGguf(const std::vector<std::pair<std::string, GgufValue>>& metadata,
                          const std::vector<GgufTensorToWrite>& tensors) {
  uint64_t alignment = kDefaultAlignment;
  std::map<std::string, int> keys;
  for (const auto& [key, value] : metadata) {
    if (keys[key]++ != 0) throw GgufError("GGUF metadata key '" + key + "' given twice");
    if (key == "general.alignment") {
      if (value.type != GgufValueType::kUint32 || !PowerOfTwo(value.uint_value)) {
        throw GgufError("GGUF general.alignment must be a uint32 power of two");
      }
      alignment = value.uint_value;
    }
  }
  std::string out = "GGUF";
  AppendUnsigned(out, 3, 4);
  AppendUnsigned(out, tensors.size(), 8);
  AppendUnsigned(out, metadata.size(), 8);
  for (const auto& [key, value] : metadata) {
    AppendString(out, key);
    AppendUnsigned(out, static_cast<uint32_t>(value.type), 4);
    AppendValue(out, value, key);
  }
  std::vector<uint64_t> sizes, offsets;
  std::map<std::string, int> names;
  uint64_t offset = 0;
  for (const GgufTensorToWrite& t : tensors) {
    auto fail = [&](const std::string& what) {
      throw GgufError("GGUF tensor '" + t.name + "': " + what);
    };
    if (names[t.name]++ != 0) fail("written twice");
    const GgmlTypeTraits* traits = FindGgmlType(static_cast<uint32_t>(t.type));
    if (traits == nullptr) fail("unknown type " + std::to_string(static_cast<uint32_t>(t.type)));
    if (t.dims.empty() || t.dims.size() > kMaxDims) fail("needs 1 to 4 dims");
    if (t.dims[0] % traits->block_values != 0) {
      fail("dims[0] = " + std::to_string(t.dims[0]) + " is not a multiple of " + traits->name +
           "'s block of " + std::to_string(traits->block_values));
    }
    uint64_t elements = 1;
    for (uint64_t d : t.dims) {
      if (!CheckedMultiply(elements, d, &elements)) fail("element count overflows");
    }
    uint64_t bytes = 0;
    if (!CheckedMultiply(elements / traits->block_values, traits->block_bytes, &bytes)) {
      fail("byte size overflows");
    }
    if (bytes != 0 && t.data == nullptr) fail("no data");
    offset = AlignUp(offset, alignment);
    sizes.push_back(bytes);
    offsets.push_back(offset);
    offset += bytes;
    AppendString(out, t.name);
    AppendUnsigned(out, t.dims.size(), 4);
    for (uint64_t d : t.dims) AppendUnsigned(out, d, 8);
    AppendUnsigned(out, static_cast<uint32_t>(t.type), 4);
    AppendUnsigned(out, offsets.back(), 8);
  }
  out.resize(AlignUp(out.size(), alignment), '\0');
  const size_t data_start = out.size();
  for (size_t i = 0; i < tensors.size(); ++i) {
    out.resize(data_start + offsets[i], '\0');
    if (sizes[i] != 0) out.append(static_cast<const char*>(tensors[i].data), sizes[i]);
  }
  out.resize(AlignUp(out.size(), alignment), '\0');
  return out;
}

void WriteGguf(const std::string& path,
               const std::vector<std::pair<std::string, GgufValue>>& metadata,
               const std::vector<GgufTensorToWrite>& tensors) {
  const std::string bytes = SerializeGguf(metadata, tensors);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) Fail(path, "cannot open '" + tmp + "' for writing");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      Fail(path, "write failed (disk full?)");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    Fail(path, "cannot rename '" + tmp + "' into place: " + ec.message());
  }
}

}  // namespace rlvr
