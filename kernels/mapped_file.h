// MappedFile: a whole file mapped read-only into memory (mmap), so model weights are paged in
// from the page cache on first use and a model's resident size stays close to its file size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace rlvr {

class MappedFile {
 public:
  // Throws std::runtime_error naming the path and the system's reason if the file cannot be
  // opened or mapped. An empty file maps to size() 0 and data() nullptr.
  static std::shared_ptr<const MappedFile> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  MappedFile(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  const uint8_t* data_;
  size_t size_;
};

}  // namespace rlvr
