// Secrets rlvr knows about (the model endpoint's API key, any environment variable whose name looks
// secret) and the redaction that keeps them out of everything rlvr writes or sends: the ledger,
// commit messages, verdicts, prompts, terminal output. Defence in depth: the first defence is that
// child processes never see these variables at all (base/child_env.h); redaction catches what slips
// through anyway (a secret a candidate found some other way and printed in a failing test).
//
// The registry is process-wide and thread-safe; values only ever get added.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rlvr {

// Shorter values are not registered: redacting every "1" or "true" would garble output and such
// values protect nothing.
inline constexpr size_t kMinSecretLength = 8;
inline constexpr std::string_view kRedactedText = "[redacted]";

// True if an environment variable with this name probably holds a secret: its name contains, in
// any case, KEY, TOKEN, SECRET, PASSWORD, PASSWD, PASSPHRASE, PWD, CREDENTIAL, CREDS, PRIVATE,
// AUTH (but not as part of AUTHOR, so GIT_AUTHOR_NAME is not one), COOKIE or SESSION.
// Deliberately broad: a false positive costs a variable the child does not get; a false negative
// costs a leaked key.
bool LooksLikeSecretName(std::string_view name);

// Registers `value` (and its JSON-escaped form, as it appears inside gates_json) for redaction.
// Ignored when shorter than kMinSecretLength.
void RegisterSecret(std::string value);

// Registers the value of every environment variable of this process whose name
// LooksLikeSecretName, except values that are absolute paths (SSH_AUTH_SOCK, XAUTHORITY,
// GOOGLE_APPLICATION_CREDENTIALS name where a secret is, not the secret), and the password of any
// URL with credentials (`scheme://user:password@host`, e.g. a proxy setting) in any variable.
// Call once, early in main, before anything is printed or stored.
void RegisterSecretsFromEnvironment();

// `text` with every occurrence of every registered secret replaced by kRedactedText. Occurrences
// that overlap or touch (two secrets sharing characters, a secret repeated in itself) become one
// kRedactedText covering all of them, so no fragment of any secret survives.
std::string RedactSecrets(std::string_view text);

// True if `text` contains any registered secret.
bool ContainsSecret(std::string_view text);

}  // namespace rlvr
