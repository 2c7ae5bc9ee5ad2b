// What the Slurm executor reads of a job (executors/slurm_job_view.h), without a cluster: squeue
// lines as Slurm 22.05 printed them with SlurmQueueFormatArguments() and SLURM_TIME_FORMAT=%s
// (before and after `scontrol requeue`), and the start lines of the job script.
#include "harness/executors/slurm_job_view.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rlvr {
namespace {

using ::testing::HasSubstr;

TEST(SlurmJobView, QueueLinesGiveStateRestartsSubmitTimeAndComment) {
  // A running job; a job requeued by `scontrol requeue` (pending again, RestartCnt 1, the submit
  // time reset to the requeue); a finished job; Slurm's "(null)" comment.
  std::string squeue =
      "41|RUNNING|vm|0|1796416584|None|rlvr repo=/r key=a17 try=1 run=5\n"
      "42|PENDING||1|1796416587|BeginTime|rlvr repo=/r key=a18 try=1 run=5\n"
      "43|COMPLETED|vm|0|1796416500|None|(null)\n";
  std::map<std::string, SlurmQueueEntry> queue = ParseSlurmQueue(squeue);
  ASSERT_EQ(queue.size(), 3u);
  EXPECT_EQ(queue["41"].state, "RUNNING");
  EXPECT_EQ(queue["41"].node, "vm");
  EXPECT_EQ(queue["41"].restarts, 0);
  EXPECT_DOUBLE_EQ(queue["41"].submitted_at, 1796416584);
  EXPECT_EQ(queue["41"].comment, "rlvr repo=/r key=a17 try=1 run=5");
  EXPECT_EQ(queue["42"].state, "PENDING");
  EXPECT_EQ(queue["42"].node, "");
  EXPECT_EQ(queue["42"].restarts, 1);
  EXPECT_DOUBLE_EQ(queue["42"].submitted_at, 1796416587);
  EXPECT_EQ(queue["42"].reason, "BeginTime");
  EXPECT_EQ(queue["43"].comment, "");
}

TEST(SlurmJobView, CommentMayHoldTheSeparatorAndUnknownFieldsAreEmpty) {
  std::map<std::string, SlurmQueueEntry> queue =
      ParseSlurmQueue("7|PENDING|(null)|3|N/A|launch failed requeued held|rlvr repo=/a|b key=k\n");
  ASSERT_EQ(queue.count("7"), 1u);
  EXPECT_EQ(queue["7"].comment, "rlvr repo=/a|b key=k");
  EXPECT_EQ(queue["7"].node, "");
  EXPECT_EQ(queue["7"].restarts, 3);
  EXPECT_DOUBLE_EQ(queue["7"].submitted_at, 0);  // unknown, never a made-up time
  EXPECT_EQ(queue["7"].reason, "launch failed requeued held");
}

TEST(SlurmJobView, LinesOfAnotherShapeAreSkipped) {
  // squeue's -o format of older rlvr versions, an error line, a restart count that is no number.
  std::map<std::string, SlurmQueueEntry> queue = ParseSlurmQueue(
      "41|RUNNING|vm|rlvr repo=/r key=a17\n"
      "squeue: error: Invalid job id specified\n"
      "44|RUNNING|vm|x|1796416584|None|c\n"
      "45|RUNNING|vm|2|1796416584|None|c\n");
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_EQ(queue.count("45"), 1u);
  EXPECT_EQ(queue["45"].restarts, 2);
}

TEST(SlurmJobView, FormatAsksForTheRestartCountAndPutsTheCommentLast) {
  std::vector<std::string> arguments = SlurmQueueFormatArguments();
  ASSERT_EQ(arguments.size(), 2u);
  EXPECT_EQ(arguments[0], "-O");
  EXPECT_THAT(arguments[1], HasSubstr("RestartCnt"));
  EXPECT_THAT(arguments[1], HasSubstr("SubmitTime"));
  EXPECT_TRUE(arguments[1].ends_with("Comment:")) << arguments[1];
}

TEST(SlurmJobView, RequeueCauseNamesSlurmsReasonWhenItSaysOne) {
  EXPECT_EQ(RequeueCause("BeginTime"), "a lost node or an administrator's requeue");
  EXPECT_EQ(RequeueCause(""), "a lost node or an administrator's requeue");
  EXPECT_EQ(RequeueCause("None"), "a lost node or an administrator's requeue");
  EXPECT_EQ(RequeueCause("launch failed requeued held"),
            "Slurm's reason: launch failed requeued held");
  EXPECT_EQ(RequeueCause("NodeDown"), "Slurm's reason: NodeDown");
}

TEST(SlurmJobView, HeldAfterRequeueIsSlurmsOwnHoldOfARequeuedJob) {
  EXPECT_TRUE(IsHeldAfterRequeue("launch failed requeued held"));  // a failed prolog
  EXPECT_TRUE(IsHeldAfterRequeue("job requeued in held state"));   // scontrol requeuehold
  EXPECT_FALSE(IsHeldAfterRequeue("BeginTime"));    // the usual pause after a requeue
  EXPECT_FALSE(IsHeldAfterRequeue("JobHeldUser"));  // sbatch --hold: max_queue_seconds' matter
  EXPECT_FALSE(IsHeldAfterRequeue(""));
}

TEST(SlurmJobView, StartLinesCountRestarts) {
  std::vector<JobStart> starts =
      ParseJobStarts("vm 1796416565.52 0\n\nnode2 1796416690.10 1\ngarbage\n");
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[0].node, "vm");
  EXPECT_DOUBLE_EQ(starts[0].started_at, 1796416565.52);
  EXPECT_EQ(starts[0].restart, 0);
  EXPECT_EQ(starts[1].node, "node2");
  EXPECT_EQ(starts[1].restart, 1);
  EXPECT_EQ(RestartsOfStarts(starts), 1);
  EXPECT_EQ(RestartsOfStarts({}), 0);
  // Slurm's count wins when a lost run left no line (the rerun says restart 2).
  EXPECT_EQ(RestartsOfStarts(ParseJobStarts("vm 10 0\nvm 20 2\n")), 2);
  // Lines without a count (an older job script) count by their position.
  std::vector<JobStart> old = ParseJobStarts("vm 10\nvm 20\n");
  ASSERT_EQ(old.size(), 2u);
  EXPECT_EQ(old[1].restart, 1);
  EXPECT_EQ(RestartsOfStarts(old), 1);
}

}  // namespace
}  // namespace rlvr
