// Reading and writing the safetensors format: an 8-byte little-endian header length, a JSON
// header mapping tensor names to {dtype, shape, data_offsets}, then the raw tensor bytes. Reads
// F32, F16 and BF16 (converted to float); writes F32. Every malformed input is reported as a
// SafeTensorsError whose message names the file and, where it applies, the tensor.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace rlvr {

class SafeTensorsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TensorInfo {
  std::string dtype;  // as spelled in the file: "F32", "F16", "BF16", "I64", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data section, [begin, end)
  uint64_t end = 0;
};

// An opened safetensors file: the header is parsed and checked at Open (offsets inside the file,
// byte sizes consistent with dtype and shape); tensor data is read on demand.
class SafeTensorsFile {
 public:
  static SafeTensorsFile Open(const std::string& path);

  const std::string& path() const { return path_; }
  bool Has(const std::string& name) const { return tensors_.count(name) != 0; }
  // Throws SafeTensorsError if the tensor is missing.
  const TensorInfo& Info(const std::string& name) const;
  std::vector<std::string> Names() const;
  // The optional "__metadata__" string map.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Reads tensor `name` converted to float into out (which must hold the product of
  // expected_shape elements). Throws if it is missing, its shape differs from expected_shape, its
  // dtype is not F32/F16/BF16, or the file is shorter than its offsets say.
  void Read(const std::string& name, const std::vector<int64_t>& expected_shape, float* out) const;
  std::vector<float> Read(const std::string& name,
                          const std::vector<int64_t>& expected_shape) const;

 private:
  std::string path_;
  uint64_t data_start_ = 0;  // file offset of the data section
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

struct TensorToWrite {
  std::string name;
  std::vector<int64_t> shape;
  const float* data = nullptr;  // product of shape elements
};

// Writes an F32 safetensors file (header padded to 8 bytes as the format recommends). Writes to
// path + ".tmp" then renames, so a failure never leaves a half-written file under `path`.
void WriteSafeTensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// "[2, 3]", for messages.
std::string ShapeToString(const std::vector<int64_t>& shape);

}  // namespace rlvr
