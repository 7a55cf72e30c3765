#!/usr/bin/env python3
"""Builds the bundled default model in public/default-model/.

Steps (all seeded, single CPU thread, no network, no downloaded data):
 1. generate a training corpus (seed 0) into a temporary directory with the
    story grammar in corpus.py, plus calibration.txt (seed 1001) and
    evaluation.txt (seed 2002) into the output directory;
 2. learn a Llama-style BPE tokenizer (bpe.py) on the training corpus and save
    tokenizer.json / tokenizer_config.json;
 3. train a small LlamaForCausalLM-equivalent model written in plain torch;
 4. measure dense perplexity on evaluation.txt, and write config.json,
    model.safetensors (F32, Hugging Face tensor names), metrics.json, README.md.

Run from the repository root with Debian's torch:
  /usr/bin/python3 scripts/default-model/train.py
(`--steps N` to change the training length, `--bench` to only time a few steps.)

Perplexity protocol (what metrics.json reports and what the app should
reproduce): ids = tokenizer.encode(evaluation.txt) with the BOS token that the
post-processor adds (one BOS at the very start of the file); split ids into
consecutive, non-overlapping windows of W tokens, dropping the last partial
window; run each window independently from position 0 (no cache between
windows); the loss is the mean over all windows of -log p(ids[t+1] | ids[..t])
for t = 0..W-2; perplexity = exp(loss).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import struct
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True  # keep scripts/default-model free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import corpus  # noqa: E402

# ---------------------------------------------------------------------------
# Hyper-parameters
# ---------------------------------------------------------------------------
CFG = dict(
    vocab_size=768,
    hidden_size=96,
    intermediate_size=256,
    num_hidden_layers=4,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=256,
    rms_norm_eps=1e-5,
    rope_theta=10000.0,
    tie_word_embeddings=False,
)
SEEDS = dict(train_corpus=0, calibration=1001, evaluation=2002, init=1234, batches=4321)
TRAIN_CHARS = 4_000_000
EVAL_CHARS = 30_000
SEQ = 256  # training context in the last phase (= max_position_embeddings)
BATCH = 16
# Most steps use 32 windows of 128 tokens (same tokens per step, cheaper attention); the
# last LONG_STEPS use 16 windows of 256 tokens so every rotary position is trained.
SHORT_SEQ, SHORT_BATCH = 128, 32
LONG_STEPS = 60
LR = 4e-3
MIN_LR_FRAC = 0.1
WARMUP = 20
WEIGHT_DECAY = 0.1
CLIP = 1.0


# ---------------------------------------------------------------------------
# Model: Hugging Face LlamaForCausalLM semantics in plain torch
# ---------------------------------------------------------------------------
class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope_cos_sin(seq: int, head_dim: int, theta: float):
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    pos = torch.arange(seq, dtype=torch.float32)
    freqs = torch.outer(pos, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.nh = c["num_attention_heads"]
        self.nkv = c["num_key_value_heads"]
        self.hd = h // self.nh
        self.q_proj = nn.Linear(h, self.nh * self.hd, bias=False)
        self.k_proj = nn.Linear(h, self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(h, self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, h, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.nh // self.nkv  # HF repeat_kv: kv head j serves query heads j*rep .. j*rep+rep-1
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + mask
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, self.nh * self.hd)
        return self.o_proj(y)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(h, i, bias=False)
        self.up_proj = nn.Linear(h, i, bias=False)
        self.down_proj = nn.Linear(i, h, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Attention(c)
        self.mlp = MLP(c)
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Inner(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.model = Inner(c)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        if c["tie_word_embeddings"]:
            self.lm_head.weight = self.model.embed_tokens.weight
        hd = c["hidden_size"] // c["num_attention_heads"]
        cos, sin = rope_cos_sin(c["max_position_embeddings"], hd, c["rope_theta"])
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def forward(self, ids):
        T = ids.shape[1]
        x = self.model.embed_tokens(ids)
        cos, sin = self.cos[:T], self.sin[:T]
        mask = torch.full((T, T), float("-inf")).triu(1)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask)
        return self.lm_head(self.model.norm(x))


def init_weights(model: Llama, seed: int):
    g = torch.Generator().manual_seed(seed)
    n_layers = model.c["num_hidden_layers"]
    for name, p in sorted(model.named_parameters()):
        if p.dim() == 1:
            nn.init.ones_(p)
            continue
        std = 0.02
        if name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
            std = 0.02 / math.sqrt(2 * n_layers)
        with torch.no_grad():
            p.copy_(torch.randn(p.shape, generator=g) * std)


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------
@torch.no_grad()
def perplexity(model: Llama, ids: list[int], window: int) -> dict:
    model.eval()
    n_win = len(ids) // window
    x = torch.tensor(ids[: n_win * window]).view(n_win, window)
    total, count = 0.0, 0
    for i in range(0, n_win, 8):
        xb = x[i: i + 8]
        logits = model(xb)
        nll = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).double(),
                              xb[:, 1:].reshape(-1), reduction="sum")
        total += nll.item()
        count += xb[:, 1:].numel()
    model.train()
    loss = total / count
    return dict(window=window, windows=n_win, predicted_tokens=count, loss=loss, perplexity=math.exp(loss))


# ---------------------------------------------------------------------------
# safetensors writer (by hand: u64 LE header length, JSON header, raw LE data)
# ---------------------------------------------------------------------------
def hf_state(model: Llama) -> list[tuple[str, np.ndarray]]:
    c = model.c
    out = [("model.embed_tokens.weight", model.model.embed_tokens.weight)]
    for i, L in enumerate(model.model.layers):
        p = f"model.layers.{i}."
        out += [
            (p + "self_attn.q_proj.weight", L.self_attn.q_proj.weight),
            (p + "self_attn.k_proj.weight", L.self_attn.k_proj.weight),
            (p + "self_attn.v_proj.weight", L.self_attn.v_proj.weight),
            (p + "self_attn.o_proj.weight", L.self_attn.o_proj.weight),
            (p + "mlp.gate_proj.weight", L.mlp.gate_proj.weight),
            (p + "mlp.up_proj.weight", L.mlp.up_proj.weight),
            (p + "mlp.down_proj.weight", L.mlp.down_proj.weight),
            (p + "input_layernorm.weight", L.input_layernorm.weight),
            (p + "post_attention_layernorm.weight", L.post_attention_layernorm.weight),
        ]
    out.append(("model.norm.weight", model.model.norm.weight))
    if not c["tie_word_embeddings"]:
        out.append(("lm_head.weight", model.lm_head.weight))
    return [(n, t.detach().cpu().contiguous().numpy().astype("<f4")) for n, t in out]


def write_safetensors(path: str, tensors: list[tuple[str, np.ndarray]]) -> None:
    header: dict = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, arr in tensors:
        nbytes = arr.nbytes
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)  # keep the data 8-byte aligned, like the reference writer
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for _, arr in tensors:
            f.write(arr.tobytes())


def read_safetensors(path: str) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8: 8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + a: 8 + n + b], dtype="<f4").reshape(info["shape"])
    return out


def hf_config() -> dict:
    c = CFG
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": c["hidden_size"],
        "intermediate_size": c["intermediate_size"],
        "num_hidden_layers": c["num_hidden_layers"],
        "num_attention_heads": c["num_attention_heads"],
        "num_key_value_heads": c["num_key_value_heads"],
        "head_dim": c["hidden_size"] // c["num_attention_heads"],
        "vocab_size": c["vocab_size"],
        "max_position_embeddings": c["max_position_embeddings"],
        "rms_norm_eps": c["rms_norm_eps"],
        "rope_theta": c["rope_theta"],
        "rope_scaling": None,
        "hidden_act": "silu",
        "tie_word_embeddings": c["tie_word_embeddings"],
        "bos_token_id": bpe.BOS_ID,
        "eos_token_id": bpe.EOS_ID,
        "torch_dtype": "float32",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "initializer_range": 0.02,
        "use_cache": True,
    }


def ids_checksum(ids: list[int]) -> int:
    """sum((i + 1) * id) mod 2^31 — cheap to recompute in the TypeScript test."""
    s = 0
    for i, t in enumerate(ids):
        s = (s + (i + 1) * t) % 2147483648
    return s


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


@torch.no_grad()
def sample(model: Llama, tok: bpe.BPETokenizer, prompt: str, n: int, seed: int) -> str:
    model.eval()
    g = torch.Generator().manual_seed(seed)
    ids = tok.encode(prompt)
    for _ in range(n):
        logits = model(torch.tensor([ids[-SEQ:]]))[0, -1]
        probs = F.softmax(logits / 0.8, dim=-1)
        nxt = int(torch.multinomial(probs, 1, generator=g))
        ids.append(nxt)
        if tok.id_to_token[nxt] == "<0x0A>":
            break
    model.train()
    return tok.decode(ids)


# ---------------------------------------------------------------------------
def load_model(path: str) -> Llama:
    model = Llama(CFG)
    sd = read_safetensors(path)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(sd[name].copy()))
    model.eval()
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "public", "default-model"))
    ap.add_argument("--steps", type=int, default=220)
    ap.add_argument("--bench", action="store_true", help="time 5 steps and exit")
    ap.add_argument("--readme-only", action="store_true",
                    help="do not train: check the saved model against metrics.json and rewrite README.md")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEEDS["init"])
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    t_start = time.time()
    writes = not (args.bench or args.readme_only)

    # 1. corpora
    with tempfile.TemporaryDirectory() as tmp:
        train_text = corpus.generate(SEEDS["train_corpus"], TRAIN_CHARS)
        write_text(os.path.join(tmp, "train.txt"), train_text)  # never shipped
    calib_text = corpus.generate(SEEDS["calibration"], EVAL_CHARS)
    eval_text = corpus.generate(SEEDS["evaluation"], EVAL_CHARS)
    if writes:
        write_text(os.path.join(out, "calibration.txt"), calib_text)
        write_text(os.path.join(out, "evaluation.txt"), eval_text)
    eval_lines = set(eval_text.splitlines())
    overlap = sum(1 for l in train_text.splitlines() if l in eval_lines)
    print(f"corpus: train {len(train_text)} chars, eval stories also in train: {overlap}/{len(eval_lines)}", flush=True)

    # 2. tokenizer
    tok = bpe.BPETokenizer.train(train_text, CFG["vocab_size"])
    assert len(tok.vocab) == CFG["vocab_size"]
    if writes:
        tok.save(out, CFG["max_position_embeddings"])
    train_ids = tok.encode(train_text)
    eval_ids = tok.encode(eval_text)
    calib_ids = tok.encode(calib_text)
    assert tok.decode(eval_ids) == eval_text and tok.decode(calib_ids) == calib_text
    assert tok.encode_reference(eval_text[:4000]) == tok.encode(eval_text[:4000])
    print(f"tokenizer: BPE vocab {len(tok.vocab)}, {len(tok.merges)} merges; train {len(train_ids)} tokens, "
          f"eval {len(eval_ids)} tokens, calibration {len(calib_ids)} tokens", flush=True)
    st_path = os.path.join(out, "model.safetensors")

    if args.readme_only:
        with open(os.path.join(out, "metrics.json")) as f:
            metrics = json.load(f)
        with open(os.path.join(out, "tokenizer.json"), encoding="utf-8") as f:
            assert json.load(f) == json.loads(json.dumps(tok.tokenizer_json())), "tokenizer.json is stale"
        assert sha256(st_path) == metrics["model_sha256"], "model.safetensors does not match metrics.json"
        model = load_model(st_path)
        for w in ("128", "256"):
            got = perplexity(model, eval_ids, int(w))["perplexity"]
            want = metrics["evaluation"]["dense"][w]["perplexity"]
            print(f"evaluation W={w}: ppl {got:.6f} (metrics.json {want:.6f})")
            assert abs(got - want) < 1e-4 * want
        write_readme(out, metrics, samples_for(model, tok), name_loss(model, tok, eval_ids))
        return

    # 3. model + training
    model = Llama(CFG)
    init_weights(model, SEEDS["init"])
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params} parameters ({n_params * 4 / 1e6:.2f} MB F32)", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                             {"params": no_decay, "weight_decay": 0.0}], lr=LR, betas=(0.9, 0.95), eps=1e-8)
    data = torch.tensor(train_ids, dtype=torch.int64)
    g = torch.Generator().manual_seed(SEEDS["batches"])
    steps = 5 if args.bench else args.steps

    def lr_at(s: int) -> float:
        if s < WARMUP:
            return LR * (s + 1) / WARMUP
        p = (s - WARMUP) / max(1, steps - WARMUP)
        return LR * (MIN_LR_FRAC + (1 - MIN_LR_FRAC) * 0.5 * (1 + math.cos(math.pi * p)))

    tokens_seen = 0
    t_train = time.time()
    ema = None
    log = []
    for step in range(steps):
        seq, bsz = (SEQ, BATCH) if step >= steps - LONG_STEPS else (SHORT_SEQ, SHORT_BATCH)
        starts = torch.randint(0, len(data) - seq - 1, (bsz,), generator=g)
        xb = torch.stack([data[s: s + seq + 1] for s in starts.tolist()])
        tokens_seen += bsz * seq
        for grp in opt.param_groups:
            grp["lr"] = lr_at(step)
        logits = model(xb[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), xb[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % 25 == 0 or step == steps - 1:
            el = time.time() - t_train
            print(f"step {step:4d} seq {seq} loss {loss.item():.4f} ema {ema:.4f} lr {lr_at(step):.2e} {el:.0f}s", flush=True)
            log.append(dict(step=step, seq=seq, loss=round(loss.item(), 5), ema=round(ema, 5)))
    train_seconds = time.time() - t_train
    if args.bench:
        print(f"bench: {train_seconds / steps:.2f} s/step")
        return

    # final training loss, measured after training on 32 random 256-token windows of the training stream
    with torch.no_grad():
        gg = torch.Generator().manual_seed(99)
        starts = torch.randint(0, len(data) - SEQ - 1, (32,), generator=gg)
        xb = torch.stack([data[s: s + SEQ + 1] for s in starts.tolist()])
        model.eval()
        lg = model(xb[:, :-1])
        final_train_loss = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), xb[:, 1:].reshape(-1)).item()
        model.train()

    # 4. evaluation + export
    write_safetensors(st_path, hf_state(model))
    # evaluate the model re-loaded from the file just written (what the app will load)
    reloaded = load_model(st_path)
    ppl = {str(w): perplexity(reloaded, eval_ids, w) for w in (128, 256)}
    ppl_calib = {str(w): perplexity(reloaded, calib_ids, w) for w in (128, 256)}
    for w in ("128", "256"):
        print(f"evaluation W={w}: loss {ppl[w]['loss']:.4f} ppl {ppl[w]['perplexity']:.4f} "
              f"({ppl[w]['windows']} windows); calibration ppl {ppl_calib[w]['perplexity']:.4f}", flush=True)

    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(hf_config(), f, indent=2)
        f.write("\n")
    metrics = {
        "protocol": ("ids = tokenizer.encode(evaluation.txt) (one BOS at the start); consecutive non-overlapping "
                     "windows of W tokens, last partial window dropped; each window run from position 0; "
                     "loss = mean NLL of ids[t+1] given ids[..t] for t = 0..W-2 over all windows; perplexity = exp(loss)"),
        "evaluation": {"file": "evaluation.txt", "tokens": len(eval_ids), "ids_checksum": ids_checksum(eval_ids),
                       "first_ids": eval_ids[:32], "dense": ppl},
        "calibration": {"file": "calibration.txt", "tokens": len(calib_ids), "ids_checksum": ids_checksum(calib_ids),
                        "dense": ppl_calib},
        "train": {"steps": steps, "short_phase": {"steps": steps - LONG_STEPS, "batch": SHORT_BATCH, "seq_len": SHORT_SEQ},
                  "long_phase": {"steps": LONG_STEPS, "batch": BATCH, "seq_len": SEQ}, "tokens_seen": tokens_seen,
                  "corpus_tokens": len(train_ids), "final_train_loss": final_train_loss,
                  "train_seconds": round(train_seconds, 1), "threads": args.threads, "log": log},
        "parameters": n_params,
        "model_sha256": sha256(st_path),
        "torch": torch.__version__,
    }
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    samples = samples_for(reloaded, tok)
    for smp in samples:
        print("sample:", smp, flush=True)
    write_readme(out, metrics, samples, name_loss(reloaded, tok, eval_ids))
    print(f"done in {time.time() - t_start:.0f}s", flush=True)


@torch.no_grad()
def name_loss(model: Llama, tok: bpe.BPETokenizer, ids: list[int], window: int = 256) -> dict:
    """Share of the evaluation loss spent on character names and animal nouns (the tokens that a
    model can only predict by remembering who the story is about)."""
    model.eval()
    n = len(ids) // window
    x = torch.tensor(ids[: n * window]).view(n, window)
    nll = F.cross_entropy(model(x)[:, :-1].reshape(-1, CFG["vocab_size"]), x[:, 1:].reshape(-1), reduction="none")
    names = {tok.vocab.get(bpe.SPACE + w) for w in corpus.GIRLS + corpus.BOYS + [a[0] for a in corpus.ANIMALS]}
    is_name = torch.tensor([int(t) in names for t in x[:, 1:].reshape(-1)])
    return dict(token_share=is_name.float().mean().item(), loss_share=(nll[is_name].sum() / nll.sum()).item(),
                mean_nll=nll[is_name].mean().item())


def samples_for(model: Llama, tok: bpe.BPETokenizer) -> list[str]:
    prompts = ["Once upon a time, there was", "One day, Tom went to the park.", "Lily"]
    return [sample(model, tok, p, 120, 7 + i).strip() for i, p in enumerate(prompts)]


def write_readme(out: str, metrics: dict, samples: list[str], names: dict) -> None:
    c = CFG
    hd = c["hidden_size"] // c["num_attention_heads"]
    rep = c["num_attention_heads"] // c["num_key_value_heads"]
    n_params = metrics["parameters"]
    tr = metrics["train"]
    ppl, ppl_calib = metrics["evaluation"]["dense"], metrics["calibration"]["dense"]
    size = os.path.getsize(os.path.join(out, "model.safetensors"))
    with open(os.path.join(out, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    n_chars = sum(1 for t in tj["model"]["vocab"] if len(t) == 1)
    n_merged = c["vocab_size"] - len(bpe.SPECIALS) - 256 - n_chars
    sp, lp = tr["short_phase"], tr["long_phase"]
    text = f"""# Default model: tiny-stories-grammar (Llama architecture)

The model that `npm start` opens: a {n_params:,}-parameter `LlamaForCausalLM`
({size / 1e6:.2f} MB of F32 weights) trained from scratch on one CPU thread on synthetic
children's stories. Nothing in it comes from a downloaded model or dataset: the text is
produced by the seeded grammar in `scripts/default-model/corpus.py`, the tokenizer is
learned by `scripts/default-model/bpe.py`, and the model is trained by
`scripts/default-model/train.py` (plain torch, no `transformers`, fixed seeds).

Rebuild everything in this folder with

    /usr/bin/python3 scripts/default-model/train.py

(`--readme-only` re-checks the saved weights against `metrics.json` and rewrites this file.)

## Files

| file | what |
| --- | --- |
| `config.json` | Hugging Face Llama config |
| `model.safetensors` | F32 weights, Hugging Face names (`model.embed_tokens.weight`, `model.layers.N.self_attn.q_proj.weight`, ..., `model.norm.weight`, `lm_head.weight`) |
| `tokenizer.json`, `tokenizer_config.json` | Llama-style BPE tokenizer (Hugging Face format) |
| `calibration.txt` | {os.path.getsize(os.path.join(out, 'calibration.txt')):,} bytes of stories from the grammar (seed {SEEDS['calibration']}), for pruning calibration |
| `evaluation.txt` | {os.path.getsize(os.path.join(out, 'evaluation.txt')):,} bytes of stories from the grammar (seed {SEEDS['evaluation']}), for perplexity |
| `metrics.json` | dense perplexities measured by `train.py`, token counts and checksums of the tokenized texts |

One story per line. The training corpus ({TRAIN_CHARS:,} characters, seed {SEEDS['train_corpus']}) is
generated into a temporary directory during training and not shipped; no evaluation story
occurs in it.

## Architecture

Hugging Face `LlamaForCausalLM` semantics: RMSNorm with weight (eps {c['rms_norm_eps']}),
rotary embeddings in rotate-half order (theta {c['rope_theta']:g}), grouped-query attention with
{c['num_attention_heads']} query heads and {c['num_key_value_heads']} key/value heads (head dim {hd}; key/value head j serves
query heads {rep}j..{rep}j+{rep - 1}), SwiGLU MLP (`down(silu(gate(x)) * up(x))`), no biases, final
RMSNorm and an **untied** `lm_head`.

| field | value |
| --- | --- |
| hidden_size | {c['hidden_size']} |
| intermediate_size | {c['intermediate_size']} |
| num_hidden_layers | {c['num_hidden_layers']} |
| num_attention_heads / num_key_value_heads | {c['num_attention_heads']} / {c['num_key_value_heads']} |
| vocab_size | {c['vocab_size']} |
| max_position_embeddings (training context) | {c['max_position_embeddings']} |
| tie_word_embeddings | {str(c['tie_word_embeddings']).lower()} |

## Tokenizer

A SentencePiece-style BPE in the same layout as Llama / llama2.c tokenizers:
ids 0, 1, 2 are `<unk>`, `<s>`, `</s>`; ids 3..258 are the byte-fallback tokens
`<0x00>`..`<0xFF>` (a newline is `<0x0A>`); then {n_chars} single characters and {n_merged}
merged tokens, most of them whole words with their leading `▁`. The normalizer
prepends `▁` and replaces spaces by `▁`; there is no pre-tokenizer; the
post-processor adds `<s>` in front; decoding drops the leading space. Any UTF-8 text
round-trips (characters outside the vocabulary go through the byte tokens).
`tokenizer_config.json` sets `clean_up_tokenization_spaces: false` so decoding is exact.

## Training

AdamW (lr {LR}, betas 0.9/0.95, weight decay {WEIGHT_DECAY} on matrices, warmup {WARMUP} steps then cosine
to {MIN_LR_FRAC}x), gradient clipping {CLIP}; {tr['steps']} steps: {sp['steps']} of {sp['batch']} random windows of
{sp['seq_len']} + 1 tokens, then {lp['steps']} of {lp['batch']} windows of {lp['seq_len']} + 1 tokens
({tr['tokens_seen']:,} tokens seen, about {tr['tokens_seen'] / tr['corpus_tokens']:.2f} passes over the
{tr['corpus_tokens']:,}-token corpus), torch {metrics['torch']} on {tr['threads']} CPU thread(s),
{tr['train_seconds'] / 60:.1f} minutes on a shared, busy 2-core machine. Loss after training on
32 random 256-token windows of the training stream: {tr['final_train_loss']:.3f}.

## Dense perplexity

Protocol: `ids = tokenizer.encode(evaluation.txt)` ({metrics['evaluation']['tokens']:,} tokens, with one BOS at the
start); consecutive non-overlapping windows of W tokens (last partial window dropped), each run
from position 0 with no state carried between windows; loss = mean negative log-likelihood of
every token after the first in each window; perplexity = exp(loss).

| text | W = 128 | W = 256 |
| --- | --- | --- |
| evaluation.txt | {ppl['128']['perplexity']:.4f} (loss {ppl['128']['loss']:.4f}) | {ppl['256']['perplexity']:.4f} (loss {ppl['256']['loss']:.4f}) |
| calibration.txt | {ppl_calib['128']['perplexity']:.4f} (loss {ppl_calib['128']['loss']:.4f}) | {ppl_calib['256']['perplexity']:.4f} (loss {ppl_calib['256']['loss']:.4f}) |

A uniform guess over the vocabulary has perplexity {c['vocab_size']}. The model has learned the
story templates, word forms and punctuation well, but not to keep the same hero, friend and
animal through a story (see the samples): names and animal nouns are {100 * names['token_share']:.0f}% of the
evaluation tokens (W = 256) but {100 * names['loss_share']:.0f}% of the loss ({names['mean_nll']:.2f} nats each, about
the cost of guessing among the {len(corpus.GIRLS) + len(corpus.BOYS)} names); every other token costs
{(1 - names['loss_share']) * ppl['256']['loss'] / (1 - names['token_share']):.2f} nats on average.

## Samples (temperature 0.8, prompt first)

""" + "\n".join(f"> {smp}\n" for smp in samples)
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
