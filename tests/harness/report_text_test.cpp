// Report text helpers: escaping of ledger text, number formats, times and --since.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/base/utc_time.h"
#include "harness/report/escape.h"
#include "harness/report/format.h"

namespace rlvr {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ReportEscape, HtmlEscapeNeutralisesMarkup) {
  EXPECT_EQ(HtmlEscape("</script><script>alert(1)</script>"),
            "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
  EXPECT_EQ(HtmlEscape("<img src=x onerror=\"a('b')\">"),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;");
  EXPECT_EQ(HtmlEscape("a & b"), "a &amp; b");
  EXPECT_EQ(HtmlEscape("µs ✓"), "µs ✓");  // valid UTF-8 passes
}

TEST(ReportEscape, HtmlEscapeRepairsBytes) {
  EXPECT_EQ(HtmlEscape(std::string("a\xff"
                                   "b")),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(HtmlEscape(std::string("a\x01\x1b[31mb\tc\n", 11)), "a[31mb\tc\n");
}

TEST(ReportEscape, MarkdownInlineStaysOneInertCell) {
  std::string cell = MarkdownInline("a|b\n<script>`x`</script> [link](javascript:1)");
  EXPECT_THAT(cell, Not(HasSubstr("\n")));
  EXPECT_THAT(cell, Not(HasSubstr("<")));
  EXPECT_THAT(cell, HasSubstr("a\\|b"));
  EXPECT_THAT(cell, HasSubstr("\\`x\\`"));
  EXPECT_THAT(cell, HasSubstr("\\[link\\]"));
}

TEST(ReportEscape, FenceIsLongerThanAnyBacktickRun) {
  EXPECT_EQ(MarkdownFenceFor("plain"), "```");
  EXPECT_EQ(MarkdownFenceFor("a ```` b"), "`````");
}

TEST(ReportEscape, TruncateCutsAtCharacterBoundary) {
  EXPECT_EQ(Truncate("short", 10), "short");
  EXPECT_EQ(Truncate("abcdef", 3), "abc…");
  EXPECT_EQ(Truncate("aµb", 2), "a…");  // never splits the two bytes of µ
}

TEST(ReportFormat, Figures) {
  EXPECT_EQ(FormatNanoseconds(1.6e7), "16.0 ms");
  EXPECT_EQ(FormatNanoseconds(850e3), "850 µs");
  EXPECT_EQ(FormatNanoseconds(1.2e9), "1.20 s");
  EXPECT_EQ(FormatNanoseconds(0), "—");
  EXPECT_EQ(FormatSpeedup(1.14), "+14.0%");
  EXPECT_EQ(FormatSpeedup(0.97), "-3.0%");
  EXPECT_EQ(FormatRatio(0.87, 0.85, 0.89), "0.870 [0.850, 0.890]");
  EXPECT_EQ(FormatCount(12345), "12.3k");
  EXPECT_EQ(FormatWallSeconds(7200), "2.0 h");
  EXPECT_EQ(FormatBucket(3600), "1 hour");
  EXPECT_EQ(FormatBucket(900), "15 min");
}

TEST(ReportTime, ParsesAndFormatsUtc) {
  auto t = ParseUtcTime("2026-11-23T16:00:00Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatUtcTime(*t), "2026-11-23T16:00:00Z");
  EXPECT_EQ(ParseUtcTime("2026-11-23"), *t - 16 * 3600);
  EXPECT_EQ(ParseUtcTime("2026-11-23T16:00"), *t);
  EXPECT_EQ(ParseUtcTime("2026-11-23 16:00:00"), *t);
  EXPECT_FALSE(ParseUtcTime("yesterday").has_value());
  EXPECT_FALSE(ParseUtcTime("2026-13-01").has_value());
  EXPECT_FALSE(ParseUtcTime("2026-11-23T16:00:00Zjunk").has_value());
}

TEST(ReportTime, SinceAcceptsTimesAndSpans) {
  int64_t now = *ParseUtcTime("2026-11-23T16:00:00Z");
  EXPECT_EQ(ResolveSince("12h", now), "2026-11-23T04:00:00Z");
  EXPECT_EQ(ResolveSince("2d", now), "2026-11-21T16:00:00Z");
  EXPECT_EQ(ResolveSince("90m", now), "2026-11-23T14:30:00Z");
  EXPECT_EQ(ResolveSince("2026-11-22", now), "2026-11-22T00:00:00Z");
  EXPECT_THROW(ResolveSince("soon", now), std::invalid_argument);
  EXPECT_THROW(ResolveSince("12y", now), std::invalid_argument);
}

}  // namespace
}  // namespace rlvr
