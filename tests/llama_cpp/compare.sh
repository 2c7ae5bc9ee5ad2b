#!/usr/bin/env bash
# Side-by-side decode and prefill speed of rlvr-lm and llama.cpp on the same GGUF files, same
# thread counts, runs alternating (rlvr, llama, rlvr, llama, ...) so drifting machine load hits
# both alike. llama.cpp is the prebuilt CPU build inside npm's node-llama-cpp@3.21.1:
#
#   (cd /tmp/llama && npm install node-llama-cpp@3.21.1)
#   cmake --build --preset release --target rlvr-lm rlvr_make_gguf
#   tests/llama_cpp/compare.sh build/release /tmp/llama/node_modules /tmp/models "F32 Q8_0 Q4_K Q6_K" "1 2" 3
#
# Files missing in the models folder are written first (rlvr_make_gguf, 85M shape). Prints, per
# file and thread count, the median decode tokens/s of each side, their ratio (rlvr / llama.cpp,
# > 1 means rlvr is faster) and the median prefill time of a 128-token prompt, plus the load
# average before and after (other users of the machine skew both sides).
set -euo pipefail
build=${1:?build dir}
node_modules=${2:?node_modules folder holding node-llama-cpp}
models=${3:?folder for the GGUF files}
types=${4:-"F32 Q8_0 Q4_K Q6_K"}
threads_list=${5:-"1 2"}
runs=${6:-3}
shape=${SHAPE:-85m}
gen=${GEN:-64}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$models"
ranks="$models/bytes.tiktoken"
python3 - "$ranks" <<'PY'
import base64, sys
with open(sys.argv[1], "w") as f:
    for b in range(256):
        f.write(base64.b64encode(bytes([b])).decode() + " " + str(b) + "\n")
PY
prompt=$(python3 -c "print(''.join(chr(97 + (i * 7) % 26) for i in range(128)))")
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| file | threads | rlvr-lm decode tok/s | llama.cpp decode tok/s | decode ratio | rlvr prefill 128 s | llama prefill 128 s | prefill ratio (llama/rlvr) |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- |\n'
for type in $types; do
  model="$models/r${shape}_$type.gguf"
  [[ -f $model ]] || "$build/tests/rlvr_make_gguf" "$model" "$type" "$shape" 2>/dev/null
  for threads in $threads_list; do
    rd=() ld=() rp=() lp=()
    for ((i = 0; i < runs; ++i)); do
      err=$(RLVR_THREADS=$threads "$build/rlvr-lm" --model "$model" --tokenizer "$ranks" \
        --prompt "$prompt" --max-tokens $((gen + 1)) --temperature 0 2>&1 >/dev/null)
      rd+=("$(sed -n 's/^decode: \([0-9.]*\) tokens.*/\1/p' <<<"$err")")
      rp+=("$(sed -n 's/^prompt: \([0-9]*\) tokens, \([0-9.]*\) tokens.*/\1 \2/p' <<<"$err" |
        awk '{print $1 / $2}')")
      json=$(NODE_PATH="$node_modules" node "$here/llama_bench.mjs" "$model" "$threads" 128 "$gen")
      ld+=("$(sed -n 's/.*"decode_tokens_per_second":\([0-9.e+-]*\).*/\1/p' <<<"$json")")
      lp+=("$(sed -n 's/.*"prefill_seconds":\([0-9.e+-]*\).*/\1/p' <<<"$json")")
    done
    r=$(printf '%s\n' "${rd[@]}" | median) l=$(printf '%s\n' "${ld[@]}" | median)
    a=$(printf '%s\n' "${rp[@]}" | median) b=$(printf '%s\n' "${lp[@]}" | median)
    printf '| %s %s | %s | %.1f | %.1f | %.2fx | %.3f | %.3f | %.2fx |\n' "$shape" "$type" \
      "$threads" "$r" "$l" "$(echo "$r / $l" | bc -l)" "$a" "$b" "$(echo "$b / $a" | bc -l)"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
