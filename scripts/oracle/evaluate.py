#!/usr/bin/env python3
"""Hugging Face transformers as the oracle for model folders (the project's inputs and exports).

    python scripts/oracle/evaluate.py --text FILE --seqlen N [--max-windows W] [--logits K] [--load]
        FOLDER [FOLDER ...]

Prints one JSON line per folder, in order:
  perplexity: as docs/algorithms.md ("Whole-model one-shot pruning") defines it: the whole text
    tokenized once with the folder's tokenizer.json (BOS where its post-processor adds one), cut
    into consecutive non-overlapping windows of N tokens, the partial tail dropped (and only the
    first W windows kept when given), exp(mean NLL) over the N - 1 predicted tokens of every
    window. The model runs in float64 (weights upcast exactly from their stored dtype), eager
    attention, so that sliding-window masks and soft-capping are transformers' reference code.
  logits (--logits K): the first K token ids of the text and the float64 logits [K][vocab] of
    that sequence as one window.
  load (--load): the folder reloaded as a user would, AutoModelForCausalLM.from_pretrained(folder,
    output_loading_info=True) with the dtypes the config names: the loading info (missing,
    unexpected, mismatched keys, errors), each stored tensor's dtype in the files and after
    loading, and per linear weight (nn.Linear and GPT-2's Conv1D) its shape, zero count and the
    number of groups of 4 consecutive inputs holding more than 2 nonzeros (2:4 violations).
Several folders in one call pay the torch and transformers start-up once. A folder transformers
cannot load or run gets {"folder", "error"} instead (the others still run), and the exit code is 1.
"""
import argparse
import glob
import json
import math
import os
import sys

# Offline and quiet: nothing is downloaded, and stderr carries only what the scripts say.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import torch
import transformers as tf
from safetensors import safe_open
from tokenizers import Tokenizer
from transformers.pytorch_utils import Conv1D


tf.utils.logging.disable_progress_bar()


def text_ids(folder, text):
    return Tokenizer.from_file(os.path.join(folder, "tokenizer.json")).encode(text).ids


def load_f64(folder):
    model = tf.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float64, attn_implementation="eager")
    return model.eval()


@torch.no_grad()
def perplexity(model, ids, seqlen, max_windows):
    windows = len(ids) // seqlen
    if max_windows:
        windows = min(windows, max_windows)
    if windows == 0:
        raise SystemExit(f"the text has {len(ids)} tokens, fewer than one window of {seqlen}")
    batch = torch.tensor(ids[: windows * seqlen], dtype=torch.long).view(windows, seqlen)
    total = 0.0
    for w in range(windows):  # one window per call: the same attention masks as a single sequence
        logits = model(input_ids=batch[w : w + 1]).logits[0].to(torch.float64)
        logp = torch.log_softmax(logits[:-1], dim=-1)
        total += -logp.gather(1, batch[w, 1:, None]).sum().item()
    predicted = windows * (seqlen - 1)
    nll = total / predicted
    return {"perplexity": math.exp(nll), "nll": nll, "windows": windows, "predicted": predicted}


@torch.no_grad()
def logits_of(model, ids):
    return model(input_ids=torch.tensor([ids], dtype=torch.long)).logits[0].to(torch.float64).tolist()


def file_dtypes(folder):
    out = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.safetensors"))):
        with safe_open(path, framework="pt") as f:
            for name in f.keys():
                out[name] = f.get_slice(name).get_dtype()
    return out


TORCH_TO_ST = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64"}


@torch.no_grad()
def load_report(folder):
    model, info = tf.AutoModelForCausalLM.from_pretrained(folder, dtype="auto", output_loading_info=True)
    state = model.state_dict()
    stored = file_dtypes(folder)
    linears = {}
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Linear, Conv1D)):
            w = module.weight.detach()
            # nn.Linear stores [out, in]; Conv1D [in, out]. Groups of 4 run along the input axis.
            rows = w if isinstance(module, torch.nn.Linear) else w.t()
            violations = None
            if rows.shape[1] % 4 == 0:
                nonzero = (rows != 0).view(rows.shape[0], -1, 4).sum(-1)
                violations = int((nonzero > 2).sum())
            linears[f"{name}.weight"] = {"shape": list(w.shape), "zeros": int((w == 0).sum()), "numel": w.numel(),
                                         "nm_violations": violations}
    return {
        "info": {k: sorted(map(str, v)) if not isinstance(v, (str, int, float)) else v for k, v in info.items()},
        "file_dtypes": stored,
        "loaded_dtypes": {n: TORCH_TO_ST.get(state[n].dtype, str(state[n].dtype)) for n in stored if n in state},
        "not_in_model": sorted(n for n in stored if n not in state),
        "config": {k: getattr(model.config, k, None) for k in ("intermediate_size", "n_inner", "ffn_dim")},
        "linears": linears,
    }


def evaluate(folder, text, a):
    ids = text_ids(folder, text)
    model = load_f64(folder)
    result = {"folder": folder, "text_tokens": len(ids), "seqlen": a.seqlen, **perplexity(model, ids, a.seqlen, a.max_windows)}
    if a.logits:
        result["logits_ids"] = ids[: a.logits]
        result["logits"] = logits_of(model, ids[: a.logits])
    if a.load:
        result["load"] = load_report(folder)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--text", required=True)
    ap.add_argument("--seqlen", type=int, required=True)
    ap.add_argument("--max-windows", type=int, default=0)
    ap.add_argument("--logits", type=int, default=0, help="also print the logits of the text's first K tokens")
    ap.add_argument("--load", action="store_true", help="also reload with output_loading_info and report keys, dtypes, zeros")
    a = ap.parse_args()
    if a.seqlen < 2:
        ap.error("--seqlen must be at least 2")
    torch.set_num_threads(1)
    with open(a.text, encoding="utf-8") as f:
        text = f.read()
    failed = 0
    for folder in a.folders:
        try:
            result = evaluate(folder, text, a)
        except Exception as error:  # one folder transformers refuses must not hide the others' results
            failed += 1
            result = {"folder": folder, "error": f"{type(error).__name__}: {error}".strip()}
        print(json.dumps(result), flush=True)
        print(f"{folder}: {result.get('error') or 'perplexity %.6f' % result['perplexity']}", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
