#include "kernels/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "kernels/quant.h"

namespace rlvr {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; this reader copies it as is");

namespace {

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw SafeTensorsError("safetensors file '" + path + "': " + what);
}

[[noreturn]] void FailTensor(const std::string& path, const std::string& name,
                             const std::string& what) {
  throw SafeTensorsError("safetensors file '" + path + "', tensor '" + name + "': " + what);
}

// Element size of the dtypes the format defines; 0 for a name it does not.
uint64_t DtypeSize(const std::string& dtype) {
  static const std::map<std::string, uint64_t> sizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E4M3", 1}, {"F8_E5M2", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
      {"U32", 4},  {"F32", 4}, {"I64", 8}, {"U64", 8},     {"F64", 8}};
  auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

bool Readable(const std::string& dtype) {
  return dtype == "F32" || dtype == "F16" || dtype == "BF16";
}

// Deepest bracket nesting outside strings. The JSON parser recurses per level, so a hostile
// "[[[[..." header could exhaust the stack; a real header nests three levels.
int NestingDepth(const std::string& text) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (in_string) {
      if (ch == '\\') {
        ++i;
      } else if (ch == '"') {
        in_string = false;
      }
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '[' || ch == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (ch == ']' || ch == '}') {
      --depth;
    }
  }
  return deepest;
}

uint64_t ReadLittleEndian64(const unsigned char* b) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
  return v;
}

// Parses one header entry, checking its fields' types and that its bytes lie in the data section.
TensorInfo ParseEntry(const std::string& path, const std::string& name, const nlohmann::json& e,
                      uint64_t data_size) {
  if (!e.is_object()) FailTensor(path, name, "header entry is not a JSON object");
  if (!e.contains("dtype") || !e["dtype"].is_string()) {
    FailTensor(path, name, "header entry has no string \"dtype\"");
  }
  if (!e.contains("shape") || !e["shape"].is_array()) {
    FailTensor(path, name, "header entry has no array \"shape\"");
  }
  if (!e.contains("data_offsets") || !e["data_offsets"].is_array() ||
      e["data_offsets"].size() != 2) {
    FailTensor(path, name, "header entry has no two-element array \"data_offsets\"");
  }
  TensorInfo info;
  info.dtype = e["dtype"].get<std::string>();
  uint64_t elements = 1;
  for (const auto& d : e["shape"]) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0) {
      FailTensor(path, name, "shape has a dimension that is not a non-negative integer");
    }
    const auto dim = d.get<int64_t>();
    if (dim != 0 && elements > UINT64_MAX / 16 / static_cast<uint64_t>(dim)) {
      FailTensor(path, name, "shape is too large");
    }
    elements *= static_cast<uint64_t>(dim);
    info.shape.push_back(dim);
  }
  for (const auto& o : e["data_offsets"]) {
    if (!o.is_number_unsigned() && !(o.is_number_integer() && o.get<int64_t>() >= 0)) {
      FailTensor(path, name, "data_offsets must be non-negative integers");
    }
  }
  info.begin = e["data_offsets"][0].get<uint64_t>();
  info.end = e["data_offsets"][1].get<uint64_t>();
  if (info.begin > info.end) {
    FailTensor(path, name,
               "data_offsets [" + std::to_string(info.begin) + ", " + std::to_string(info.end) +
                   "] are reversed");
  }
  if (info.end > data_size) {
    FailTensor(path, name,
               "data_offsets [" + std::to_string(info.begin) + ", " + std::to_string(info.end) +
                   "] reach beyond the data section of " + std::to_string(data_size) +
                   " bytes (truncated file?)");
  }
  const uint64_t element_size = DtypeSize(info.dtype);
  if (element_size != 0 && info.end - info.begin != elements * element_size) {
    FailTensor(path, name,
               "holds " + std::to_string(info.end - info.begin) + " bytes but dtype " + info.dtype +
                   " and shape " + ShapeToString(info.shape) + " need " +
                   std::to_string(elements * element_size));
  }
  return info;
}

}  // namespace

std::string ShapeToString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

SafeTensorsFile SafeTensorsFile::Open(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail(path, "cannot open for reading");
  in.seekg(0, std::ios::end);
  const auto file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  if (file_size < 8) {
    Fail(path,
         "is " + std::to_string(file_size) + " bytes, too short for the 8-byte header length");
  }
  unsigned char length_bytes[8];
  in.read(reinterpret_cast<char*>(length_bytes), 8);
  const uint64_t header_size = ReadLittleEndian64(length_bytes);
  if (header_size > file_size - 8) {
    Fail(path, "header length " + std::to_string(header_size) + " exceeds the " +
                   std::to_string(file_size - 8) + " bytes after the length field");
  }
  std::string header(header_size, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_size));
  if (!in) Fail(path, "could not read the " + std::to_string(header_size) + "-byte header");

  constexpr int kMaxNesting = 64;
  if (NestingDepth(header) > kMaxNesting) {
    Fail(path, "header is not valid JSON for safetensors: nested deeper than " +
                   std::to_string(kMaxNesting) + " levels");
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const nlohmann::json::exception& e) {
    Fail(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) Fail(path, "header is not a JSON object");

  SafeTensorsFile file;
  file.path_ = path;
  file.data_start_ = 8 + header_size;
  const uint64_t data_size = file_size - file.data_start_;
  for (const auto& [key, value] : j.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) Fail(path, "__metadata__ is not a JSON object");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) Fail(path, "__metadata__ value of '" + mk + "' is not a string");
        file.metadata_[mk] = mv.get<std::string>();
      }
      continue;
    }
    file.tensors_[key] = ParseEntry(path, key, value, data_size);
  }
  return file;
}

const TensorInfo& SafeTensorsFile::Info(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) FailTensor(path_, name, "missing");
  return it->second;
}

std::vector<std::string> SafeTensorsFile::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, info] : tensors_) names.push_back(name);
  return names;
}

void SafeTensorsFile::Read(const std::string& name, const std::vector<int64_t>& expected_shape,
                           float* out) const {
  const TensorInfo& info = Info(name);
  if (info.shape != expected_shape) {
    FailTensor(
        path_, name,
        "expected shape " + ShapeToString(expected_shape) + ", found " + ShapeToString(info.shape));
  }
  if (!Readable(info.dtype)) {
    FailTensor(path_, name, "unsupported dtype " + info.dtype + " (supported: F32, F16, BF16)");
  }
  const uint64_t bytes = info.end - info.begin;
  std::ifstream in(path_, std::ios::binary);
  if (!in) Fail(path_, "cannot open for reading");
  in.seekg(static_cast<std::streamoff>(data_start_ + info.begin));
  auto read_into = [&](void* dst) {
    in.read(static_cast<char*>(dst), static_cast<std::streamsize>(bytes));
    if (!in || static_cast<uint64_t>(in.gcount()) != bytes) {
      FailTensor(path_, name, "file ends before the tensor's " + std::to_string(bytes) + " bytes");
    }
  };
  if (info.dtype == "F32") {
    read_into(out);
    return;
  }
  std::vector<uint16_t> raw(bytes / 2);
  read_into(raw.data());
  if (info.dtype == "F16") {
    for (size_t i = 0; i < raw.size(); ++i) out[i] = HalfToFloat(raw[i]);
  } else {  // BF16: the top 16 bits of a float
    for (size_t i = 0; i < raw.size(); ++i) {
      out[i] = std::bit_cast<float>(static_cast<uint32_t>(raw[i]) << 16);
    }
  }
}

std::vector<float> SafeTensorsFile::Read(const std::string& name,
                                         const std::vector<int64_t>& expected_shape) const {
  size_t elements = 1;
  for (int64_t d : expected_shape) elements *= static_cast<size_t>(d < 0 ? 0 : d);
  // Check first so a wrong expectation is reported before allocating for it.
  const TensorInfo& info = Info(name);
  if (info.shape != expected_shape) {
    FailTensor(
        path_, name,
        "expected shape " + ShapeToString(expected_shape) + ", found " + ShapeToString(info.shape));
  }
  std::vector<float> out(elements);
  Read(name, expected_shape, out.data());
  return out;
}

void WriteSafeTensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::vector<uint64_t> sizes;
  for (const auto& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__")
      Fail(path, "invalid tensor name '" + t.name + "'");
    if (header.contains(t.name)) FailTensor(path, t.name, "written twice");
    uint64_t elements = 1;
    for (int64_t d : t.shape) {
      if (d < 0) FailTensor(path, t.name, "negative dimension in " + ShapeToString(t.shape));
      elements *= static_cast<uint64_t>(d);
    }
    if (elements != 0 && t.data == nullptr) FailTensor(path, t.name, "no data");
    sizes.push_back(elements * sizeof(float));
    header[t.name] = {
        {"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + sizes.back()}}};
    offset += sizes.back();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) Fail(path, "cannot open '" + tmp + "' for writing");
    unsigned char length_bytes[8];
    uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) length_bytes[i] = static_cast<unsigned char>(n >> (8 * i));
    out.write(reinterpret_cast<const char*>(length_bytes), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (size_t i = 0; i < tensors.size(); ++i) {
      out.write(reinterpret_cast<const char*>(tensors[i].data),
                static_cast<std::streamsize>(sizes[i]));
    }
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
