#!/usr/bin/python3
"""Writes the golden fixtures for tests/kernels/golden_test.cpp.

An independent PyTorch implementation of the LLaMA architecture (Hugging Face conventions:
RMSNorm with eps, rotate_half RoPE, grouped-query attention by repeat_interleave of the key/value
heads, SiLU-gated MLP, untied lm_head) runs a fixed token sequence over seeded random weights.

This script generates the weights itself (numpy, seeded) and writes them with plain json + struct,
so the C++ safetensors reader is checked against an independent writer. Outputs, in --out:
  tiny_llama.safetensors   the weights (F32), config in __metadata__ (keys as rlvr::ConfigToMetadata)
  expected.safetensors     "tokens" [T] (token ids stored as F32, exact below 2^24) and
                           "logits" [T, vocab] F32: logits after each prefix, computed in float64.
Run: /usr/bin/python3 tests/golden/make_golden.py   (needs python3-torch and python3-numpy; the C++ test
does not.)
"""

import argparse
import json
import os
import struct

import numpy as np
import torch

CONFIG = dict(vocab=512, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, head_dim=16, ffn_dim=128,
              max_positions=64, rope_theta=10000.0, norm_eps=1e-5, tie_embeddings=False)
SEQUENCE_LENGTH = 16
SEED = 20261123


def make_weights(c, rng):
    """HF LLaMA names -> float32 arrays. Matrices ~ U with std 1/sqrt(fan_in) so activations stay
    O(1) and every mistake shows in the logits; embeddings std 1; norm weights 1 +- 0.2."""
    def matrix(out_dim, in_dim):
        a = np.sqrt(3.0 / in_dim)
        return rng.uniform(-a, a, size=(out_dim, in_dim)).astype(np.float32)

    def norm(n):
        return rng.uniform(0.8, 1.2, size=(n,)).astype(np.float32)

    d, q, kv, f = c["dim"], c["n_heads"] * c["head_dim"], c["n_kv_heads"] * c["head_dim"], c["ffn_dim"]
    w = {"model.embed_tokens.weight": rng.uniform(-1.7, 1.7, size=(c["vocab"], d)).astype(np.float32)}
    for i in range(c["n_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm(d)
        w[p + "self_attn.q_proj.weight"] = matrix(q, d)
        w[p + "self_attn.k_proj.weight"] = matrix(kv, d)
        w[p + "self_attn.v_proj.weight"] = matrix(kv, d)
        w[p + "self_attn.o_proj.weight"] = matrix(d, q)
        w[p + "post_attention_layernorm.weight"] = norm(d)
        w[p + "mlp.gate_proj.weight"] = matrix(f, d)
        w[p + "mlp.up_proj.weight"] = matrix(f, d)
        w[p + "mlp.down_proj.weight"] = matrix(d, f)
    w["model.norm.weight"] = norm(d)
    w["lm_head.weight"] = matrix(c["vocab"], d)
    return w


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    for name, array in tensors.items():
        size = array.size * 4
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for array in tensors.values():
            f.write(np.ascontiguousarray(array, dtype="<f4").tobytes())


def read_safetensors(path):
    """Plain reader (Debian ships no safetensors package): name -> float64 torch tensor."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", name
        begin, end = e["data_offsets"]
        a = np.frombuffer(data[begin:end], dtype="<f4").reshape(e["shape"])
        out[name] = torch.from_numpy(a.astype(np.float64))
    return out


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope_tables(c, positions):
    hd = c["head_dim"]
    inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    freqs = torch.outer(positions.to(torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)  # [T, hd]
    return emb.cos(), emb.sin()


def forward(c, w, tokens):
    """Logits [T, vocab] for every prefix of tokens (causal), in float64."""
    T, H, KV, hd = len(tokens), c["n_heads"], c["n_kv_heads"], c["head_dim"]
    x = w["model.embed_tokens.weight"][torch.tensor(tokens)]  # [T, dim]
    cos, sin = rope_tables(c, torch.arange(T))
    cos, sin = cos[:, None, :], sin[:, None, :]  # broadcast over heads
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    for i in range(c["n_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], c["norm_eps"])
        q = (h @ w[p + "self_attn.q_proj.weight"].T).view(T, H, hd)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).view(T, KV, hd)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(T, KV, hd)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, dim=1)  # query head j uses kv head j // (H / KV)
        v = v.repeat_interleave(H // KV, dim=1)
        scores = torch.einsum("thd,shd->hts", q, k) / (hd ** 0.5) + mask
        attended = torch.einsum("hts,shd->thd", torch.softmax(scores, dim=-1), v).reshape(T, H * hd)
        x = x + attended @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], c["norm_eps"])
        gate = torch.nn.functional.silu(h @ w[p + "mlp.gate_proj.weight"].T)
        x = x + (gate * (h @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], c["norm_eps"])
    return x @ w["lm_head.weight"].T


def metadata(c):
    def real(v):
        return "%.9g" % v
    m = {k: str(v) for k, v in c.items() if isinstance(v, int) and not isinstance(v, bool)}
    m.update(rope_theta=real(c["rope_theta"]), norm_eps=real(c["norm_eps"]),
             tie_embeddings="true" if c["tie_embeddings"] else "false")
    return m


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "fixtures", "golden"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    rng = np.random.default_rng(SEED)
    weights_path = os.path.join(args.out, "tiny_llama.safetensors")
    write_safetensors(weights_path, make_weights(CONFIG, rng), metadata(CONFIG))
    tokens = [int(t) for t in rng.integers(0, CONFIG["vocab"], size=SEQUENCE_LENGTH)]

    # Reread what was written, so the reference runs on exactly the bytes the C++ test loads.
    logits = forward(CONFIG, read_safetensors(weights_path), tokens)
    write_safetensors(os.path.join(args.out, "expected.safetensors"),
                      {"tokens": np.array(tokens, dtype=np.float32),
                       "logits": logits.numpy().astype(np.float32)},
                      {"source": "tests/golden/make_golden.py", "seed": str(SEED),
                       "torch": torch.__version__})
    print(f"wrote {weights_path} and expected.safetensors: {SEQUENCE_LENGTH} tokens, "
          f"logits range [{logits.min().item():.3f}, {logits.max().item():.3f}]")


if __name__ == "__main__":
    main()
