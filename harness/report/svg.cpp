#include "harness/report/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "harness/report/escape.h"
#include "harness/report/format.h"

namespace rlvr {
namespace {

constexpr int kLeft = 64, kRight = 20, kTop = 24, kBottom = 44;

std::string TickText(double value) {
  if (value == std::round(value) && value < 1e4) return fmt::format("{:.0f}", value);
  if (value >= 1e6) return FormatSignificant(value / 1e6) + "M";
  if (value >= 1e4) return FormatSignificant(value / 1e3) + "k";
  return FormatSignificant(value);
}

std::string Open(int width, int height, const std::string& title, const char* css_class) {
  return fmt::format(
      "<svg class=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" role=\"img\" "
      "aria-label=\"{}\" font-family=\"system-ui, sans-serif\" font-size=\"13\">"
      "<title>{}</title>",
      css_class, width, height, HtmlEscape(title), HtmlEscape(title));
}

// Horizontal grid lines with their values, and the unit caption.
std::string YAxis(const std::vector<double>& ticks, double top_value, int width, int height,
                  const std::string& unit) {
  double plot_h = height - kTop - kBottom;
  std::string out = "<g class=\"grid\" stroke=\"#d0d4da\" stroke-width=\"1\">";
  for (double tick : ticks) {
    double y = kTop + plot_h * (1 - tick / top_value);
    out += fmt::format("<path d=\"M{} {:.1f}H{}\"/>", kLeft, y, width - kRight);
  }
  out += "</g><g class=\"ticks\" fill=\"#555\" text-anchor=\"end\">";
  for (double tick : ticks) {
    double y = kTop + plot_h * (1 - tick / top_value);
    out += fmt::format("<text x=\"{}\" y=\"{:.1f}\">{}</text>", kLeft - 6, y + 4,
                       HtmlEscape(TickText(tick)));
  }
  out += "</g>";
  if (!unit.empty()) {
    out += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#555\" text-anchor=\"start\">{}</text>", 4,
                       14, HtmlEscape(unit));
  }
  return out;
}

// X labels, at most about one per 70 units of width so they never overlap.
std::string XLabels(const std::vector<std::string>& labels, const std::vector<double>& xs,
                    int width, int height) {
  if (labels.empty()) return "";
  size_t max_labels = std::max<size_t>(2, static_cast<size_t>((width - kLeft - kRight) / 80));
  size_t step = (labels.size() + max_labels - 1) / max_labels;
  std::string out = "<g class=\"xlabels\" fill=\"#555\" text-anchor=\"middle\">";
  for (size_t i = 0; i < labels.size(); i += step) {
    out += fmt::format("<text x=\"{:.1f}\" y=\"{}\">{}</text>", xs[i], height - kBottom + 18,
                       HtmlEscape(labels[i]));
  }
  return out + "</g>";
}

bool Known(double value) {
  return std::isfinite(value) && value > 0;
}

}  // namespace

std::vector<double> NiceTicks(double max_value, int target_count) {
  if (!(max_value > 0) || !std::isfinite(max_value)) max_value = 1;
  double raw = max_value / std::max(target_count, 1);
  double power = std::pow(10, std::floor(std::log10(raw)));
  double step = power;
  for (double multiple : {1.0, 2.0, 5.0, 10.0}) {
    step = multiple * power;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (int i = 0;; ++i) {
    ticks.push_back(i * step);
    if (i * step >= max_value * (1 - 1e-12)) break;
  }
  return ticks;
}

std::string LineChartSvg(const LineChartSpec& spec) {
  double max_value = 0;
  for (double value : spec.values) {
    if (Known(value)) max_value = std::max(max_value, value);
  }
  for (const ReferenceLevel& reference : spec.references) {
    max_value = std::max(max_value, reference.value);
  }
  std::vector<double> ticks = NiceTicks(max_value * 1.08, 5);
  double top_value = ticks.back();
  double plot_w = spec.width - kLeft - kRight, plot_h = spec.height - kTop - kBottom;
  auto y_of = [&](double value) { return kTop + plot_h * (1 - value / top_value); };
  size_t n = spec.values.size();
  std::vector<double> xs(n);
  for (size_t i = 0; i < n; ++i) {
    xs[i] = n == 1 ? kLeft + plot_w / 2 : kLeft + 16 + (plot_w - 32) * i / double(n - 1);
  }

  std::string out = Open(spec.width, spec.height, spec.title, "chart-line");
  out += YAxis(ticks, top_value, spec.width, spec.height, spec.y_unit);
  out += XLabels(spec.x_labels, xs, spec.width, spec.height);

  // Reference lines, labels nudged apart when levels are close.
  std::vector<std::pair<double, const ReferenceLevel*>> levels;
  for (const ReferenceLevel& reference : spec.references) {
    if (Known(reference.value)) levels.emplace_back(y_of(reference.value), &reference);
  }
  std::sort(levels.begin(), levels.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  double previous_label_y = -1e9;
  for (const auto& [y, reference] : levels) {
    double label_y = std::max(y - 5, previous_label_y + 15);
    previous_label_y = label_y;
    out += fmt::format(
        "<g class=\"reference\"><path d=\"M{} {:.1f}H{}\" stroke=\"#b45309\" stroke-width=\"1.5\" "
        "stroke-dasharray=\"6 4\"/><text x=\"{}\" y=\"{:.1f}\" fill=\"#92400e\" "
        "text-anchor=\"end\">{} {}</text></g>",
        kLeft, y, spec.width - kRight, spec.width - kRight - 2, label_y,
        HtmlEscape(reference->label), HtmlEscape(TickText(reference->value)));
  }

  // The series as a line through known points; a gap where the value is unknown.
  std::string path;
  bool pen_down = false;
  for (size_t i = 0; i < n; ++i) {
    if (!Known(spec.values[i])) {
      pen_down = false;
      continue;
    }
    path += fmt::format("{}{:.1f} {:.1f}", pen_down ? "L" : "M", xs[i], y_of(spec.values[i]));
    pen_down = true;
  }
  if (!path.empty()) {
    out += fmt::format(
        "<path class=\"series\" d=\"{}\" fill=\"none\" stroke=\"#2563eb\" stroke-width=\"2.5\" "
        "stroke-linejoin=\"round\"/>",
        path);
  }
  size_t note_step = std::max<size_t>(
      1, (n * 60 + static_cast<size_t>(plot_w) - 1) / static_cast<size_t>(std::max(plot_w, 1.0)));
  for (size_t i = 0; i < n; ++i) {
    if (!Known(spec.values[i])) continue;
    double y = y_of(spec.values[i]);
    out += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"#2563eb\">", xs[i], y);
    if (i < spec.point_tips.size()) {
      out += "<title>" + HtmlEscape(spec.point_tips[i]) + "</title>";
    }
    out += "</circle>";
    bool last = i + 1 == n;
    if (i < spec.point_notes.size() && !spec.point_notes[i].empty() &&
        (i % note_step == 0 || last)) {
      out += fmt::format(
          "<text class=\"note\" x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#1e3a8a\" font-size=\"12\" "
          "text-anchor=\"middle\">{}</text>",
          xs[i], std::max<double>(y - 9, kTop - 6), HtmlEscape(spec.point_notes[i]));
    }
  }
  return out + "</svg>";
}

std::string StackedBarSvg(const StackedBarSpec& spec) {
  int max_total = 0;
  for (const std::vector<int>& bar : spec.counts) {
    int total = 0;
    for (int count : bar) total += count;
    max_total = std::max(max_total, total);
  }
  std::vector<double> ticks = NiceTicks(std::max(max_total, 1), 4);
  double top_value = ticks.back();
  double plot_w = spec.width - kLeft - kRight, plot_h = spec.height - kTop - kBottom;
  size_t n = spec.counts.size();
  double slot = n ? plot_w / n : plot_w;
  double bar_w = std::max(1.0, slot * 0.8);
  std::vector<double> xs(n);
  for (size_t i = 0; i < n; ++i) xs[i] = kLeft + slot * (i + 0.5);

  std::string out = Open(spec.width, spec.height, spec.title, "chart-bars");
  out += YAxis(ticks, top_value, spec.width, spec.height, "attempts");
  out += XLabels(spec.x_labels, xs, spec.width, spec.height);
  for (size_t i = 0; i < n; ++i) {
    out += "<g class=\"bar\">";
    if (i < spec.bar_tips.size()) out += "<title>" + HtmlEscape(spec.bar_tips[i]) + "</title>";
    double stacked = 0;
    for (size_t s = 0; s < spec.counts[i].size() && s < spec.series.size(); ++s) {
      int count = spec.counts[i][s];
      if (count <= 0) continue;
      double y_top = kTop + plot_h * (1 - (stacked + count) / top_value);
      double h = plot_h * count / top_value;
      stacked += count;
      out += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"/>",
          xs[i] - bar_w / 2, y_top, bar_w, h,
          HtmlEscape(s < spec.colors.size() ? spec.colors[s] : "#888"));
    }
    out += "</g>";
  }
  return out + "</svg>";
}

std::string CategoryColor(const std::string& category) {
  static const std::pair<const char*, const char*> kColors[] = {
      {"promoted", "#15803d"},   {"passed", "#86efac"},      {"scope", "#7c3aed"},
      {"apply", "#a78bfa"},      {"format", "#f0abfc"},      {"build", "#dc2626"},
      {"tests", "#f97316"},      {"history", "#be185d"},     {"portable", "#0d9488"},
      {"sanitizers", "#facc15"}, {"allocations", "#a16207"}, {"benchmark", "#60a5fa"},
      {"llm", "#94a3b8"},        {"failed", "#9ca3af"},      {"repeat", "#d1d5db"},
      {"error", "#4b5563"}};
  for (const auto& [name, color] : kColors) {
    if (category == name) return color;
  }
  return "#cbd5e1";
}

}  // namespace rlvr
