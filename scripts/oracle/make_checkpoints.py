#!/usr/bin/env python3
"""Tiny checkpoints of every architecture family, written by Hugging Face transformers itself.

    python scripts/oracle/make_checkpoints.py --out DIR --tokenizer MODEL_DIR --train-text FILE
        [--steps N] [--only NAME,NAME] [--list]

Each checkpoint is built from transformers' own config class, trained for a few steps on the text
(so perplexity means something and the weights are not the init's near-zero values) and written with
`save_pretrained` into DIR/<name>/, together with the tokenizer files of MODEL_DIR (every model here
shares that 512-token vocabulary, so the project can tokenize the text as the model was trained).
Prints one JSON line: [{"name", "model_type", "folder", "dtype", "files", "loss"}] for the test.

The variants cover what each family's loader must get right: GPT-2 Conv1D, OPT's position offset,
a SmolLM-style tied Llama with a padded vocabulary, Mistral in F16 split into shards, Qwen2 in BF16
with q/k/v biases, Qwen3's q/k norms with head_dim != hidden/heads, Gemma 3's interleaved sliding and
global layers (with and without soft-capping), Phi-3's fused projections with partial rotary (and
longrope scaling). Widths are multiples of 4 so 2:4 applies to every linear.
"""
import argparse
import json
import os
import shutil
import sys
import time

# Offline and quiet: nothing is downloaded, and stderr carries only what the scripts say.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import torch
import transformers as tf
from tokenizers import Tokenizer

SEQ = 64
BATCH = 16
# Ids of the shared tokenizer: <unk>=0, <s>=1, </s>=2.
SPECIAL = dict(bos_token_id=1, eos_token_id=2, pad_token_id=0)


tf.utils.logging.disable_progress_bar()


def gpt2():
    return tf.GPT2Config(vocab_size=512, n_embd=32, n_layer=2, n_head=4, n_positions=128,
                         activation_function="gelu_new", **SPECIAL)


def opt():
    return tf.OPTConfig(vocab_size=512, hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=4,
                        max_position_embeddings=128, word_embed_proj_dim=32, **SPECIAL)


def llama():
    # SmolLM-style: tied head, a vocabulary padded past the tokenizer's 512 tokens.
    return tf.LlamaConfig(vocab_size=544, hidden_size=48, intermediate_size=128, num_hidden_layers=2,
                          num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=256,
                          tie_word_embeddings=True, **SPECIAL)


def mistral():
    return tf.MistralConfig(vocab_size=512, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                            sliding_window=128, tie_word_embeddings=False, **SPECIAL)


def qwen2():
    return tf.Qwen2Config(vocab_size=512, hidden_size=32, intermediate_size=96, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=1, max_position_embeddings=256,
                          tie_word_embeddings=False, **SPECIAL)


def qwen3():
    # head_dim 16 while hidden/heads is 8: the projections are not square.
    return tf.Qwen3Config(vocab_size=512, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=256,
                          tie_word_embeddings=True, **SPECIAL)


def gemma3(softcap=False):
    # Sliding layers with a window shorter than the evaluation windows, so the mask matters.
    extra = dict(final_logit_softcapping=3.0, attn_logit_softcapping=4.0) if softcap else {}
    return tf.Gemma3TextConfig(vocab_size=512, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                               num_attention_heads=4, num_key_value_heads=2, head_dim=16, query_pre_attn_scalar=16,
                               layer_types=["sliding_attention", "full_attention", "sliding_attention"],
                               sliding_window=24, max_position_embeddings=256,
                               rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                                                "full_attention": {"rope_type": "default", "rope_theta": 1000000.0}},
                               **extra, **SPECIAL)


def phi3(longrope=False):
    if not longrope:
        return tf.Phi3Config(vocab_size=512, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                             original_max_position_embeddings=256, partial_rotary_factor=0.5, **SPECIAL)
    # Phi-4-mini style: 3/4 of each head rotated; evaluation windows (64) are longer than
    # original_max_position_embeddings (32), so the long factors and the attention factor apply.
    rotary_half = int(8 * 0.75) // 2
    return tf.Phi3Config(vocab_size=512, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         original_max_position_embeddings=32, partial_rotary_factor=0.75,
                         rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0, "partial_rotary_factor": 0.75,
                                          "short_factor": [1.0 + 0.1 * i for i in range(rotary_half)],
                                          "long_factor": [1.5 + 0.5 * i for i in range(rotary_half)]},
                         **SPECIAL)


# name → (config, stored dtype, max shard size or None)
CHECKPOINTS = {
    "gpt2": (gpt2, torch.float32, None),
    "opt": (opt, torch.float32, None),
    "llama": (llama, torch.float32, None),
    "mistral": (mistral, torch.float16, "40KB"),
    "qwen2": (qwen2, torch.bfloat16, None),
    "qwen3": (qwen3, torch.bfloat16, None),
    "gemma3": (gemma3, torch.float32, None),
    "gemma3-softcap": (lambda: gemma3(softcap=True), torch.bfloat16, None),
    "phi3": (phi3, torch.float32, None),
    "phi3-longrope": (lambda: phi3(longrope=True), torch.float16, None),
}


def train(model, ids, steps, seed):
    """A few hundred AdamW steps of next-token prediction on random windows of the text."""
    if steps <= 0:
        return None
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    model.train()
    loss = None
    for _ in range(steps):
        starts = torch.randint(0, len(ids) - SEQ - 1, (BATCH,), generator=g)
        batch = torch.stack([ids[s:s + SEQ] for s in starts.tolist()])
        loss = model(input_ids=batch, labels=batch).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return float(loss)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="folder to write DIR/<name>/ into")
    ap.add_argument("--tokenizer", help="model folder whose tokenizer.json (and tokenizer_config.json) are copied")
    ap.add_argument("--train-text", help="UTF-8 text to train on")
    ap.add_argument("--train-chars", type=int, default=200_000, help="characters of the text used for training")
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--only", default="", help="comma-separated names (default: all)")
    ap.add_argument("--list", action="store_true", help="print the names with their model_type and exit")
    a = ap.parse_args()

    if a.list:
        print(json.dumps({name: spec[0]().model_type for name, spec in CHECKPOINTS.items()}))
        return
    if not (a.out and a.tokenizer and a.train_text):
        ap.error("--out, --tokenizer and --train-text are required")
    names = [n for n in a.only.split(",") if n] or list(CHECKPOINTS)
    unknown = [n for n in names if n not in CHECKPOINTS]
    if unknown:
        ap.error(f"unknown checkpoint(s) {', '.join(unknown)}; known: {', '.join(CHECKPOINTS)}")

    # One thread: on a shared two-core machine OpenMP workers spinning against other jobs cost more than they win.
    torch.set_num_threads(1)
    tokenizer = Tokenizer.from_file(os.path.join(a.tokenizer, "tokenizer.json"))
    with open(a.train_text, encoding="utf-8") as f:
        ids = torch.tensor(tokenizer.encode(f.read()[: a.train_chars]).ids, dtype=torch.long)

    made = []
    for i, name in enumerate(names):
        started = time.time()
        make_config, dtype, shard = CHECKPOINTS[name]
        config = make_config()
        torch.manual_seed(1000 + i)
        model = tf.AutoModelForCausalLM.from_config(config, attn_implementation="eager")
        loss = train(model, ids, a.steps, seed=i)
        folder = os.path.join(a.out, name)
        model.to(dtype).save_pretrained(folder, **({"max_shard_size": shard} if shard else {}))
        for file in ("tokenizer.json", "tokenizer_config.json"):
            if os.path.exists(os.path.join(a.tokenizer, file)):
                shutil.copy(os.path.join(a.tokenizer, file), folder)
        made.append({"name": name, "model_type": config.model_type, "folder": folder, "dtype": str(dtype).removeprefix("torch."),
                     "files": sorted(os.listdir(folder)), "loss": loss, "seconds": round(time.time() - started, 2)})
        print(f"{name}: {config.model_type}, {dtype}, final training loss {loss}, {time.time() - started:.1f} s", file=sys.stderr)
    print(json.dumps(made))


if __name__ == "__main__":
    main()
