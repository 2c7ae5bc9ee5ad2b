#include "harness/base/secrets.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <utility>
#include <vector>

#include <fmt/format.h>

extern char** environ;

namespace rlvr {
namespace {

struct Registry {
  std::shared_mutex mutex;
  std::set<std::string> values;
};

Registry& TheRegistry() {
  static Registry registry;  // never destroyed before a late RedactSecrets in a static destructor
  return registry;
}

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// `value` as it appears inside a JSON string written by nlohmann::json::dump (the ledger's
// gates_json, --json verdicts): a password with a quote or backslash looks different there.
std::string JsonEscaped(std::string_view value) {
  std::string out;
  for (char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out;
}

// Passwords of URLs with credentials in `value`: "http://user:pass@proxy:3128" gives "pass".
std::vector<std::string> UrlPasswords(std::string_view value) {
  std::vector<std::string> passwords;
  for (size_t scheme = value.find("://"); scheme != std::string_view::npos;
       scheme = value.find("://", scheme + 3)) {
    size_t start = scheme + 3;
    size_t end = value.find_first_of("/?# \t,;", start);
    std::string_view authority =
        value.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    size_t at = authority.rfind('@');
    if (at == std::string_view::npos) continue;
    std::string_view userinfo = authority.substr(0, at);
    size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) continue;
    passwords.emplace_back(userinfo.substr(colon + 1));
  }
  return passwords;
}

// Every [begin, end) where a registered secret occurs in `text`, merged where they overlap or
// touch, in order. Caller holds the registry's lock.
std::vector<std::pair<size_t, size_t>> SecretSpans(const std::set<std::string>& secrets,
                                                   std::string_view text) {
  std::vector<std::pair<size_t, size_t>> spans;
  for (const std::string& secret : secrets) {
    // Step by one, not by the secret's length: "aaaaaaaaa" holds "aaaaaaaa" twice, overlapping.
    for (size_t pos = text.find(secret); pos != std::string_view::npos;
         pos = text.find(secret, pos + 1)) {
      spans.emplace_back(pos, pos + secret.size());
    }
  }
  std::sort(spans.begin(), spans.end());
  std::vector<std::pair<size_t, size_t>> merged;
  for (const auto& span : spans) {
    if (!merged.empty() && span.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, span.second);
    } else {
      merged.push_back(span);
    }
  }
  return merged;
}

}  // namespace

bool LooksLikeSecretName(std::string_view name) {
  std::string upper = Upper(name);
  // AUTHOR is the one common word holding AUTH (GIT_AUTHOR_NAME); blank it out before matching.
  for (size_t pos = upper.find("AUTHOR"); pos != std::string::npos; pos = upper.find("AUTHOR")) {
    upper.replace(pos, 6, "------");
  }
  // PWD for MYSQL_PWD and the like; PWD and OLDPWD themselves are only directories and no child
  // needs them (a shell sets its own).
  static constexpr std::array<std::string_view, 13> kWords = {
      "KEY",  "TOKEN",  "SECRET", "PASSWORD", "PASSWD",  "PASSPHRASE", "PWD",
      "AUTH", "COOKIE", "CREDS",  "SESSION",  "PRIVATE", "CREDENTIAL"};
  return std::any_of(kWords.begin(), kWords.end(),
                     [&](std::string_view word) { return upper.find(word) != std::string::npos; });
}

void RegisterSecret(std::string value) {
  if (value.size() < kMinSecretLength) return;
  std::string escaped = JsonEscaped(value);
  Registry& registry = TheRegistry();
  std::unique_lock lock(registry.mutex);
  if (escaped != value) registry.values.insert(std::move(escaped));
  registry.values.insert(std::move(value));
}

void RegisterSecretsFromEnvironment() {
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text(*entry);
    size_t eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = text.substr(0, eq);
    std::string_view value = text.substr(eq + 1);
    if (LooksLikeSecretName(name) && !value.starts_with('/')) RegisterSecret(std::string(value));
    for (std::string& password : UrlPasswords(value)) RegisterSecret(std::move(password));
  }
}

std::string RedactSecrets(std::string_view text) {
  Registry& registry = TheRegistry();
  std::shared_lock lock(registry.mutex);
  if (registry.values.empty()) return std::string(text);
  std::vector<std::pair<size_t, size_t>> spans = SecretSpans(registry.values, text);
  lock.unlock();
  if (spans.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;
  for (const auto& [begin, end] : spans) {
    out.append(text.substr(copied, begin - copied));
    out.append(kRedactedText);
    copied = end;
  }
  out.append(text.substr(copied));
  return out;
}

bool ContainsSecret(std::string_view text) {
  Registry& registry = TheRegistry();
  std::shared_lock lock(registry.mutex);
  return std::any_of(registry.values.begin(), registry.values.end(),
                     [&](const std::string& s) { return text.find(s) != std::string_view::npos; });
}

}  // namespace rlvr
