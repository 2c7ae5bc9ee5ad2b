// Which environment variables a child process may see, and why. Every process rlvr starts
// (format, cmake, the compiler, tests, sanitizers, benchmarks, git) may run code a candidate
// wrote, directly or through the build; rlvr's own environment holds the model endpoint's API key
// and whatever else the user exported. A kernel that reads a variable (getenv, environ, a macro)
// and prints it in a failing test would put it in verdicts, the ledger and the next prompt. So a
// child gets only an allowlist:
//
//   * what programs need to run at all: PATH, HOME, USER, LOGNAME, SHELL, TERM, TMPDIR, TZ,
//     LANG, LANGUAGE, LC_*, and XDG_CACHE_HOME, XDG_CONFIG_HOME (where ccache and git look);
//   * build tooling the user configures on purpose: CC, CXX, CFLAGS, CXXFLAGS, CPPFLAGS, LDFLAGS,
//     CMAKE_*, CCACHE_*, MAKEFLAGS, NINJA_STATUS, PKG_CONFIG_PATH, LD_LIBRARY_PATH, LIBRARY_PATH,
//     CPATH, C_INCLUDE_PATH, CPLUS_INCLUDE_PATH;
//   * runtime tuning that changes what a benchmark measures: OPENBLAS_*, OMP_*, GOMP_*;
//   * rlvr's own settings (RLVR_*) and the identity of commits git makes (GIT_AUTHOR_*,
//     GIT_COMMITTER_*).
//
// Never passed, even when a pattern above matches: a name that LooksLikeSecretName
// (RLVR_API_KEY, CMAKE_AUTH_TOKEN), and a value that contains a registered secret (base/secrets.h),
// so a key kept under an innocent name (RLVR_LLM=sk-...) still stays home once rlvr knows it.
//
// The user can name more variables on purpose (rlvr.json `build.pass_env`):
// SetPassThroughEnvironment. An exact name there is passed as it is, even one that looks secret
// and even if its value is a registered secret: the user asked for exactly that variable, e.g. a
// licence token a proprietary compiler needs. (Child output is still redacted, see process.h.)
// A prefix pattern ("CUDA_*") passes what it matches except names that look secret; name them
// one by one if they are really wanted. The same list can come, for one run, from the variable
// RLVR_PASS_ENV (names separated by commas or spaces: `RLVR_PASS_ENV='FAKE_BENCH_*' rlvr ...`);
// being RLVR_* itself it reaches children too, so an rlvr started by rlvr (or by a test through
// RunProcess) passes the same names on.
//
// Values set explicitly through RunOptions::env come on top and always win (the harness sets
// RLVR_TEST_SEED, ASAN_OPTIONS, ...).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rlvr {

// True if `name` is on the allowlist above and does not look secret (values not considered).
bool IsAllowlistedChildVariable(std::string_view name);

// Replaces the process-wide list of variables the user passes through on purpose: exact names,
// or prefixes ending in '*'. Thread-safe; affects processes started afterwards.
void SetPassThroughEnvironment(std::vector<std::string> names);
std::vector<std::string> PassThroughEnvironment();

// The variables of `parent` (entries "NAME=value", null-terminated, like environ) a child may
// see, by the rules above; pass-through names are SetPassThroughEnvironment's and those of
// `parent`'s RLVR_PASS_ENV.
std::map<std::string, std::string> ChildEnvironmentFrom(const char* const* parent);

// ChildEnvironmentFrom(environ): what a child of this process gets by default.
std::map<std::string, std::string> ChildEnvironment();

}  // namespace rlvr
