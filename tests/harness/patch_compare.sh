#!/usr/bin/env bash
# Scores three patch appliers on the corpus in tests/fixtures/patches: rlvr apply, `git apply`
# and GNU `patch --fuzz=3`. For each case the tree after the tool runs must equal after/
# (positives) or stay byte-for-byte equal to before/ (negatives); anything else that changed the
# tree is a misapplication.
#   usage: tests/harness/patch_compare.sh [path/to/rlvr] [-v]
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
corpus="$here/../fixtures/patches"
rlvr="${1:-$here/../../build/release/rlvr}"
verbose="${2:-}"
[ -x "$rlvr" ] || { echo "no rlvr binary at $rlvr (pass its path)" >&2; exit 2; }
command -v patch >/dev/null || { echo "GNU patch is missing: bash cmake/setup.sh" >&2; exit 2; }
rlvr="$(cd "$(dirname "$rlvr")" && pwd)/$(basename "$rlvr")"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

same_tree() {  # same_tree DIR EXPECTED: identical files, ignoring .git and patch's leftovers
  diff -r -q --exclude=.git --exclude='*.orig' --exclude='*.rej' "$1" "$2" >/dev/null 2>&1
}

run_tool() {  # run_tool TOOL CASE_DIR TREE
  local tool="$1" dir="$2" tree="$3" reply="$2/reply.txt"
  case "$tool" in
    rlvr)
      local args=()
      if [ -f "$dir/allow" ]; then
        while IFS= read -r glob; do [ -n "$glob" ] && args+=(--allow "$glob"); done <"$dir/allow"
      fi
      "$rlvr" apply -C "$tree" "${args[@]}" "$reply" ;;
    git-apply)
      git -C "$tree" apply "$reply" ;;
    patch)
      local strip=0
      grep -q '^+++ b/' "$reply" && strip=1
      patch -d "$tree" -p"$strip" --fuzz=3 -t -N --no-backup-if-mismatch --reject-file=- \
        -i "$reply" ;;
  esac
}

declare -A ok_pos ok_neg missed mis
positives=0 negatives=0
tools=(rlvr git-apply patch)
for tool in "${tools[@]}"; do ok_pos[$tool]=0; ok_neg[$tool]=0; missed[$tool]=0; mis[$tool]=0; done

for dir in "$corpus"/*/; do
  dir="${dir%/}"
  name="$(basename "$dir")"
  [ -d "$dir/before" ] || continue
  negative=0
  [ -f "$dir/expect-refuse" ] && negative=1
  if ((negative)); then negatives=$((negatives + 1)); else positives=$((positives + 1)); fi
  for tool in "${tools[@]}"; do
    tree="$work/$tool-$name"
    mkdir -p "$tree" && cp -a "$dir/before/." "$tree/"
    git -C "$tree" init -q && git -C "$tree" add -A &&
      git -C "$tree" -c user.name=t -c user.email=t@t commit -qm before
    run_tool "$tool" "$dir" "$tree" >/dev/null 2>&1 </dev/null
    if ((negative)); then
      if same_tree "$tree" "$dir/before"; then outcome=ok; ok_neg[$tool]=$((ok_neg[$tool] + 1))
      else outcome=MISAPPLIED; mis[$tool]=$((mis[$tool] + 1)); fi
    else
      if same_tree "$tree" "$dir/after"; then outcome=ok; ok_pos[$tool]=$((ok_pos[$tool] + 1))
      elif same_tree "$tree" "$dir/before"; then outcome=refused; missed[$tool]=$((missed[$tool] + 1))
      else outcome=MISAPPLIED; mis[$tool]=$((mis[$tool] + 1)); fi
    fi
    [ -n "$verbose" ] && printf '%-45s %-10s %s\n' "$name" "$tool" "$outcome"
  done
done

printf '\n%d cases: %d positives, %d negatives\n' $((positives + negatives)) "$positives" "$negatives"
printf '| tool | positives applied exactly | negatives refused, tree untouched | good patches refused | misapplied |\n'
printf '| --- | --- | --- | --- | --- |\n'
for tool in "${tools[@]}"; do
  label="$tool"
  [ "$tool" = rlvr ] && label="rlvr apply"
  [ "$tool" = patch ] && label="patch --fuzz=3"
  printf '| %s | %d/%d | %d/%d | %d | %d |\n' "$label" "${ok_pos[$tool]}" "$positives" \
    "${ok_neg[$tool]}" "$negatives" "${missed[$tool]}" "${mis[$tool]}"
done
