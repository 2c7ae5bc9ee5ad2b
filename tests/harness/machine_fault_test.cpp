// Which build failures are the machine's (candidate/machine_fault.h): a tool that cannot start, a
// build killed by SIGKILL from outside, a compiler the kernel killed — and not a compile error, a
// timeout, a stop, or a candidate's `#error` quoting the compiler's words.
#include "harness/candidate/machine_fault.h"

#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rlvr {
namespace {

using ::testing::HasSubstr;

ProcessResult Failed(int exit_code) {
  ProcessResult r;
  r.exit_code = exit_code;
  return r;
}

TEST(MachineFault, AMissingToolIsTheMachines) {
  ProcessResult r = RunProcess({"rlvr-no-such-build-tool"});
  std::string fault = BuildMachineFault(r, r.out + r.err);
  EXPECT_THAT(fault, HasSubstr("cannot be started"));
  EXPECT_FALSE(IsOutOfMemoryFault(fault));
}

TEST(MachineFault, AKilledCompilerIsTheMachines) {
  for (const char* line : {"c++: fatal error: Killed signal terminated program cc1plus",
                           "/usr/bin/g++-12: fatal error: Killed signal terminated program cc1plus",
                           "cc1plus: internal compiler error: Killed (program cc1plus)"}) {
    std::string output = std::string("[1/3] Building CXX object dot.o\nFAILED: dot.o\n") + line +
                         "\ncompilation terminated.\n";
    std::string fault = BuildMachineFault(Failed(1), output);
    EXPECT_THAT(fault, HasSubstr("the compiler was killed")) << line;
    EXPECT_TRUE(IsOutOfMemoryFault(fault)) << line;
  }
  ProcessResult killed;
  killed.signal = SIGKILL;
  EXPECT_TRUE(IsOutOfMemoryFault(BuildMachineFault(killed, "")));
}

TEST(MachineFault, TheCandidatesFailuresAreNot) {
  EXPECT_EQ(BuildMachineFault(Failed(1), "kernel/dot.cpp:3:1: error: expected ';'\n"), "");
  // A candidate's #error that quotes the driver's words starts with its own file name.
  EXPECT_EQ(BuildMachineFault(
                Failed(1),
                "kernel/dot.cpp:2:2: error: #error c++: fatal error: Killed signal terminated "
                "program cc1plus\n"),
            "");
  ProcessResult timed_out;
  timed_out.timed_out = true;
  timed_out.signal = SIGKILL;
  EXPECT_EQ(BuildMachineFault(timed_out, ""), "");
  ProcessResult stopped;
  stopped.stopped = true;
  stopped.signal = SIGKILL;
  EXPECT_EQ(BuildMachineFault(stopped, ""), "");
}

TEST(MachineFault, TheNoteIsTakenOnce) {
  TakeMachineFault();
  NoteMachineFault("first");
  NoteMachineFault("second");
  EXPECT_EQ(TakeMachineFault(), "first");
  EXPECT_EQ(TakeMachineFault(), "");
}

}  // namespace
}  // namespace rlvr
