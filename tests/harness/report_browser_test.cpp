// The report in a real headless browser (Debian's chromium, installed by cmake/setup.sh): at
// desktop (1280 px) and phone (390 px) widths the charts are in the rendered DOM with their
// marks, no hostile payload from the ledger ran, and the page does not scroll sideways.
// Set RLVR_REPORT_SCREENSHOTS=DIR to keep the page and its screenshots for a look.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "tests/harness/report_fixture.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

const char* kChromium = "/usr/bin/chromium";

int Shell(const std::string& command) {
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

int IntAttribute(const std::string& dom, const std::string& name) {
  std::smatch match;
  if (!std::regex_search(dom, match, std::regex(name + "=\"([0-9]+)\""))) return -1;
  return std::stoi(match[1]);
}

class ReportBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kChromium, X_OK) != 0) {
      GTEST_SKIP() << kChromium << " is not installed (bash cmake/setup.sh installs it); "
                   << "skipping the headless-browser check of the report";
    }
    dir_ = fs::temp_directory_path() / ("rlvr_report_browser_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "repo" / ".git");
    FixtureLedgerOptions fixture;
    fixture.attempts = 5000;
    WriteFixtureLedger(dir_ / "repo" / ".rlvr" / "ledger.sqlite", fixture);
    WriteFixtureBaselines(dir_ / "repo" / "baselines", fixture.targets);
    WriteFixtureConfig(dir_ / "repo" / "rlvr.json", fixture.targets);
    std::string command = std::string("'") + RLVR_BINARY + "' report -C '" +
                          (dir_ / "repo").string() + "' > '" + (dir_ / "rlvr.log").string() +
                          "' 2>&1";
    ASSERT_EQ(Shell(command), 0) << Slurp(dir_ / "rlvr.log");
    page_ = dir_ / "repo" / "rlvr-report" / "index.html";
    ASSERT_TRUE(fs::exists(page_));
  }
  void TearDown() override {
    if (const char* keep = std::getenv("RLVR_REPORT_SCREENSHOTS"); keep && *keep && !dir_.empty()) {
      fs::create_directories(keep);
      for (const char* name : {"report-1280.png", "report-390.png", "dom-390.html"}) {
        if (fs::exists(dir_ / name)) {
          fs::copy_file(dir_ / name, fs::path(keep) / name, fs::copy_options::overwrite_existing);
        }
      }
      fs::copy_file(page_, fs::path(keep) / "index.html", fs::copy_options::overwrite_existing);
      fs::copy_file(page_.parent_path() / "report.md", fs::path(keep) / "report.md",
                    fs::copy_options::overwrite_existing);
    }
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Loads the page in headless chromium inside an iframe exactly `width` CSS pixels wide
  // (headless windows are never narrower than 500 px), copies the iframe's DOM after its
  // scripts ran into the wrapper so --dump-dom shows it, and leaves report-<width>.png.
  std::string Render(int width) {
    std::string name = std::to_string(width);
    fs::path wrapper = page_.parent_path() / ("wrapper-" + name + ".html");
    std::ofstream(wrapper)
        << "<!DOCTYPE html><html><head><style>body{margin:0}iframe{border:0;display:block;width:"
        << width << "px;height:2400px}</style></head><body><iframe id=\"report\" "
        << "src=\"index.html\"></iframe><script>document.getElementById('report')."
        << "addEventListener('load',function(){var d=this.contentDocument;if(d)document.body."
        << "appendChild(document.importNode(d.documentElement,true));});</script></body></html>\n";
    fs::path dom = dir_ / ("dom-" + name + ".html");
    fs::path shot = dir_ / ("report-" + name + ".png");
    std::string command =
        std::string("DBUS_SESSION_BUS_ADDRESS=disabled: timeout 120 ") + kChromium +
        " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
        " --disable-background-networking --disable-component-update --disable-sync"
        " --hide-scrollbars --allow-file-access-from-files --window-size=" +
        std::to_string(std::max(width, 500)) + ",2400 --user-data-dir='" +
        (dir_ / ("profile-" + name)).string() + "' --screenshot='" + shot.string() +
        "' --dump-dom 'file://" + wrapper.string() + "' > '" + dom.string() + "' 2>/dev/null";
    EXPECT_EQ(Shell(command), 0) << command;
    std::string png = Slurp(shot);
    EXPECT_GT(png.size(), 10000u) << "screenshot at " << width << " px is missing or blank";
    EXPECT_EQ(png.substr(0, 4), "\x89PNG");
    std::string html = Slurp(dom);
    size_t report = html.find("<html", html.find("<iframe"));  // the copied report document
    return report == std::string::npos ? std::string() : html.substr(report);
  }

  void CheckRendered(const std::string& dom, int width) {
    SCOPED_TRACE("width " + std::to_string(width));
    ASSERT_THAT(dom, HasSubstr("<html")) << "the report did not load in its frame";
    // Two target history charts and the attempts chart, each in a wide and a narrow variant.
    EXPECT_EQ(Count(dom, "<svg"), 6u);
    EXPECT_EQ(Count(dom, "class=\"chart-line\""), 4u);
    EXPECT_EQ(Count(dom, "class=\"chart-bars\""), 2u);
    EXPECT_GT(Count(dom, "<circle"), 8u);              // promotions drawn as points
    EXPECT_GT(Count(dom, "<rect"), 40u);               // attempt bars
    EXPECT_GE(Count(dom, "class=\"reference\""), 4u);  // OpenBLAS and peak FMA, both variants
    EXPECT_THAT(dom, HasSubstr("class=\"series\""));
    // The hostile payloads stayed text: no title change, no attribute set, no element made.
    std::smatch title;
    ASSERT_TRUE(std::regex_search(dom, title, std::regex("<title>([^<]*)</title>")));
    EXPECT_THAT(title[1].str(), HasSubstr("rlvr report"));
    EXPECT_THAT(title[1].str(), Not(HasSubstr("PWNED")));
    EXPECT_THAT(dom, Not(HasSubstr("data-xss=\"1\"")));
    EXPECT_EQ(Count(dom, "<img"), 0u);
    EXPECT_EQ(Count(dom, "<script"), 1u);  // the page's own layout probe only
    EXPECT_THAT(dom, HasSubstr("&lt;img src=x onerror="));
    // The layout probe ran, and the page is no wider than the window.
    int scroll_width = IntAttribute(dom, "data-scroll-width");
    int client_width = IntAttribute(dom, "data-client-width");
    ASSERT_GT(client_width, 0) << "the page's layout probe did not run";
    EXPECT_LE(scroll_width, client_width);
    EXPECT_EQ(client_width, width);
  }

  fs::path dir_;
  fs::path page_;
};

TEST_F(ReportBrowserTest, DesktopAndPhoneWidthsDrawChartsSafely) {
  CheckRendered(Render(1280), 1280);
  CheckRendered(Render(390), 390);
}

}  // namespace
}  // namespace rlvr
