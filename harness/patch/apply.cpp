#include "harness/patch/apply.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/patch/diff.h"
#include "harness/patch/lines.h"
#include "harness/patch/locate.h"
#include "harness/patch/parse.h"
#include "harness/patch/paths.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxFileBytes = 8 << 20;  // larger files are not sources a model should edit
constexpr std::string_view kDevNull = "/dev/null";

// A refusal: carries the message for the model up to ApplyReply.
struct Refusal {
  std::string message;
};

// One file as the edit sees it: its bytes on disk, and its lines after the edits so far.
struct FileState {
  std::string path;  // repo-relative
  bool existed = false;
  std::string original;
  mode_t mode = 0644;
  bool exists_now = false;
  std::vector<TextLine> lines;
};

bool Exists(const fs::path& path) {
  struct stat info;
  return lstat(path.c_str(), &info) == 0;
}

// Models write git's a/ b/ prefixes or not; a prefixed path means the unprefixed file unless
// only the prefixed one exists.
std::string StripGitPrefix(const fs::path& root, const std::string& raw) {
  if (raw.size() > 2 && (raw.compare(0, 2, "a/") == 0 || raw.compare(0, 2, "b/") == 0)) {
    std::string stripped = raw.substr(2);
    if (!Exists(root / stripped) && Exists(root / raw)) return raw;
    return stripped;
  }
  return raw;
}

std::string DescribeHunk(const FileChange& change, size_t index) {
  std::string line = std::to_string(change.hunks[index].reply_line);
  if (change.kind == ChangeKind::kSearchReplace) {
    return "the SEARCH/REPLACE block at reply line " + line;
  }
  return "hunk " + std::to_string(index + 1) + " of " + std::to_string(change.hunks.size()) +
         " (reply line " + line + ")";
}

std::vector<std::string> OldSide(const Hunk& hunk) {
  std::vector<std::string> old_side;
  for (const HunkLine& line : hunk.lines) {
    if (line.kind != '+') old_side.push_back(line.text);
  }
  return old_side;
}

std::string JoinPositions(const std::vector<size_t>& positions) {
  std::string out;
  for (size_t i = 0; i < positions.size() && i < 8; ++i) {
    out += (i ? ", " : "") + std::to_string(positions[i] + 1);
  }
  if (positions.size() > 8) out += ", ...";
  return out;
}

struct Placed {
  size_t position;
  size_t old_length;
  const Hunk* hunk;
};

// Where `hunk` goes in `lines`, or a Refusal naming the file, the hunk and the closest text.
// `shift` corrects the stated line number by the offset seen on the diff's other hunks.
Placed PlaceHunk(const std::vector<TextLine>& lines, const FileChange& change, size_t index,
                 const std::string& path, int shift = 0) {
  const Hunk& hunk = change.hunks[index];
  std::vector<std::string> needle = OldSide(hunk);
  if (needle.empty()) {
    if (lines.empty()) return {0, 0, &hunk};
    // Only a git-style zero-context insertion ("@@ -N,0 +M,K @@") says where it goes.
    if (hunk.old_count == 0 && hunk.old_start >= 0 &&
        static_cast<size_t>(hunk.old_start) <= lines.size()) {
      return {static_cast<size_t>(hunk.old_start), 0, &hunk};
    }
    throw Refusal{path + ": " + DescribeHunk(change, index) +
                  " has no context or removed lines, so there is nothing to locate it by: "
                  "include a few unchanged lines around the change"};
  }
  int stated = hunk.old_start >= 1 ? std::max(1, hunk.old_start + shift) : -1;
  LocateResult found = LocateLines(lines, needle, stated);
  if (found.status == LocateResult::Status::kFound) {
    return {found.position, needle.size(), &hunk};
  }
  if (found.status == LocateResult::Status::kAmbiguous) {
    throw Refusal{path + ": " + DescribeHunk(change, index) + " matches " +
                  std::to_string(found.candidates.size()) + " places (lines " +
                  JoinPositions(found.candidates) +
                  ") and its line numbers do not single one out: add unchanged context lines "
                  "so it matches only one place"};
  }
  std::string what = change.kind == ChangeKind::kSearchReplace
                         ? "its SEARCH text is not in the file"
                         : "its context and removed lines are not in the file";
  throw Refusal{path + ": " + DescribeHunk(change, index) + " does not match: " + what + ".\n" +
                DescribeClosestText(lines, needle, path)};
}

// Replaces each placed hunk's old lines by its new ones. Kept context lines are the file's own
// (the patch's copy may have lost whitespace); added lines take the file's line end.
std::vector<TextLine> Splice(const std::vector<TextLine>& lines, std::vector<Placed> placed,
                             const std::string& eol) {
  std::vector<TextLine> out;
  size_t cursor = 0;
  const Hunk* end_hunk = nullptr;  // the hunk that reached the end of the file, if any
  bool last_added = false;
  for (const Placed& place : placed) {
    out.insert(out.end(), lines.begin() + cursor, lines.begin() + place.position);
    size_t k = place.position;
    for (const HunkLine& line : place.hunk->lines) {
      if (line.kind == ' ') {
        out.push_back(lines[k++]);
        last_added = false;
      } else if (line.kind == '-') {
        ++k;
      } else {
        out.push_back({line.text, eol});
        last_added = true;
      }
    }
    cursor = k;
    if (cursor == lines.size()) end_hunk = place.hunk;
  }
  out.insert(out.end(), lines.begin() + cursor, lines.end());
  for (size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i].eol.empty()) out[i].eol = eol;  // an old last line now followed by more
  }
  if (end_hunk != nullptr && !out.empty()) {
    bool file_had_final_newline = lines.empty() || !lines.back().eol.empty();
    if (end_hunk->new_missing_final_newline) {
      out.back().eol = "";
    } else if (end_hunk->old_missing_final_newline) {
      out.back().eol = eol;
    } else if (last_added && !file_had_final_newline) {
      out.back().eol = "";  // keep the file's own convention when the patch says nothing
    }
  }
  return out;
}

void ApplyUnified(FileState& file, const FileChange& change) {
  if (change.old_path == kDevNull) {
    if (file.exists_now && !file.lines.empty()) {
      throw Refusal{file.path + ": the patch creates it as a new file, but it already exists"};
    }
    std::vector<Placed> placed;
    for (const Hunk& hunk : change.hunks) {
      if (!OldSide(hunk).empty()) {
        throw Refusal{file.path + ": a new file's hunk may only add lines"};
      }
      placed.push_back({0, 0, &hunk});
    }
    file.lines = Splice({}, placed, "\n");
    file.exists_now = true;
    return;
  }
  if (!file.exists_now) {
    throw Refusal{file.path + ": no such file (to create one, use --- /dev/null)"};
  }
  // Hunks whose content matches one place only tell how far off the diff's line numbers are;
  // that offset then corrects the numbers used to choose among repeated matches.
  std::vector<std::optional<long>> offsets(change.hunks.size());
  for (size_t i = 0; i < change.hunks.size(); ++i) {
    const Hunk& hunk = change.hunks[i];
    std::vector<std::string> needle = OldSide(hunk);
    if (needle.empty() || hunk.old_start < 1) continue;
    LocateResult found = LocateLines(file.lines, needle, -1);
    if (found.status == LocateResult::Status::kFound) {
      offsets[i] = static_cast<long>(found.position) + 1 - hunk.old_start;
    }
  }
  std::vector<Placed> placed;
  for (size_t i = 0; i < change.hunks.size(); ++i) {
    long shift = 0, nearest = -1;
    for (size_t j = 0; j < offsets.size(); ++j) {
      long distance = std::labs(static_cast<long>(change.hunks[j].old_start) -
                                static_cast<long>(change.hunks[i].old_start));
      if (offsets[j] && (nearest < 0 || distance < nearest)) {
        nearest = distance;
        shift = *offsets[j];
      }
    }
    placed.push_back(PlaceHunk(file.lines, change, i, file.path, static_cast<int>(shift)));
  }
  std::vector<size_t> order(placed.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return placed[a].position < placed[b].position; });
  std::vector<Placed> sorted;
  for (size_t i : order) sorted.push_back(placed[i]);
  for (size_t i = 1; i < sorted.size(); ++i) {
    const Placed& a = sorted[i - 1];
    const Placed& b = sorted[i];
    if (a.position + a.old_length > b.position ||
        (a.position == b.position && (a.old_length == 0 || b.old_length == 0))) {
      throw Refusal{file.path + ": " + DescribeHunk(change, order[i - 1]) + " and " +
                    DescribeHunk(change, order[i]) + " overlap (at line " +
                    std::to_string(b.position + 1) + "): merge them into one hunk"};
    }
  }
  file.lines = Splice(file.lines, sorted, DominantEol(file.lines));
  if (change.new_path == kDevNull) {
    if (!file.lines.empty()) {
      throw Refusal{file.path + ": the patch deletes the file but does not remove all its lines"};
    }
    file.exists_now = false;
  }
}

void ApplySearchReplace(FileState& file, const FileChange& change) {
  const Hunk& hunk = change.hunks[0];
  if (OldSide(hunk).empty()) {
    if (file.exists_now && !file.lines.empty()) {
      throw Refusal{file.path + ": " + DescribeHunk(change, 0) +
                    " has an empty SEARCH part, which only creates a new file; this file "
                    "exists: quote the lines to replace"};
    }
    file.lines = Splice({}, {{0, 0, &hunk}}, "\n");
    file.exists_now = true;
    return;
  }
  if (!file.exists_now) throw Refusal{file.path + ": no such file"};
  Placed place = PlaceHunk(file.lines, change, 0, file.path);
  file.lines = Splice(file.lines, {place}, DominantEol(file.lines));
}

void ApplyWholeFile(FileState& file, const FileChange& change) {
  // A fenced snippet labelled with the path is easily mistaken for the whole file; a
  // "replacement" that drops most of a sizeable file is far more likely such a fragment.
  if (file.exists_now && file.lines.size() >= 20 && change.content.size() * 2 < file.lines.size()) {
    throw Refusal{file.path + ": the fenced block at reply line " +
                  std::to_string(change.reply_line) + " has " +
                  std::to_string(change.content.size()) + " lines but the file has " +
                  std::to_string(file.lines.size()) +
                  "; it looks like a fragment, not the whole file: send a diff or SEARCH/REPLACE "
                  "blocks"};
  }
  std::string eol = file.exists_now ? DominantEol(file.lines) : "\n";
  file.lines.clear();
  for (const std::string& line : change.content) file.lines.push_back({line, eol});
  file.exists_now = true;
}

FileState LoadFile(const fs::path& root, const std::string& path) {
  FileState file;
  file.path = path;
  fs::path full = root / path;
  struct stat info;
  if (lstat(full.c_str(), &info) != 0) return file;
  if (info.st_size > static_cast<off_t>(kMaxFileBytes)) {
    throw Refusal{path + ": the file is over " + std::to_string(kMaxFileBytes) +
                  " bytes; the applier does not edit files that large"};
  }
  std::ifstream in(full, std::ios::binary);
  if (!in) throw Refusal{path + ": cannot read the file"};
  std::ostringstream bytes;
  bytes << in.rdbuf();
  file.original = bytes.str();
  if (file.original.find('\0') != std::string::npos) {
    throw Refusal{path + ": binary files are not edited"};
  }
  file.existed = file.exists_now = true;
  file.mode = info.st_mode & 07777;
  file.lines = SplitLines(file.original);
  return file;
}

// Writes `bytes` to `path` atomically: a temporary file in the same directory, then rename.
bool WriteAtomically(const fs::path& path, const std::string& bytes, mode_t mode,
                     std::string* error) {
  std::string temp = path.string() + ".rlvr-XXXXXX";
  int fd = mkstemp(temp.data());
  if (fd < 0) {
    *error = "cannot create a temporary file next to " + path.string() + ": " + strerror(errno);
    return false;
  }
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  bool ok = written == bytes.size() && fchmod(fd, mode) == 0;
  ok = close(fd) == 0 && ok;
  if (ok && rename(temp.c_str(), path.c_str()) == 0) return true;
  *error = "cannot write " + path.string() + ": " + strerror(errno);
  unlink(temp.c_str());
  return false;
}

// Writes every changed file; if any write fails, puts back what was already written.
void WriteAll(const fs::path& root, const std::vector<const FileState*>& files) {
  std::vector<const FileState*> done;
  std::vector<fs::path> created_dirs;
  std::string error;
  auto rollback = [&]() {
    std::string ignored;
    for (auto it = done.rbegin(); it != done.rend(); ++it) {
      fs::path full = root / (*it)->path;
      if ((*it)->existed) {
        WriteAtomically(full, (*it)->original, (*it)->mode, &ignored);
      } else {
        unlink(full.c_str());
      }
    }
    for (auto it = created_dirs.rbegin(); it != created_dirs.rend(); ++it) rmdir(it->c_str());
  };
  for (const FileState* file : files) {
    fs::path full = root / file->path;
    bool ok = true;
    if (!file->exists_now) {
      ok = unlink(full.c_str()) == 0;
      if (!ok) error = "cannot delete " + file->path + ": " + strerror(errno);
    } else {
      fs::path dir = full.parent_path();
      std::vector<fs::path> missing;
      for (fs::path d = dir; !Exists(d) && d != root; d = d.parent_path()) missing.push_back(d);
      for (auto it = missing.rbegin(); ok && it != missing.rend(); ++it) {
        ok = mkdir(it->c_str(), 0755) == 0;
        if (ok) created_dirs.push_back(*it);
        if (!ok) error = "cannot create directory " + it->string() + ": " + strerror(errno);
      }
      ok = ok &&
           WriteAtomically(full, JoinLines(file->lines), file->existed ? file->mode : 0644, &error);
    }
    if (!ok) {
      rollback();
      throw Refusal{"writing failed, every file was restored: " + error};
    }
    done.push_back(file);
  }
}

// With a single literal --allow path, SEARCH/REPLACE blocks and bare hunks may omit the path.
std::string DefaultPath(const ApplyOptions& options) {
  if (options.allowed_globs.size() != 1) return "";
  const std::string& glob = options.allowed_globs[0];
  return glob.find_first_of("*?[") == std::string::npos ? glob : "";
}

ApplyResult ApplyOrThrow(const fs::path& root, std::string_view reply,
                         const ApplyOptions& options) {
  if (reply.size() > options.max_reply_bytes) {
    throw Refusal{"the reply is " + std::to_string(reply.size()) + " bytes, over the limit of " +
                  std::to_string(options.max_reply_bytes)};
  }
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw Refusal{"no such directory: " + root.string()};
  ParsedReply parsed = ParseReply(reply, DefaultPath(options));
  if (!parsed.error.empty()) throw Refusal{parsed.error};

  std::map<std::string, FileState> files;
  std::vector<std::string> order;  // first-touched order, for the diff and changed_files
  for (const FileChange& change : parsed.changes) {
    bool creates = change.old_path == kDevNull;
    std::string raw = change.new_path == kDevNull ? change.old_path : change.new_path;
    std::string why;
    std::optional<std::string> path = NormalizePatchPath(StripGitPrefix(root, raw), &why);
    if (!change.refusal.empty()) {
      throw Refusal{
          (raw.empty() ? std::string("reply line ") + std::to_string(change.reply_line) : raw) +
          ": " + change.refusal};
    }
    if (!path) throw Refusal{why};
    if (!creates && change.new_path != kDevNull) {
      std::optional<std::string> old_path =
          NormalizePatchPath(StripGitPrefix(root, change.old_path), &why);
      if (!old_path) throw Refusal{why};
      if (*old_path != *path) {
        throw Refusal{*path + ": the diff's old path (" + *old_path +
                      ") differs from its new path; renames are not supported"};
      }
    }
    if (!PathAllowed(options.allowed_globs, *path)) {
      std::string globs;
      for (const std::string& glob : options.allowed_globs) globs += " " + glob;
      throw Refusal{*path + ": outside the files this patch may edit (allowed:" + globs + ")"};
    }
    std::string unsafe = CheckPathOnDisk(root, *path);
    if (!unsafe.empty()) throw Refusal{unsafe};
    auto [it, inserted] = files.try_emplace(*path);
    if (inserted) {
      it->second = LoadFile(root, *path);
      order.push_back(*path);
    }
    if (change.kind == ChangeKind::kWholeFile) {
      ApplyWholeFile(it->second, change);
    } else if (change.kind == ChangeKind::kSearchReplace) {
      ApplySearchReplace(it->second, change);
    } else {
      if (change.hunks.empty() && !creates) {
        throw Refusal{*path + ": the diff has a file header but no hunks"};
      }
      ApplyUnified(it->second, change);
    }
  }

  ApplyResult result;
  std::vector<FileContents> contents;
  std::vector<const FileState*> to_write;
  for (const std::string& path : order) {
    const FileState& file = files[path];
    std::string after = JoinLines(file.lines);
    if (file.existed == file.exists_now && (!file.existed || after == file.original)) continue;
    contents.push_back({path,
                        file.existed ? std::optional<std::string>(file.original) : std::nullopt,
                        file.exists_now ? std::optional<std::string>(after) : std::nullopt});
    to_write.push_back(&file);
    result.changed_files.push_back(path);
  }
  if (to_write.empty()) throw Refusal{"the patch changes nothing"};
  result.diff = GitDiff(contents);
  if (!options.dry_run) WriteAll(root, to_write);
  result.applied = true;
  return result;
}

}  // namespace

ApplyResult ApplyReply(const std::filesystem::path& repo_root, std::string_view reply,
                       const ApplyOptions& options) {
  try {
    return ApplyOrThrow(repo_root, reply, options);
  } catch (const Refusal& refusal) {
    ApplyResult result;
    result.error = refusal.message;
    return result;
  } catch (const std::exception& e) {
    ApplyResult result;
    result.error = std::string("internal error: ") + e.what();
    return result;
  }
}

}  // namespace rlvr
