// The top-level definitions of a preprocessed C (or simple C++) translation unit, as the default
// oracle (verify/default_oracle.h) needs them: each function definition with its specifiers,
// parameters and the identifiers its body names; each initialized variable with the identifiers
// of its initializer (a static function pointer that dispatches to an edited helper); and the
// simple typedefs, to see through `u32` or `uint8_t`. Not a C parser: a token walk over `cc -E`
// output that balances brackets, enough to tell what changed between two versions of a TU and
// which external functions reach what changed.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace rlvr {

struct CDefinition {
  std::string name;
  bool is_function = false;
  bool is_static = false;               // `static` among the specifiers: internal linkage
  std::vector<std::string> specifiers;  // tokens before the name (return type, storage, attributes)
  std::vector<std::string> parameters;  // tokens between the parameter list's parentheses
  std::set<std::string> references;     // identifiers the body or initializer names
  std::string text;                     // all its tokens joined by blanks: to compare versions
};

struct CTranslationUnit {
  std::map<std::string, CDefinition> definitions;  // by name; a later one replaces an earlier one
  std::map<std::string, std::vector<std::string>> typedefs;  // name -> the type's tokens
};

// Reads `preprocessed` (`cc -E` output; line markers and #pragma lines are skipped).
CTranslationUnit ParseTranslationUnit(const std::string& preprocessed);

// Splits C source text into tokens (identifiers, numbers, literals, punctuation characters).
std::vector<std::string> CTokens(const std::string& text);

}  // namespace rlvr
