#include "harness/base/file_text.h"

#include <fstream>
#include <sstream>

namespace rlvr {

std::string ReadFileText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace rlvr
