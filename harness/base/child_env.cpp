#include "harness/base/child_env.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <utility>

#include "harness/base/secrets.h"

extern char** environ;

namespace rlvr {
namespace {

constexpr std::array<std::string_view, 26> kAllowedNames = {
    // What programs need to run at all.
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TMPDIR", "TZ", "LANG", "LANGUAGE",
    "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
    // Build tooling.
    "CC", "CXX", "CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS", "MAKEFLAGS", "NINJA_STATUS",
    "PKG_CONFIG_PATH", "LD_LIBRARY_PATH", "LIBRARY_PATH", "CPATH", "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH"};

constexpr std::array<std::string_view, 9> kAllowedPrefixes = {
    "LC_",   "CMAKE_", "CCACHE_",     "OPENBLAS_",     "OMP_",
    "GOMP_", "RLVR_",  "GIT_AUTHOR_", "GIT_COMMITTER_"};

struct PassThrough {
  std::mutex mutex;
  std::vector<std::string> names;
};

PassThrough& ThePassThrough() {
  static PassThrough pass_through;
  return pass_through;
}

bool IsPrefixPattern(std::string_view pattern) {
  return !pattern.empty() && pattern.back() == '*';
}

// The names of an RLVR_PASS_ENV value: "A, B_*  C" gives A, B_*, C.
std::vector<std::string> SplitNames(std::string_view text) {
  std::vector<std::string> names;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t start = text.find_first_not_of(", \t", pos);
    if (start == std::string_view::npos) break;
    size_t end = text.find_first_of(", \t", start);
    if (end == std::string_view::npos) end = text.size();
    names.emplace_back(text.substr(start, end - start));
    pos = end;
  }
  return names;
}

}  // namespace

bool IsAllowlistedChildVariable(std::string_view name) {
  if (name.empty() || LooksLikeSecretName(name)) return false;
  if (std::find(kAllowedNames.begin(), kAllowedNames.end(), name) != kAllowedNames.end())
    return true;
  return std::any_of(kAllowedPrefixes.begin(), kAllowedPrefixes.end(),
                     [&](std::string_view prefix) { return name.starts_with(prefix); });
}

void SetPassThroughEnvironment(std::vector<std::string> names) {
  PassThrough& pass_through = ThePassThrough();
  std::lock_guard lock(pass_through.mutex);
  pass_through.names = std::move(names);
}

std::vector<std::string> PassThroughEnvironment() {
  PassThrough& pass_through = ThePassThrough();
  std::lock_guard lock(pass_through.mutex);
  return pass_through.names;
}

std::map<std::string, std::string> ChildEnvironmentFrom(const char* const* parent) {
  std::vector<std::string> pass_through = PassThroughEnvironment();
  constexpr std::string_view kPassEnv = "RLVR_PASS_ENV=";
  for (const char* const* entry = parent; entry && *entry; ++entry) {
    if (std::string_view text(*entry); text.starts_with(kPassEnv)) {
      for (std::string& name : SplitNames(text.substr(kPassEnv.size())))
        pass_through.push_back(std::move(name));
    }
  }
  auto named_exactly = [&](std::string_view name) {
    return std::any_of(pass_through.begin(), pass_through.end(),
                       [&](const std::string& p) { return !IsPrefixPattern(p) && p == name; });
  };
  auto matches_pattern = [&](std::string_view name) {
    return std::any_of(pass_through.begin(), pass_through.end(), [&](const std::string& p) {
      return IsPrefixPattern(p) && name.starts_with(std::string_view(p).substr(0, p.size() - 1));
    });
  };
  std::map<std::string, std::string> vars;
  for (const char* const* entry = parent; entry && *entry; ++entry) {
    std::string_view text(*entry);
    size_t eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    std::string_view name = text.substr(0, eq);
    std::string_view value = text.substr(eq + 1);
    bool pass = named_exactly(name) || ((IsAllowlistedChildVariable(name) ||
                                         (matches_pattern(name) && !LooksLikeSecretName(name))) &&
                                        !ContainsSecret(value));
    if (pass) vars[std::string(name)] = std::string(value);
  }
  return vars;
}

std::map<std::string, std::string> ChildEnvironment() {
  return ChildEnvironmentFrom(environ);
}

}  // namespace rlvr
