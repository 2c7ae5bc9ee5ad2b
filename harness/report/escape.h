// Escaping for `rlvr report`: everything that came from the ledger (model replies, compiler
// output, messages, names) passes through here before it reaches HTML, SVG or Markdown, so a
// reply containing markup shows as text and never runs.
#pragma once

#include <string>
#include <string_view>

namespace rlvr {

// Text or attribute value for HTML/SVG: & < > " ' escaped; control characters other than
// tab/newline dropped; invalid UTF-8 bytes replaced by U+FFFD.
std::string HtmlEscape(std::string_view text);

// Text for one Markdown table cell or list item: one line, HTML-significant characters as
// entities (GitHub renders inline HTML) and Markdown punctuation backslash-escaped.
std::string MarkdownInline(std::string_view text);

// Body for a fenced code block: returns the fence (``` or longer) that the text cannot close.
std::string MarkdownFenceFor(std::string_view text);

// At most `max_chars` bytes of `text` cut at a UTF-8 boundary, with "…" when cut.
std::string Truncate(std::string_view text, size_t max_chars);

}  // namespace rlvr
