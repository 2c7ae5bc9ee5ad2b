#!/usr/bin/env python3
"""How far each quantized GGUF file's next-token distribution lies from the F32 file's, for rlvr
and for llama.cpp, after the same prompts of token ids: KL(P_F32 || P_quant) in nats, averaged
over the prompts, and the largest log-probability difference. rlvr's distance should be at most
llama.cpp's. Also checks both sides agree on the F32 file itself.

  tests/llama_cpp/kld.py BUILD_DIR NODE_MODULES MODELS_DIR "Q8_0 Q4_K Q6_K" [VOCAB]
"""
import math
import os
import subprocess
import sys

build, node_modules, models, types = sys.argv[1:5]
vocab = int(sys.argv[5]) if len(sys.argv) > 5 else 32768
shape = os.environ.get("SHAPE", "85m")
here = os.path.dirname(os.path.abspath(__file__))
# Eight prompts of 8-48 ids (three gave a ranking that flipped with the prompts chosen).
prompts = [",".join(str(3 + (i * k) % 256) for i in range(n))
           for k, n in ((37, 8), (11, 24), (101, 40), (53, 16), (7, 33), (89, 12), (29, 48), (61, 20))]


def rlvr(model, ids):
    out = subprocess.run([os.path.join(build, "tests/rlvr_logprobs"), model, ids], check=True,
                         capture_output=True, text=True).stdout
    return [float(v) for v in out.split()]


def llama(model, ids):
    env = dict(os.environ, NODE_PATH=node_modules)
    out = subprocess.run(["node", os.path.join(here, "llama_logprobs.mjs"), model, ids, str(vocab)],
                         check=True, capture_output=True, text=True, env=env).stdout
    return [float(v) for v in out.split()]


def kl(p_log, q_log):
    return sum(math.exp(a) * (a - b) for a, b in zip(p_log, q_log) if a > -1e30)


def max_diff(p_log, q_log):
    return max(abs(a - b) for a, b in zip(p_log, q_log))


path = lambda t: os.path.join(models, f"r{shape}_{t}.gguf")
base = {side: [f(path("F32"), ids) for ids in prompts] for side, f in (("rlvr", rlvr), ("llama", llama))}
agree = max(max_diff(a, b) for a, b in zip(base["rlvr"], base["llama"]))
print(f"F32 file: rlvr and llama.cpp log-probabilities differ by at most {agree:.2e}")
print("| file | rlvr KL(F32 \u2016 file) | llama.cpp KL(F32 \u2016 file) | rlvr max \u0394logp | llama.cpp max \u0394logp |")
print("| --- | --- | --- | --- | --- |")
for t in types.split():
    row = {}
    for side, f in (("rlvr", rlvr), ("llama", llama)):
        quant = [f(path(t), ids) for ids in prompts]
        row[side] = (sum(kl(p, q) for p, q in zip(base[side], quant)) / len(prompts),
                     max(max_diff(p, q) for p, q in zip(base[side], quant)))
    print(f"| {shape} {t} | {row['rlvr'][0]:.2e} | {row['llama'][0]:.2e} | {row['rlvr'][1]:.3f} | {row['llama'][1]:.3f} |")
