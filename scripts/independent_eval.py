#!/usr/bin/env python3
"""Independent perplexity of a Llama-family Hugging Face folder, in float64 NumPy.

    python3 scripts/independent_eval.py --tokens <tokens.u32> --seqlen N <model-dir> [<model-dir> ...]

<tokens.u32> holds the token ids (little-endian uint32) of consecutive windows of N tokens; a trailing
partial window is dropped. Prints one JSON line per model folder: {"model", "perplexity", "nll",
"windows", "predicted", "window_nll"}, the perplexity being exp(mean NLL) over every predicted token
(N - 1 per window). Several folders in one call pay NumPy's start-up once.

This is the test oracle for the exported pruned models: it shares no code with the studio. It parses
safetensors itself, reads config.json itself and writes the forward pass from the Hugging Face
LlamaModel definition (RMSNorm, rotate-half rotary embedding, grouped-query attention with repeated
key/value heads, SiLU-gated MLP, tied or separate head). Anything it does not implement is refused
rather than approximated.
"""
import argparse
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length].decode("utf-8"))
    start = 8 + length
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[start + begin : start + end]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            values = bits.view(np.float32)
        elif info["dtype"] in DTYPES:
            values = np.frombuffer(raw, dtype=np.dtype(DTYPES[info["dtype"]]).newbyteorder("<"))
        else:
            raise SystemExit(f"{path}: tensor {name} has dtype {info['dtype']}, not supported here")
        tensors[name] = values.astype(np.float64).reshape(info["shape"])
    return tensors


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def window_nll(cfg, t, ids):
    d = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads") or heads
    hd = cfg.get("head_dim") or d // heads
    eps = cfg.get("rms_norm_eps", 1e-6)
    theta = cfg.get("rope_theta", 10000.0)
    T = len(ids)

    x = t["model.embed_tokens.weight"][ids]
    inv_freq = 1.0 / theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd)
    angles = np.outer(np.arange(T, dtype=np.float64), inv_freq)
    cos = np.cos(np.concatenate([angles, angles], axis=-1))
    sin = np.sin(np.concatenate([angles, angles], axis=-1))
    causal = np.triu(np.full((T, T), -np.inf), k=1)

    def linear(h, name):
        y = h @ t[name + ".weight"].T
        return y + t[name + ".bias"] if name + ".bias" in t else y

    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        h = rms_norm(x, t[p + "input_layernorm.weight"], eps)
        q = linear(h, p + "self_attn.q_proj").reshape(T, heads, hd).transpose(1, 0, 2)
        k = linear(h, p + "self_attn.k_proj").reshape(T, kv, hd).transpose(1, 0, 2)
        v = linear(h, p + "self_attn.v_proj").reshape(T, kv, hd).transpose(1, 0, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = np.repeat(k, heads // kv, axis=0)
        v = np.repeat(v, heads // kv, axis=0)
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(hd) + causal
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        attn = (scores @ v).transpose(1, 0, 2).reshape(T, heads * hd)
        x = x + linear(attn, p + "self_attn.o_proj")
        h = rms_norm(x, t[p + "post_attention_layernorm.weight"], eps)
        gate = linear(h, p + "mlp.gate_proj")
        up = linear(h, p + "mlp.up_proj")
        x = x + linear(gate / (1.0 + np.exp(-gate)) * up, p + "mlp.down_proj")

    h = rms_norm(x, t["model.norm.weight"], eps)
    head = t["lm_head.weight"] if "lm_head.weight" in t else t["model.embed_tokens.weight"]
    logits = h[:-1] @ head.T
    m = logits.max(axis=-1, keepdims=True)
    logz = m[:, 0] + np.log(np.exp(logits - m).sum(axis=-1))
    return logz - logits[np.arange(T - 1), ids[1:]]


def evaluate(folder, ids, seqlen):
    with open(f"{folder}/config.json") as f:
        cfg = json.load(f)
    if cfg.get("model_type") not in ("llama", "mistral", "qwen2"):
        raise SystemExit(f"{folder}: model_type {cfg.get('model_type')!r} is not implemented here (Llama family only)")
    scaling = cfg.get("rope_scaling")
    if scaling and (scaling.get("rope_type") or scaling.get("type")) not in (None, "default"):
        raise SystemExit(f"{folder}: rope_scaling {scaling} is not implemented here")
    if cfg.get("hidden_act", "silu") != "silu":
        raise SystemExit(f"{folder}: hidden_act {cfg.get('hidden_act')!r} is not implemented here")
    tensors = read_safetensors(f"{folder}/model.safetensors")
    windows = len(ids) // seqlen
    per_window = [window_nll(cfg, tensors, ids[w * seqlen : (w + 1) * seqlen]) for w in range(windows)]
    predicted = windows * (seqlen - 1)
    nll = float(sum(n.sum() for n in per_window)) / predicted
    return {
        "model": folder,
        "perplexity": float(np.exp(nll)),
        "nll": nll,
        "windows": windows,
        "predicted": predicted,
        "window_nll": [float(n.mean()) for n in per_window],
    }


def main():
    parser = argparse.ArgumentParser(description="Independent float64 perplexity of Llama-family model folders.")
    parser.add_argument("--tokens", required=True, help="token ids, little-endian uint32")
    parser.add_argument("--seqlen", required=True, type=int, help="window length in tokens")
    parser.add_argument("models", nargs="+", help="Hugging Face model folders")
    args = parser.parse_args()
    ids = np.fromfile(args.tokens, dtype="<u4").astype(np.int64)
    if args.seqlen < 2 or len(ids) < args.seqlen:
        raise SystemExit(f"{args.tokens}: {len(ids)} tokens, fewer than one window of {args.seqlen}")
    for folder in args.models:
        print(json.dumps(evaluate(folder, ids, args.seqlen)), flush=True)


if __name__ == "__main__":
    main()
