#include "harness/base/scratch_tree.h"

#include <stdlib.h>

#include <fstream>
#include <stdexcept>
#include <system_error>

namespace rlvr {

namespace fs = std::filesystem;

ScratchTree::ScratchTree(const std::string& prefix,
                         const std::map<std::string, std::string>& files) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("cannot create a temporary folder in " +
                             fs::temp_directory_path().string());
  root_ = pattern;
  try {
    for (const auto& [path, content] : files) {
      fs::create_directories((root_ / path).parent_path());
      std::ofstream out(root_ / path, std::ios::binary);
      out << content;
      if (!out) throw std::runtime_error("cannot write " + (root_ / path).string());
    }
  } catch (...) {
    // The destructor does not run for a constructor that throws.
    std::error_code ignored;
    fs::remove_all(root_, ignored);
    throw;
  }
}

ScratchTree::~ScratchTree() {
  std::error_code ignored;
  fs::remove_all(root_, ignored);
}

}  // namespace rlvr
