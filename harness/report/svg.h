// Small inline-SVG chart builders for `rlvr report`: a line chart with horizontal reference
// lines (a kernel's primary benchmark across promotions) and a stacked bar chart (attempts per
// time bucket by verdict). Output is a self-contained <svg> element that scales to its container
// (viewBox); every label is escaped here, so callers may pass text straight from the ledger.
#pragma once

#include <string>
#include <vector>

namespace rlvr {

struct ReferenceLevel {
  std::string label;
  double value = 0;
};

struct LineChartSpec {
  int width = 720;  // viewBox size; fonts are sized for it
  int height = 300;
  std::string title;                     // accessible name of the chart
  std::string y_unit;                    // axis caption, e.g. "GFLOPS" or "ms"
  std::vector<std::string> x_labels;     // one per point
  std::vector<double> values;            // one per point; NaN or <= 0 = unknown (gap)
  std::vector<std::string> point_notes;  // optional text above each point, e.g. "+14%"
  std::vector<std::string> point_tips;   // optional hover text per point
  std::vector<ReferenceLevel> references;
};

struct StackedBarSpec {
  int width = 720;
  int height = 260;
  std::string title;
  std::vector<std::string> x_labels;     // one per bar; thinned out when crowded
  std::vector<std::string> bar_tips;     // optional hover text per bar
  std::vector<std::string> series;       // stack order, bottom first
  std::vector<std::string> colors;       // one per series
  std::vector<std::vector<int>> counts;  // [bar][series]
};

std::string LineChartSvg(const LineChartSpec& spec);
std::string StackedBarSvg(const StackedBarSpec& spec);

// Fixed colour of an attempt category (see AttemptCategory), so every chart and legend agrees.
std::string CategoryColor(const std::string& category);

// Round axis ticks from 0 to at least `max_value`: 0, step, 2*step, ... with step 1, 2 or 5
// times a power of ten and about `target_count` ticks.
std::vector<double> NiceTicks(double max_value, int target_count);

}  // namespace rlvr
