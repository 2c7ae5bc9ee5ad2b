// Code-layout perturbations: source files changed so that only where machine code lands moves,
// never what any code does (never-executed bytes of a random size inserted before a file's
// functions). Moving code shifts the alignment of loops and functions and the 4 KiB aliasing of
// addresses, which changes the speed of small benchmarks by several percent (Mytkowicz et al.,
// "Producing wrong data without doing anything obviously wrong!", ASPLOS 2009). Real candidates
// move code, so the benchmark gate must not read that as a speed-up or a regression. Used by `rlvr
// calibrate --null-patches` (HEAD against HEAD re-laid-out: what layout alone does to each
// benchmark) and by the benchmark gate (a suspected regression is measured again with both sides
// re-laid-out; a regression of the code survives that, a layout accident does not).
#pragma once

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace rlvr {

struct LayoutPadding {
  std::string file;  // repository-relative C or C++ source or header
  int bytes = 0;     // size of the inserted function's body
  uint64_t tag = 0;  // makes the function's name unique
};

// The largest padding RandomLayoutPaddings draws: one 4 KiB page covers every alignment and
// aliasing offset that matters.
inline constexpr int kMaxLayoutPaddingBytes = 4096;

// `text` with `padding.bytes` of never-executed bytes placed at the start of the file's code
// (a file-scope asm statement, which GCC and Clang emit before the file's functions), inserted
// after the leading block of comments and preprocessor lines (so inside an include guard, after
// the includes), or at the top when there is none. Changes no behaviour and no symbol; compiles
// as C and as C++.
std::string WithLayoutPadding(std::string_view text, const LayoutPadding& padding);

// A padding of 1 .. kMaxLayoutPaddingBytes bytes for each of `files`.
std::vector<LayoutPadding> RandomLayoutPaddings(const std::vector<std::string>& files,
                                                std::mt19937_64& rng);

// "kernels/gemm.cpp +1234 B, kernels/rope.cpp +17 B"
std::string DescribePaddings(const std::vector<LayoutPadding>& paddings);

// Writes each padding into its file under `tree` (files that do not exist there are left alone).
// Throws std::runtime_error when a file cannot be written.
void ApplyLayoutPaddings(const std::filesystem::path& tree,
                         const std::vector<LayoutPadding>& paddings);

}  // namespace rlvr
