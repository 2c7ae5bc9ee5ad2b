#include "harness/verify/oracle_driver.h"

#include <fmt/format.h>

namespace rlvr {

namespace {

// The part of every driver that does not depend on the signature. The generated part defines
// NP, P[], RESULT_KIND, RESULT_BYTES, FUNCTION_NAME, PARAM_NAMES[] and call().
const char* kRuntime = R"RUNTIME(
static uint64_t rng_state;
static uint64_t next_random(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double uniform(void) { return (double)(next_random() >> 11) / 9007199254740992.0; }
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static int cmp_u64(const void* a, const void* b) {
  uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
  return x < y ? -1 : x > y;
}
static const char* INT_KINDS[] = {"random", "zero", "0xFF"};
static const char* FLOAT_KINDS[] = {"random", "zero", "positive", "large", "denormal"};
/* A random running value (a checksum's start, a seed) that every common checksum accepts: each
   16-bit half below 65521, as Adler-32 requires of its two sums; CRCs and seeds take any. */
static uint64_t valid_start(void) {
  uint64_t r = next_random(), v = 0;
  for (int k = 0; k < 4; ++k) v |= ((r >> (16 * k)) & 0xFFFF) % 65521 << (16 * k);
  return v;
}
static int is_float_kind(int kind) { return kind == K_FLOAT || kind == K_DOUBLE; }
static void fill(unsigned char* p, size_t bytes, int type, int kind) {
  if (type == K_FLOAT || type == K_DOUBLE) {
    size_t n = bytes / (type == K_FLOAT ? 4 : 8);
    for (size_t i = 0; i < n; ++i) {
      double v = 0;
      switch (kind) {
        case 0: v = 2 * uniform() - 1; break;
        case 1: v = 0; break;
        case 2: v = uniform(); break;
        /* Large, yet a product of two summed over 2^23 elements stays finite. */
        case 3: v = (2 * uniform() - 1) * (type == K_FLOAT ? 1e15 : 1e145); break;
        default: v = (type == K_FLOAT ? 1e-39 : 1e-310) * uniform(); break;
      }
      if (type == K_FLOAT) { float f = (float)v; memcpy(p + 4 * i, &f, 4); }
      else memcpy(p + 8 * i, &v, 8);
    }
    return;
  }
  if (kind == 1) { memset(p, 0, bytes); return; }
  if (kind == 2) { memset(p, 0xFF, bytes); return; }
  size_t i = 0;
  for (; i + 8 <= bytes; i += 8) { uint64_t r = next_random(); memcpy(p + i, &r, 8); }
  for (; i < bytes; ++i) p[i] = (unsigned char)next_random();
}
static uint64_t type_max(int type, int bytes) {
  if (type == K_BOOL) return 1;
  uint64_t all = bytes >= 8 ? ~0ull : ((1ull << (8 * bytes)) - 1);
  return type == K_SIGNED ? all >> 1 : all;
}
static double load_float(const unsigned char* p, int type) {
  if (type == K_FLOAT) { float f; memcpy(&f, p, 4); return f; }
  double d; memcpy(&d, p, 8); return d;
}
/* Within `tolerance` of the larger magnitude, or within `allowance` (absolute). */
static int floats_agree(double a, double b, double tolerance, double allowance) {
  /* Overflow (inf, or inf - inf = NaN) on both sides agrees: the order of the operations
     decides which, not correctness. */
  if (!isfinite(a) || !isfinite(b)) return !isfinite(a) && !isfinite(b);
  if (a == b) return 1;
  double d = fabs(a - b), m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
  return d <= tolerance * m || d <= allowance;
}
/* The sum and the largest of the magnitudes of a float buffer's elements. */
static void magnitudes(const unsigned char* p, size_t bytes, int type, double* sum, double* max) {
  size_t w = type == K_FLOAT ? 4 : 8;
  for (size_t e = 0; e + w <= bytes; e += w) {
    double v = fabs(load_float(p + e, type));
    if (v != v) continue;
    *sum += v;
    if (v > *max) *max = v;
  }
}
#define GUARD 64
int main(int argc, char** argv) {
  if (argc < 5) { fprintf(stderr, "usage: driver SEED SECONDS BYTE_CAP TOLERANCE\n"); return 2; }
  const uint64_t seed = strtoull(argv[1], 0, 10);
  const double budget = atof(argv[2]);
  const uint64_t cap = strtoull(argv[3], 0, 10);
  const double tolerance = atof(argv[4]);
  setvbuf(stdout, 0, _IOLBF, 0);
  /* The widest element behind each length: its byte cap in elements. */
  int float_function = is_float_kind(RESULT_KIND);
  /* The machine epsilon of the narrowest float type involved: what reordering rounds to. */
  double epsilon = RESULT_KIND == K_FLOAT ? FLT_EPSILON : DBL_EPSILON;
  size_t widest = 1;
  for (int i = 0; i < NP; ++i) {
    if (P[i].role != R_INPUT && P[i].role != R_OUTPUT) continue;
    if (is_float_kind(P[i].type)) float_function = 1;
    if (P[i].type == K_FLOAT) epsilon = FLT_EPSILON;
    if (!P[i].in_bytes && (size_t)P[i].bytes > widest) widest = (size_t)P[i].bytes;
  }
  uint64_t max_length = cap / widest;
  for (int i = 0; i < NP; ++i)
    if (P[i].role == R_LENGTH && type_max(P[i].type, P[i].bytes) < max_length)
      max_length = type_max(P[i].type, P[i].bytes);
  uint64_t lengths[400];
  int nl = 0;
  rng_state = seed;
  for (uint64_t n = 0; n <= 17; ++n) lengths[nl++] = n;
  static const uint64_t odd[] = {31, 100, 1000, 4095, 5551, 5552, 5553, 3 * 5552 + 7, 65521,
                                 100003, 1000003, 3000017};
  for (size_t i = 0; i < sizeof odd / sizeof odd[0]; ++i) lengths[nl++] = odd[i];
  for (int k = 5; k < 40 && nl < 390; ++k) {
    uint64_t p = 1ull << k;
    lengths[nl++] = p - 1; lengths[nl++] = p; lengths[nl++] = p + 1;
    lengths[nl++] = p + next_random() % p;
  }
  qsort(lengths, (size_t)nl, sizeof lengths[0], cmp_u64);
  const int nkinds = float_function ? 5 : 3;
  const double start = now();
  int cases = 0, stopped_by_time = 0;
  uint64_t largest = 0, largest_bytes = 0;
  unsigned char* head_buffers[NP > 0 ? NP : 1];
  unsigned char* candidate_buffers[NP > 0 ? NP : 1];
  unsigned char* head_base[NP > 0 ? NP : 1];
  unsigned char* candidate_base[NP > 0 ? NP : 1];
  /* For a float result: the inputs' magnitudes, on which HEAD's result is the sum of its terms'
     magnitudes (a sum's sum |x|, a dot product's sum |a b|): the scale of its rounding. */
  unsigned char* abs_base[NP > 0 ? NP : 1];
  unsigned char* abs_buffers[NP > 0 ? NP : 1];
  const int float_result = is_float_kind(RESULT_KIND);
  size_t buffer_bytes[NP > 0 ? NP : 1];
  uint64_t scalars[NP > 0 ? NP : 1];
  double float_scalars[NP > 0 ? NP : 1];
  uint64_t previous = ~0ull;
  for (int li = 0; li < nl; ++li) {
    const uint64_t length = lengths[li];
    if (length > max_length || length == previous) continue;
    previous = length;
    const double elapsed = now() - start;
    if (elapsed > budget) { stopped_by_time = 1; break; }
    /* Short lengths meet every choice of scalar (random, 0, 1, max) with every content kind:
       an edge value at an edge length (a start of 0xFFFFFFFF on an empty buffer) is a case of
       its own. Longer ones rotate the scalars' choices. From 2^20 elements on, where the time
       goes, random contents and one other kind, rotating from length to length. */
    const int large = length >= (1ull << 20);
    const int variants = length <= 64 ? nkinds * 4 : large ? 2 : nkinds;
    for (int variant = 0; variant < variants; ++variant) {
      const int kind = !large ? variant % nkinds : variant == 0 ? 0 : 1 + li % (nkinds - 1);
      const int c = cases++;
      const int choice = length <= 64 ? variant / nkinds : c;
      rng_state = seed * 1000003ull + (uint64_t)c;
      const int offset = c % 8;
      char scalar_text[512] = "";
      size_t case_bytes = 0;
      double sum_abs = 0, max_abs = 0;
      for (int i = 0; i < NP; ++i) {
        scalars[i] = 0; float_scalars[i] = 0; buffer_bytes[i] = 0;
        if (P[i].role == R_LENGTH) { scalars[i] = length; continue; }
        if (P[i].role == R_SCALAR) {
          int which = (choice + i) % 4;
          if (is_float_kind(P[i].type)) {
            float_scalars[i] = which == 0 ? 2 * uniform() - 1 : which == 1 ? 0 : which == 2 ? 1 : 1e6;
            snprintf(scalar_text + strlen(scalar_text), sizeof scalar_text - strlen(scalar_text),
                     " %s=%g", PARAM_NAMES[i], float_scalars[i]);
          } else {
            uint64_t m = type_max(P[i].type, P[i].bytes);
            if (P[i].starting)
              scalars[i] = which % 3 == 1 ? 0 : which % 3 == 2 ? 1 : (valid_start() & m);
            else
              scalars[i] = which == 0 ? (next_random() & m) : which == 1 ? 0 : which == 2 ? 1 : m;
            snprintf(scalar_text + strlen(scalar_text), sizeof scalar_text - strlen(scalar_text),
                     " %s=%llu", PARAM_NAMES[i], (unsigned long long)scalars[i]);
          }
        }
      }
      for (int i = 0; i < NP; ++i) {
        if (P[i].role != R_INPUT && P[i].role != R_OUTPUT) continue;
        const uint64_t n = scalars[P[i].length];
        size_t bytes = P[i].in_bytes ? (size_t)n : (size_t)n * (size_t)P[i].bytes;
        buffer_bytes[i] = bytes;
        case_bytes += bytes;
        const int off = (offset + 3 * i) % 8;
        /* At least 4 KiB, the same bytes on both sides past the guard: a function that reads
           past a short buffer (a secret, a table) reads the same on both. */
        size_t total = (bytes + GUARD + 8 + 63) / 64 * 64;
        if (total < 4096) total = 4096;
        head_base[i] = (unsigned char*)aligned_alloc(64, total);
        candidate_base[i] = (unsigned char*)aligned_alloc(64, total);
        if (!head_base[i] || !candidate_base[i]) { printf("RLVR_NOMEMORY %zu\n", bytes); return 4; }
        head_buffers[i] = head_base[i] + off;
        candidate_buffers[i] = candidate_base[i] + off;
        fill(head_buffers[i], bytes, P[i].type, kind);
        if (is_float_kind(P[i].type)) magnitudes(head_buffers[i], bytes, P[i].type, &sum_abs, &max_abs);
        for (size_t g = off + bytes; g < total; ++g) head_base[i][g] = (unsigned char)(0xA5 ^ g);
        memcpy(candidate_base[i], head_base[i], total);
        abs_base[i] = 0;
        if (float_result) {
          abs_base[i] = (unsigned char*)aligned_alloc(64, total);
          if (!abs_base[i]) { printf("RLVR_NOMEMORY %zu\n", bytes); return 4; }
          memcpy(abs_base[i], head_base[i], total);
          abs_buffers[i] = abs_base[i] + off;
          if (P[i].type == K_FLOAT)
            for (size_t e = 0; e + 4 <= bytes; e += 4) { float v; memcpy(&v, abs_buffers[i] + e, 4); v = fabsf(v); memcpy(abs_buffers[i] + e, &v, 4); }
          else if (P[i].type == K_DOUBLE)
            for (size_t e = 0; e + 8 <= bytes; e += 8) { double v; memcpy(&v, abs_buffers[i] + e, 8); v = fabs(v); memcpy(abs_buffers[i] + e, &v, 8); }
        }
      }
      printf("RLVR_CASE %d length %llu, start offset %d bytes, %s contents%s\n", c,
             (unsigned long long)length, offset,
             float_function ? FLOAT_KINDS[kind] : INT_KINDS[kind], scalar_text);
      unsigned char head_result[16] = {0}, candidate_result[16] = {0};
      printf("RLVR_CALL head\n");
      call(0, head_buffers, scalars, float_scalars, head_result);
      printf("RLVR_CALL candidate\n");
      call(1, candidate_buffers, scalars, float_scalars, candidate_result);
      /* A float result may differ by a reordered reduction's rounding: HEAD's own error bound
         for a sum of n terms, (n - 1) epsilon times the sum of the inputs' magnitudes. Smaller
         bounds (sqrt(n) epsilon, the typical error of random signs) refuse honest rewrites: a
         sequential sum of positive floats drifts by about n epsilon once the terms come near
         an ulp of the sum (n near 2^23 for floats). Tight for short inputs, loose for floats
         past a million elements; doubles stay tight. An output element by the tolerance of the
         largest input's magnitude as well as its own. */
      double result_allowance = (length > 1 ? (double)(length - 1) : 0) * epsilon * sum_abs;
      const double element_allowance = tolerance * max_abs;
      if (float_result && !floats_agree(load_float(head_result, RESULT_KIND),
                                        load_float(candidate_result, RESULT_KIND), tolerance,
                                        result_allowance)) {
        /* Before calling it a difference: the bound with HEAD's result on the inputs'
           magnitudes as the scale (n epsilon: a product's own rounding, or a fused
           multiply-add, counts too). */
        double abs_scalars[NP > 0 ? NP : 1];
        unsigned char abs_result[16] = {0};
        for (int i = 0; i < NP; ++i) abs_scalars[i] = fabs(float_scalars[i]);
        printf("RLVR_CALL head\n");
        call(0, abs_buffers, scalars, abs_scalars, abs_result);
        const double scale = fabs(load_float(abs_result, RESULT_KIND));
        if (isfinite(scale) && (double)length * epsilon * scale > result_allowance)
          result_allowance = (double)length * epsilon * scale;
      }
      if (RESULT_KIND != K_VOID) {
        int same = is_float_kind(RESULT_KIND)
                       ? floats_agree(load_float(head_result, RESULT_KIND),
                                      load_float(candidate_result, RESULT_KIND), tolerance, result_allowance)
                       : memcmp(head_result, candidate_result, (size_t)RESULT_BYTES) == 0;
        if (!same) {
          if (is_float_kind(RESULT_KIND))
            printf("RLVR_DIFF %s returned %.9g on HEAD, %.9g on the candidate (beyond both the "
                   "relative tolerance %g and a reordered sum's rounding, %.3g)\n",
                   FUNCTION_NAME, load_float(head_result, RESULT_KIND),
                   load_float(candidate_result, RESULT_KIND), tolerance, result_allowance);
          else {
            uint64_t a = 0, b = 0;
            memcpy(&a, head_result, (size_t)RESULT_BYTES); memcpy(&b, candidate_result, (size_t)RESULT_BYTES);
            printf("RLVR_DIFF %s returned 0x%llx on HEAD, 0x%llx on the candidate\n", FUNCTION_NAME,
                   (unsigned long long)a, (unsigned long long)b);
          }
          return 3;
        }
      }
      for (int i = 0; i < NP; ++i) {
        if (P[i].role != R_INPUT && P[i].role != R_OUTPUT) continue;
        const size_t bytes = buffer_bytes[i];
        const unsigned char* a = head_buffers[i];
        const unsigned char* b = candidate_buffers[i];
        size_t bad = bytes + GUARD;
        if (is_float_kind(P[i].type) && P[i].role == R_OUTPUT) {
          size_t w = P[i].type == K_FLOAT ? 4 : 8;
          for (size_t e = 0; e + w <= bytes; e += w)
            if (!floats_agree(load_float(a + e, P[i].type), load_float(b + e, P[i].type), tolerance, element_allowance)) { bad = e; break; }
          if (bad == bytes + GUARD && memcmp(a + bytes, b + bytes, GUARD) != 0) bad = bytes;
        } else if (memcmp(a, b, bytes + GUARD) != 0) {
          for (bad = 0; a[bad] == b[bad]; ++bad) {}
        }
        if (bad != bytes + GUARD) {
          printf("RLVR_DIFF %s %s `%s` differs at byte %zu of %zu%s: HEAD 0x%02x, candidate 0x%02x\n",
                 FUNCTION_NAME, P[i].role == R_INPUT ? "left its input" : "output", PARAM_NAMES[i],
                 bad, bytes, bad >= bytes ? " (past the end: a write out of bounds)" : "", a[bad], b[bad]);
          return 3;
        }
        free(head_base[i]);
        free(candidate_base[i]);
        free(abs_base[i]);
      }
      if (length > largest) largest = length;
      if (case_bytes > largest_bytes) largest_bytes = case_bytes;
    }
  }
  printf("RLVR_DONE %d %llu %llu %d\n", cases, (unsigned long long)largest,
         (unsigned long long)largest_bytes, stopped_by_time);
  return 0;
}
)RUNTIME";

int KindCode(const ScalarType& t) {
  return static_cast<int>(t.kind);
}

// How `call` passes parameter `i` of `f`.
std::string Argument(const DrivenFunction& f, size_t i) {
  const DrivenParameter& p = f.parameters[i];
  switch (p.role) {
    case DrivenParameter::kInput:
      return fmt::format("(const {}*)b[{}]", p.type.c_name, i);
    case DrivenParameter::kOutput:
      return fmt::format("({}*)b[{}]", p.type.c_name, i);
    default:
      if (p.type.IsFloating()) return fmt::format("({})fs[{}]", p.type.c_name, i);
      return fmt::format("({})s[{}]", p.type.c_name, i);
  }
}

}  // namespace

std::string OracleDriverSource(const DrivenFunction& f, const std::string& head_symbol,
                               const std::string& candidate_symbol) {
  std::string out =
      "/* rlvr default oracle driver for " + f.name +
      " (generated) */\n"
      "#define _POSIX_C_SOURCE 200809L\n#define _ISOC11_SOURCE 1\n"
      "#include <float.h>\n#include <math.h>\n#include <stdint.h>\n#include "
      "<stdio.h>\n#include <stdlib.h>\n"
      "#include <string.h>\n#include <time.h>\n"
      "enum { K_VOID, K_BOOL, K_SIGNED, K_UNSIGNED, K_FLOAT, K_DOUBLE };\n"
      "enum { R_SCALAR, R_LENGTH, R_INPUT, R_OUTPUT };\n"
      "typedef struct { int role, type, bytes, length, in_bytes, starting; } Param;\n";
  out += fmt::format("{} __asm__(\"{}\");\n", f.Declaration("rlvr_head_version"), head_symbol);
  out += fmt::format("{} __asm__(\"{}\");\n", f.Declaration("rlvr_candidate_version"),
                     candidate_symbol);
  out += fmt::format("#define NP {}\n", f.parameters.size());
  out += "static const Param P[] = {";
  for (const auto& p : f.parameters)
    out += fmt::format("{{{}, {}, {}, {}, {}, {}}}, ", static_cast<int>(p.role), KindCode(p.type),
                       p.type.bytes, p.length, p.length_in_bytes ? 1 : 0, p.starting_value ? 1 : 0);
  if (f.parameters.empty()) out += "{0, 0, 0, 0, 0, 0}";
  out += "};\nstatic const char* PARAM_NAMES[] = {";
  for (size_t i = 0; i < f.parameters.size(); ++i)
    out += fmt::format("\"{}\", ", f.parameters[i].name.empty() ? fmt::format("#{}", i + 1)
                                                                : f.parameters[i].name);
  if (f.parameters.empty()) out += "\"\"";
  out += "};\n";
  out +=
      fmt::format("#define RESULT_KIND {}\n#define RESULT_BYTES {}\n#define FUNCTION_NAME \"{}\"\n",
                  KindCode(f.result), f.result.bytes, f.name);
  out +=
      "static void call(int side, unsigned char** b, const uint64_t* s, const double* fs, "
      "unsigned char* result) {\n  (void)b; (void)s; (void)fs; (void)result;\n";
  for (int side = 0; side < 2; ++side) {
    std::string args;
    for (size_t i = 0; i < f.parameters.size(); ++i) args += (i ? ", " : "") + Argument(f, i);
    const char* name = side == 0 ? "rlvr_head_version" : "rlvr_candidate_version";
    out += fmt::format("  if (side == {}) {{ ", side);
    if (f.result.kind == ScalarType::kVoid)
      out += fmt::format("{}({}); }}\n", name, args);
    else
      out += fmt::format("{} r = {}({}); memcpy(result, &r, sizeof r); }}\n", f.result.c_name, name,
                         args);
  }
  out += "}\n";
  return out + kRuntime;
}

}  // namespace rlvr
