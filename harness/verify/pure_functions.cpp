#include "harness/verify/pure_functions.h"

#include <regex>
#include <set>
#include <string_view>

#include "harness/verify/object_audit.h"

namespace rlvr {

namespace {

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

const std::set<std::string>& MathFunctions() {
  static const std::set<std::string> names = [] {
    std::set<std::string> result;
    // lgamma is missing on purpose: it writes the global `signgam` (lgamma_r does not).
    for (const char* base :
         {"acos",      "asin",     "atan",      "atan2",      "cos",    "sin",    "tan",
          "sincos",    "acosh",    "asinh",     "atanh",      "cosh",   "sinh",   "tanh",
          "exp",       "exp2",     "exp10",     "expm1",      "log",    "log2",   "log10",
          "log1p",     "logb",     "ilogb",     "pow",        "sqrt",   "cbrt",   "hypot",
          "erf",       "erfc",     "tgamma",    "lgamma_r",   "fabs",   "fma",    "fmin",
          "fmax",      "fdim",     "fmod",      "remainder",  "remquo", "floor",  "ceil",
          "round",     "lround",   "llround",   "trunc",      "rint",   "lrint",  "llrint",
          "nearbyint", "copysign", "nextafter", "nexttoward", "ldexp",  "scalbn", "scalbln",
          "frexp",     "modf",     "nan"}) {
      for (const char* suffix : {"", "f", "l"}) result.insert(std::string(base) + suffix);
    }
    return result;
  }();
  return names;
}

const std::set<std::string>& PureCNames() {
  static const std::set<std::string> names = {
      // Memory and strings: compute on the caller's buffers only.
      "memcpy", "memmove", "memset", "memcmp", "bcmp", "memchr", "strlen", "strnlen", "strcmp",
      "strncmp", "__memcpy_chk", "__memmove_chk", "__memset_chk",
      // Formatting into a caller's buffer (error messages; no I/O).
      "snprintf", "vsnprintf", "__snprintf_chk", "__vsnprintf_chk",
      // The C++ exception and RTTI runtime.
      "__cxa_throw", "__cxa_allocate_exception", "__cxa_free_exception", "__cxa_begin_catch",
      "__cxa_end_catch", "__cxa_rethrow", "__cxa_pure_virtual", "__cxa_deleted_virtual",
      "__cxa_bad_cast", "__cxa_bad_typeid", "__cxa_throw_bad_array_new_length",
      "__cxa_call_unexpected", "__gxx_personality_v0", "_Unwind_Resume",
      // Ending the process is no way to fake a result.
      "__stack_chk_fail", "abort", "__assert_fail", "__cxa_call_terminate",
      // Allocation: the allocation gate judges it (these are the functions its counter sees;
      // memalign, valloc and reallocarray are not counted, so they are not here).
      "malloc", "calloc", "realloc", "free", "aligned_alloc", "posix_memalign",
      // State: the storage rule judges the variables these guard, address or destroy at exit
      // (what an exit handler calls is judged like any other reference of the object).
      "__cxa_guard_acquire", "__cxa_guard_release", "__cxa_guard_abort", "__tls_get_addr",
      "__cxa_atexit", "__cxa_thread_atexit", "__cxa_thread_atexit_impl", "__dso_handle",
      // The CPU's features (__builtin_cpu_supports): fixed for the machine, not an input.
      "__cpu_model", "__cpu_features2", "__cpu_indicator_init",
      // Read by std::shared_ptr's reference counting; a flag, not an input.
      "__libc_single_threaded",
      // Provided by the linker.
      "_GLOBAL_OFFSET_TABLE_"};
  return names;
}

// Standard exception classes whose constructors, destructors, what(), typeinfo and vtable a
// kernel that throws needs.
const std::regex& StdExceptionRe() {
  static const std::regex re(
      R"(^(?:(?:typeinfo|typeinfo name|vtable|VTT) for )?std::(?:exception|bad_alloc|)"
      R"(bad_array_new_length|bad_cast|bad_function_call|logic_error|runtime_error|)"
      R"(invalid_argument|out_of_range|length_error|domain_error|range_error|overflow_error|)"
      R"(underflow_error)(?:::|$))");
  return re;
}

bool IsPureDemangled(const std::string& demangled) {
  for (std::string_view prefix :
       {"operator new", "operator delete", "std::__throw_", "std::__glibcxx_assert_fail(",
        "typeinfo for __cxxabiv1::", "vtable for __cxxabiv1::", "std::terminate()",
        // std::string's out-of-line members (explicitly instantiated in libstdc++).
        "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >::",
        // Red-black tree and hash table helpers of std::map/std::set/std::unordered_map.
        "std::_Rb_tree_increment(", "std::_Rb_tree_decrement(",
        "std::_Rb_tree_insert_and_rebalance(", "std::_Rb_tree_rebalance_for_erase(",
        "std::_Hash_bytes(", "std::__detail::_Prime_rehash_policy::"}) {
    if (StartsWith(demangled, prefix)) return true;
  }
  return std::regex_search(demangled, StdExceptionRe());
}

}  // namespace

bool IsPureReference(const std::string& mangled) {
  if (PureCNames().count(mangled) || MathFunctions().count(mangled)) return true;
  // glibc's -ffinite-math-only entry points: __expf_finite, __log_finite...
  if (StartsWith(mangled, "__") && mangled.size() > 9 &&
      mangled.compare(mangled.size() - 7, 7, "_finite") == 0 &&
      MathFunctions().count(mangled.substr(2, mangled.size() - 9)))
    return true;
  // libmvec's vector variants (-O3 -ffast-math): _ZGVdN8v_expf, _ZGVeN16vv_powf...
  static const std::regex vector_re(R"(^_ZGV[A-Za-z][NM][0-9]+[A-Za-z0-9]*_(.+)$)");
  std::smatch m;
  if (std::regex_match(mangled, m, vector_re)) return MathFunctions().count(m[1].str()) > 0;
  // libgcc's arithmetic helpers: 128-bit division (__udivti3), half-float conversion without
  // F16C (__extendhfsf2, __truncsfhf2), complex multiplication (__mulsc3), __popcountdi2...
  static const std::regex libgcc_re(
      R"(^__[a-z]+(?:qi|hi|si|di|ti|sf|df|xf|tf|hf|bf|sc|dc|xc|tc)[234]$|)"
      R"(^__(?:fix|fixuns|float|floatun)(?:sf|df|xf|tf|hf|bf|si|di|ti){2}$)");
  if (std::regex_match(mangled, libgcc_re)) return true;
  return IsPureDemangled(DemangleSymbol(mangled));
}

}  // namespace rlvr
