#include "harness/patch/locate.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace rlvr {
namespace {

bool IsSpace(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

std::string Normalize(const std::string& text, MatchLevel level) {
  if (level == MatchLevel::kExact) return text;
  if (level == MatchLevel::kTrailingWhitespace) {
    size_t end = text.size();
    while (end > 0 && IsSpace(text[end - 1])) --end;
    return text.substr(0, end);
  }
  std::string out;
  bool pending_space = false;
  for (char c : text) {
    if (IsSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

std::vector<size_t> FindAll(const std::vector<TextLine>& file,
                            const std::vector<std::string>& needle, MatchLevel level) {
  std::vector<std::string> hay, pin;
  hay.reserve(file.size());
  for (const TextLine& line : file) hay.push_back(Normalize(line.text, level));
  for (const std::string& line : needle) pin.push_back(Normalize(line, level));
  std::vector<size_t> found;
  if (pin.size() > hay.size()) return found;
  for (size_t p = 0; p + pin.size() <= hay.size(); ++p) {
    size_t i = 0;
    while (i < pin.size() && hay[p + i] == pin[i]) ++i;
    if (i == pin.size()) found.push_back(p);
  }
  return found;
}

}  // namespace

LocateResult LocateLines(const std::vector<TextLine>& file, const std::vector<std::string>& needle,
                         int stated_start) {
  LocateResult result;
  for (MatchLevel level :
       {MatchLevel::kExact, MatchLevel::kTrailingWhitespace, MatchLevel::kAnyWhitespace}) {
    std::vector<size_t> found = FindAll(file, needle, level);
    if (found.empty()) continue;
    result.level = level;
    result.candidates = found;
    if (found.size() == 1) {
      result.status = LocateResult::Status::kFound;
      result.position = found[0];
      return result;
    }
    // Several matches: the stated line may choose, but only when one match is clearly nearer
    // than every other (less than half the distance of the runner-up).
    result.status = LocateResult::Status::kAmbiguous;
    if (stated_start < 1) return result;
    long expected = stated_start - 1;
    std::vector<std::pair<long, size_t>> by_distance;
    for (size_t position : found) {
      by_distance.push_back({std::labs(static_cast<long>(position) - expected), position});
    }
    std::sort(by_distance.begin(), by_distance.end());
    if (by_distance[0].first * 2 < by_distance[1].first) {
      result.status = LocateResult::Status::kFound;
      result.position = by_distance[0].second;
    }
    return result;
  }
  return result;
}

std::string DescribeClosestText(const std::vector<TextLine>& file,
                                const std::vector<std::string>& needle, const std::string& path) {
  if (file.empty()) return path + " is empty.";
  std::vector<std::string> hay, pin;
  for (const TextLine& line : file) hay.push_back(Normalize(line.text, MatchLevel::kAnyWhitespace));
  for (const std::string& line : needle) pin.push_back(Normalize(line, MatchLevel::kAnyWhitespace));
  // Best alignment: the window sharing the most lines with the needle, position for position.
  // Windows may hang over either end of the file so a hunk near the start or end still aligns.
  long best_position = 0;
  size_t best_score = 0;
  long n = static_cast<long>(hay.size()), m = static_cast<long>(pin.size());
  for (long p = -(m - 1); p < n; ++p) {
    size_t score = 0;
    for (long i = std::max(0L, -p); i < m && p + i < n; ++i) {
      if (!pin[i].empty() && hay[p + i] == pin[i]) ++score;
    }
    if (score > best_score) {
      best_score = score;
      best_position = p;
    }
  }
  if (best_score == 0) {
    return "None of its lines appear in " + path + " (even ignoring whitespace).";
  }
  std::string out;
  for (long i = 0; i < m; ++i) {
    long line = best_position + i;
    if (line < 0 || line >= n || hay[line] != pin[i]) {
      out += "Its line " + std::to_string(i + 1) + " '" + needle[i] + "' ";
      out += line >= 0 && line < n
                 ? "differs from line " + std::to_string(line + 1) + " '" + file[line].text + "'"
                 : "has no counterpart";
      out += ".\n";
      break;
    }
  }
  long first = std::max(0L, best_position);
  long last = std::min(n, best_position + std::min(m, 40L));
  out += "Closest text in " + path + " (lines " + std::to_string(first + 1) + "-" +
         std::to_string(last) + "):\n";
  for (long line = first; line < last; ++line) {
    out += std::to_string(line + 1) + " | " + file[line].text + "\n";
  }
  return out;
}

}  // namespace rlvr
