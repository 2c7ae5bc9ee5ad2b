#include "tests/common/caller_state.h"

#include <pthread.h>

#include <cfenv>
#include <cstdio>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RLVR_CALLER_STATE_X86 1
#endif

namespace rlvr {

namespace {

#if defined(RLVR_CALLER_STATE_X86)
constexpr uint32_t kMxcsrStatusFlags = 0x3f;  // IE DE ZE OE UE PE: sticky results, not settings
constexpr uint32_t kMxcsrDaz = 0x0040;
constexpr uint32_t kMxcsrFtz = 0x8000;

uint16_t ReadX87Control() {
  uint16_t cw = 0;
  asm volatile("fnstcw %0" : "=m"(cw));
  return cw;
}
void WriteX87Control(uint16_t cw) {
  asm volatile("fldcw %0" : : "m"(cw));
}
#endif

#if defined(__aarch64__)
uint64_t ReadFpcr() {
  uint64_t v = 0;
  asm volatile("mrs %0, fpcr" : "=r"(v));
  return v;
}
void WriteFpcr(uint64_t v) {
  asm volatile("msr fpcr, %0" : : "r"(v));
}
#endif

std::string Hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

const char* RoundingName(int mode) {
  switch (mode) {
    case FE_TONEAREST:
      return "to-nearest";
    case FE_UPWARD:
      return "upward";
    case FE_DOWNWARD:
      return "downward";
    case FE_TOWARDZERO:
      return "toward-zero";
  }
  return "unknown";
}

void Append(std::string& out, const std::string& clause) {
  if (!out.empty()) out += "; ";
  out += clause;
}

}  // namespace

CallerState CaptureCallerState() {
  CallerState s;
#if defined(RLVR_CALLER_STATE_X86)
  s.mxcsr = _mm_getcsr() & ~kMxcsrStatusFlags;
  s.x87_control = ReadX87Control();
#endif
#if defined(__aarch64__)
  s.fpcr = ReadFpcr();
#endif
  s.rounding = std::fegetround();
  sigemptyset(&s.signal_mask);
  pthread_sigmask(SIG_BLOCK, nullptr, &s.signal_mask);
  return s;
}

std::string DescribeCallerStateChange(const CallerState& before, const CallerState& now) {
  std::string out;
#if defined(RLVR_CALLER_STATE_X86)
  if (before.mxcsr != now.mxcsr) {
    std::string what;
    const uint32_t changed = before.mxcsr ^ now.mxcsr;
    auto bit = [&](uint32_t mask, const char* name) {
      if (changed & mask) {
        if (!what.empty()) what += ", ";
        what += std::string(name) + ((now.mxcsr & mask) ? " set" : " cleared");
      }
    };
    bit(kMxcsrFtz, "flush-to-zero");
    bit(kMxcsrDaz, "denormals-are-zero");
    auto field = [&](uint32_t mask, const char* name) {
      if (changed & mask) {
        if (!what.empty()) what += ", ";
        what += name;
      }
    };
    field(0x6000, "SSE rounding changed");
    field(0x1f80, "exception masks changed");
    Append(out, "MXCSR " + Hex(before.mxcsr) + " -> " + Hex(now.mxcsr) + " (" + what + ")");
  }
  if (before.x87_control != now.x87_control) {
    Append(out, "x87 control word " + Hex(before.x87_control) + " -> " + Hex(now.x87_control));
  }
#endif
#if defined(__aarch64__)
  if (before.fpcr != now.fpcr) Append(out, "FPCR " + Hex(before.fpcr) + " -> " + Hex(now.fpcr));
#endif
  if (before.rounding != now.rounding) {
    Append(out, std::string("rounding mode (fegetround) ") + RoundingName(before.rounding) +
                    " -> " + RoundingName(now.rounding));
  }
  std::string blocked, unblocked;
  for (int sig = 1; sig < NSIG; ++sig) {
    const int was = sigismember(&before.signal_mask, sig);
    const int is = sigismember(&now.signal_mask, sig);
    if (was == is || was < 0 || is < 0) continue;
    std::string& list = is ? blocked : unblocked;
    if (!list.empty()) list += ',';
    list += std::to_string(sig);
  }
  if (!blocked.empty()) Append(out, "signal mask: signals " + blocked + " blocked");
  if (!unblocked.empty()) Append(out, "signal mask: signals " + unblocked + " unblocked");
  return out;
}

void RestoreCallerState(const CallerState& state) {
  pthread_sigmask(SIG_SETMASK, &state.signal_mask, nullptr);
  std::fesetround(state.rounding);
#if defined(RLVR_CALLER_STATE_X86)
  // After fesetround, which writes the rounding bits of both; keep the current status flags.
  _mm_setcsr(state.mxcsr | (_mm_getcsr() & kMxcsrStatusFlags));
  WriteX87Control(state.x87_control);
#endif
#if defined(__aarch64__)
  WriteFpcr(state.fpcr);
#endif
}

std::string CheckAndRestoreCallerState(const CallerState& before) {
  const std::string change = DescribeCallerStateChange(before, CaptureCallerState());
  if (!change.empty()) RestoreCallerState(before);
  return change;
}

}  // namespace rlvr
