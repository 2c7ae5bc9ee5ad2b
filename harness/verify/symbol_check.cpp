#include "harness/verify/symbol_check.h"

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/base/process.h"

namespace rlvr {

namespace {

namespace fs = std::filesystem;

// Standard headers without extension (<vector>, <cmath>, <bit>...) are the C++ library; these
// are the extension-bearing ones a kernel may need: intrinsics and the C library's purely
// computational headers (types, limits, math, memory and string functions on the caller's
// buffers).
const std::set<std::string>& AllowedDotHHeaders() {
  static const std::set<std::string> headers = {
      "immintrin.h",  "x86intrin.h",     "xmmintrin.h", "emmintrin.h",  "pmmintrin.h",
      "tmmintrin.h",  "smmintrin.h",     "nmmintrin.h", "wmmintrin.h",  "avxintrin.h",
      "avx2intrin.h", "avx512fintrin.h", "fmaintrin.h", "f16cintrin.h", "arm_neon.h",
      "arm_sve.h",    "arm_fp16.h",      "arm_acle.h",  "math.h",       "stdint.h",
      "stddef.h",     "string.h",        "float.h",     "limits.h",     "assert.h",
      "stdlib.h",     "stdbool.h",       "stdalign.h",  "stdarg.h",     "inttypes.h",
      "iso646.h",     "stdnoreturn.h",   "complex.h",   "tgmath.h",     "errno.h",
      "ctype.h",      "stdatomic.h",     "uchar.h",     "stdbit.h",     "stdckdint.h"};
  return headers;
}

// Standard headers whose whole purpose is what kernels must not do.
const std::set<std::string>& ForbiddenStdHeaders() {
  static const std::set<std::string> headers = {"thread", "future", "fstream", "filesystem",
                                                "csignal"};
  return headers;
}

// C headers for time, I/O, threads, signals, non-local jumps, locale or floating-point
// environment state, and the POSIX interface (system calls): refused with that reason.
const std::set<std::string>& ForbiddenCHeaders() {
  static const std::set<std::string> headers = {
      "stdio.h",  "time.h",  "threads.h", "pthread.h", "signal.h",    "setjmp.h",
      "locale.h", "wchar.h", "fenv.h",    "unistd.h",  "fcntl.h",     "dlfcn.h",
      "sched.h",  "spawn.h", "dirent.h",  "syscall.h", "stdio_ext.h", "wctype.h"};
  return headers;
}

struct Pattern {
  std::regex re;
  const char* reason;
};

const std::vector<Pattern>& ForbiddenPatterns() {
  static const std::vector<Pattern> patterns = {
      {std::regex(R"(\b(asm|__asm__|__asm)\b)"), "inline assembly (use intrinsics)"},
      {std::regex(R"(\b(secure_getenv|getenv|environ)\b)"), "reads the environment"},
      {std::regex(R"(\b(fork|vfork|execve?|execvp|system|popen|posix_spawn|clone)\s*\()"),
       "creates a process"},
      {std::regex(R"(\b(std::thread|std::jthread|pthread_create|std::async)\b)"),
       "creates a thread (use the repository's thread pool)"},
      {std::regex(R"(\b(fopen|freopen|open|openat|creat)\s*\()"), "accesses files"},
      {std::regex(R"(\bstd::(ofstream|ifstream|fstream|filesystem)\b)"), "accesses files"},
      {std::regex(R"(\b(dlopen|dlsym)\b)"), "loads code dynamically"},
      // A kernel that knows which program calls it can behave under the default oracle's
      // driver (or the tests) and differently elsewhere.
      {std::regex(
           R"(\b(program_invocation_name|program_invocation_short_name|__progname|)"
           R"(getauxval|dl_iterate_phdr|__builtin_return_address|__builtin_frame_address)\b)"),
       "identifies the calling program (could tell the oracle's driver from the real one)"},
      {std::regex(R"(\bsyscall\b)"), "makes a raw system call"},
      {std::regex(R"(__attribute__\s*\(\(\s*weak|\[\[\s*gnu::weak|#\s*pragma\s+weak)"),
       "declares a weak symbol (could override library functions)"},
  };
  return patterns;
}

// Drops // comments and the contents of string literals, so prose and messages don't trip the
// patterns. (Block comments spanning lines are rare in added lines; single-line ones are
// handled.)
std::string StripCommentsAndStrings(const std::string& line) {
  std::string out;
  bool in_string = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
        out += '"';
      }
      continue;
    }
    if (c == '/' && i + 1 < line.size() && line[i + 1] == '/') break;
    if (c == '/' && i + 1 < line.size() && line[i + 1] == '*') {
      size_t end = line.find("*/", i + 2);
      if (end == std::string::npos) break;
      i = end + 1;
      continue;
    }
    if (c == '"') in_string = true;
    out += c;
  }
  return out;
}

std::string CheckInclude(const std::string& line, const std::string& file,
                         const fs::path& repo_root) {
  static const std::regex include_re(R"(^\s*#\s*include\s*([<"])([^>"]*)[>"])");
  std::smatch m;
  if (!std::regex_search(line, m, include_re)) return "";
  std::string name = m[2];
  if (m[1] == "<") {
    if (ForbiddenStdHeaders().count(name))
      return fmt::format("#include <{}>: kernels may not do I/O, threads or signals", name);
    if (ForbiddenCHeaders().count(name) || name.rfind("sys/", 0) == 0)
      return fmt::format(
          "#include <{}>: kernels may not do I/O, read clocks, start threads or make system "
          "calls (only the C and C++ standard library's computational headers and intrinsics "
          "headers are allowed)",
          name);
    bool plain = name.find('/') == std::string::npos && name.find('.') == std::string::npos;
    if (plain || AllowedDotHHeaders().count(name)) return "";
    return fmt::format(
        "#include <{}>: only the C and C++ standard library's computational headers (e.g. "
        "<stdint.h>, <stdbool.h>, <string.h>, <math.h>, <vector>) and intrinsics headers are "
        "allowed",
        name);
  }
  if (name.find("..") != std::string::npos || (!name.empty() && name.front() == '/'))
    return fmt::format("#include \"{}\": must name a file inside the repository", name);
  std::error_code ec;
  fs::path beside = repo_root / fs::path(file).parent_path() / name;
  if (fs::is_regular_file(repo_root / name, ec) || fs::is_regular_file(beside, ec)) return "";
  return fmt::format("#include \"{}\": no such file in the repository", name);
}

}  // namespace

std::vector<std::string> CheckAddedSource(const std::string& diff, const fs::path& repo_root) {
  std::vector<std::string> problems;
  std::istringstream in(diff);
  std::string file;
  int new_line = 0;
  static const std::regex hunk_re(R"(^@@ -\d+(?:,\d+)? \+(\d+))");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("+++ ", 0) == 0) {
      file = line.substr(4);
      if (file.rfind("b/", 0) == 0) file = file.substr(2);
      continue;
    }
    std::smatch m;
    if (std::regex_search(line, m, hunk_re)) {
      new_line = std::stoi(m[1]);
      continue;
    }
    if (line.rfind("---", 0) == 0 && line.rfind("--- ", 0) == 0) continue;
    if (!line.empty() && line[0] == '-') continue;
    if (line.empty() || line[0] != '+') {
      if (!line.empty() && line[0] == ' ') ++new_line;
      continue;
    }
    std::string code = line.substr(1);
    std::string where = fmt::format("{}:{}", file, new_line);
    ++new_line;
    if (std::string reason = CheckInclude(code, file, repo_root); !reason.empty()) {
      problems.push_back(where + ": " + reason);
      continue;
    }
    std::string stripped = StripCommentsAndStrings(code);
    for (const auto& pattern : ForbiddenPatterns()) {
      if (std::regex_search(stripped, pattern.re)) {
        problems.push_back(where + ": " + pattern.reason);
        break;
      }
    }
  }
  return problems;
}

std::vector<DefinedSymbol> DefinedSymbols(const fs::path& object_file) {
  RunOptions options;
  options.limits.wall_seconds = 60;
  ProcessResult mangled = RunProcess({"nm", "--defined-only", object_file.string()}, options);
  ProcessResult demangled =
      RunProcess({"nm", "-C", "--defined-only", object_file.string()}, options);
  if (!mangled.ok() || !demangled.ok())
    throw std::runtime_error(
        fmt::format("nm {} failed: {} {}", object_file.string(), mangled.Describe(), mangled.err));
  std::vector<DefinedSymbol> symbols;
  std::istringstream a(mangled.out), b(demangled.out);
  std::string la, lb;
  while (std::getline(a, la) && std::getline(b, lb)) {
    // "<address> <type> <name>"; address may be absent.
    auto parse = [](const std::string& line, char* type, std::string* name) {
      size_t first = line.find(' ');
      if (first == std::string::npos) return false;
      size_t type_at = line.find_first_not_of(' ', first);
      if (type_at == std::string::npos || type_at + 2 > line.size()) return false;
      *type = line[type_at];
      *name = line.substr(type_at + 2);
      return true;
    };
    DefinedSymbol symbol;
    std::string ignored;
    char type_b;
    if (!parse(la, &symbol.type, &symbol.mangled) || !parse(lb, &type_b, &symbol.demangled))
      continue;
    symbols.push_back(std::move(symbol));
  }
  return symbols;
}

namespace {

// "rlvr" -> "4rlvr", "xxh::detail" -> "3xxh6detail": the namespace as it appears in a mangled name.
std::string MangledNamespace(const std::string& name) {
  std::string out;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find("::", start);
    if (end == std::string::npos) end = name.size();
    std::string part = name.substr(start, end - start);
    if (!part.empty()) out += std::to_string(part.size()) + part;
    start = end + 2;
  }
  return out;
}

std::string RegexEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

bool IsInNamespace(const std::string& mangled, const std::string& namespace_name) {
  std::string encoded = MangledNamespace(namespace_name);
  if (encoded.empty()) return false;
  // Functions and data _ZN<ns>..., const members _ZNK, local statics _ZZN, guards, vtables,
  // typeinfo and TLS wrappers of the namespace's entities.
  // Compiled once per namespace (the binary audit asks for thousands of symbols).
  thread_local std::string cached_namespace;
  thread_local std::regex cached_re;
  if (cached_namespace != encoded) {
    cached_re = std::regex("^_Z(?:TV|TI|TS|TH|TW|GV|GR\\d*_?)?Z?N?[KVR]*" + RegexEscape(encoded));
    cached_namespace = encoded;
  }
  return std::regex_search(mangled, cached_re);
}

}  // namespace

bool IsAllowedSymbol(const DefinedSymbol& symbol, const SymbolRules& rules) {
  char t = symbol.type;
  // Local symbols (lowercase, except the weak kinds) are invisible to the linker.
  if (t >= 'a' && t <= 'z' && t != 'v' && t != 'w' && t != 'u' && t != 'i') return true;
  const std::string& name = symbol.mangled;
  if (IsInNamespace(name, rules.namespace_name)) return true;
  if (!rules.prefix.empty() &&
      (name.rfind(rules.prefix, 0) == 0 || symbol.demangled.rfind(rules.prefix, 0) == 0))
    return true;
  // Anonymous namespace symbols are local; GCC mangles them "_GLOBAL__N_1".
  if (name.find("_GLOBAL__N_") != std::string::npos && name.rfind("_Z", 0) == 0 &&
      (t == 't' || t == 'd' || t == 'b' || t == 'r'))
    return true;
  // Weak (COMDAT) instantiations of standard library templates: std::vector<float>::... A
  // strong definition in std:: would replace the library's, so only weak ones pass.
  bool weak = t == 'W' || t == 'V' || t == 'u';
  static const std::regex std_re(R"(^_Z(?:TV|TI|TS|GV)?N?K?(?:St|Sa|Sb|Ss|Si|So|Sd|9__gnu_cxx))");
  if (weak && std::regex_search(name, std_re)) return true;
  return false;
}

std::string DescribeSymbolRules(const SymbolRules& rules) {
  std::vector<std::string> parts;
  if (!rules.namespace_name.empty()) parts.push_back("namespace " + rules.namespace_name);
  if (!rules.prefix.empty()) parts.push_back(fmt::format("the prefix \"{}\"", rules.prefix));
  if (parts.empty()) return "internal linkage only";
  return parts.size() == 1 ? parts[0] : parts[0] + " or " + parts[1];
}

std::string SymbolAdvice(const std::string& source, const std::string& mangled,
                         const SymbolRules& rules) {
  std::string extension = fs::path(source).extension().string();
  bool c_source = extension == ".c" || (mangled.rfind("_Z", 0) != 0 && extension != ".cpp" &&
                                        extension != ".cc" && extension != ".cxx");
  std::string fix;
  if (c_source) {
    fix = "make it `static` (internal linkage: a helper of this file)";
    if (!rules.prefix.empty())
      fix += fmt::format(", or name it with the prefix \"{}\" if it is part of the library's API",
                         rules.prefix);
  } else {
    fix = "put it in an anonymous namespace or make it `static` (a helper of this file)";
    if (!rules.namespace_name.empty())
      fix += fmt::format(", or in namespace {}", rules.namespace_name);
    if (!rules.prefix.empty())
      fix += fmt::format(", or name it with the prefix \"{}\"", rules.prefix);
  }
  return fix +
         " (the allowed names are set by rlvr.json's target key \"symbols\": {\"namespace\": "
         "..., \"prefix\": ...})";
}

std::vector<std::string> ForbiddenSymbols(const fs::path& candidate_object,
                                          const fs::path& baseline_object,
                                          const SymbolRules& rules) {
  std::set<std::string> known;
  if (!baseline_object.empty() && fs::exists(baseline_object)) {
    for (const auto& symbol : DefinedSymbols(baseline_object)) known.insert(symbol.mangled);
  }
  std::vector<std::string> forbidden;
  for (const auto& symbol : DefinedSymbols(candidate_object)) {
    if (IsAllowedSymbol(symbol, rules) || known.count(symbol.mangled)) continue;
    forbidden.push_back(fmt::format("`{}` (nm type {})", symbol.demangled, symbol.type));
  }
  return forbidden;
}

}  // namespace rlvr
