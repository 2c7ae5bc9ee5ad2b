// Which C function signatures the default oracle (verify/default_oracle.h) can call with inputs of
// its own: a void, integer, bool, float or double result; integer, float or double scalar
// parameters; and pointers to such scalars (or void) as buffers, each paired with a length
// parameter — `const T*` read, `T*` read and written. Anything else (struct pointers, function
// pointers, enums, varargs, pointers to pointers, a buffer without a length) is not driven, with
// a one-line reason naming the parameter.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harness/verify/c_definitions.h"

namespace rlvr {

struct ScalarType {
  enum Kind { kVoid, kBool, kSigned, kUnsigned, kFloat, kDouble } kind = kVoid;
  int bytes = 0;       // 0 for void
  std::string c_name;  // as the driver declares it: "unsigned int", "double", "void"
  bool IsInteger() const { return kind == kBool || kind == kSigned || kind == kUnsigned; }
  bool IsFloating() const { return kind == kFloat || kind == kDouble; }
};

struct DrivenParameter {
  enum Role { kScalar, kLength, kInput, kOutput } role = kScalar;
  std::string name;              // as declared ("" when unnamed)
  ScalarType type;               // the scalar, or a buffer's element type (void: bytes)
  int length = -1;               // a buffer's length parameter (index)
  bool length_in_bytes = false;  // its length counts bytes (void*, or a name saying bytes)
  // An integer scalar named like a running value (adler, crc, seed, state, hash, init, ...): the
  // driver gives it 0, 1 and random values a checksum accepts, never the type's maximum — an
  // Adler-32 start of 0xFFFFFFFF is invalid, and an honest rewrite may treat it differently.
  bool starting_value = false;
};

struct DrivenFunction {
  std::string name;
  ScalarType result;
  std::vector<DrivenParameter> parameters;
  // The C declaration of a function with this signature called `alias`, e.g.
  // "unsigned int alias(unsigned int, const unsigned char*, unsigned long)".
  std::string Declaration(const std::string& alias) const;
  bool HasFloatingOutputs() const;
};

// `function` (a definition of `unit`) as the oracle drives it, or nullopt with `why` set to one
// line such as "parameter `adler32_fold *adler` is a struct pointer".
std::optional<DrivenFunction> DriveSignature(const CDefinition& function,
                                             const CTranslationUnit& unit, std::string* why);

}  // namespace rlvr
