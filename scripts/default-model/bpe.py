#!/usr/bin/env python3
"""A small SentencePiece-style (Llama) BPE tokenizer, trained and serialised by hand.

The tokenizer.json written here has the same shape as a Llama / llama2.c
tokenizer converted by Hugging Face:

* normalizer: Prepend "\u2581" then Replace " " -> "\u2581"
* no pre-tokenizer: the whole normalized text is one BPE "word"
* model: BPE with byte_fallback (<0x00>..<0xFF>) and unk "<unk>"
* post-processor: TemplateProcessing that adds "<s>" (id 1) in front
* decoder: Replace "\u2581" -> " ", ByteFallback, Fuse, Strip one leading space

Merges are learned only inside "pieces" (an optional "\u2581" followed by a run
of letters, or an optional "\u2581" followed by one other character), so no merge
ever spans a word/punctuation boundary or contains "\u2581" except at its start,
and no merge contains a newline.  That lets `encode` below run BPE piece by piece
and still give exactly what BPE over the whole string (as Hugging Face
tokenizers and @huggingface/tokenizers do) gives; `encode_reference` is the
plain whole-string algorithm used to check that.
"""

from __future__ import annotations

import json
import re
from collections import Counter

SPACE = "\u2581"
SPECIALS = ["<unk>", "<s>", "</s>"]
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2
BYTE_TOKENS = [f"<0x{b:02X}>" for b in range(256)]
PIECE_RE = re.compile(f"{SPACE}?[A-Za-z]+|{SPACE}?[^A-Za-z{SPACE}\n]|{SPACE}|\n")


def normalize(text: str) -> str:
    if not text:
        return text
    return SPACE + text.replace(" ", SPACE)


def pieces(normalized: str) -> list[str]:
    out = PIECE_RE.findall(normalized)
    assert "".join(out) == normalized
    return out


class BPETokenizer:
    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]]):
        self.vocab = vocab
        self.id_to_token = {i: t for t, i in vocab.items()}
        self.merges = merges
        self.ranks = {m: i for i, m in enumerate(merges)}
        self._cache: dict[str, list[str]] = {}

    # ---- training ---------------------------------------------------------
    @classmethod
    def train(cls, text: str, vocab_size: int) -> "BPETokenizer":
        counts = Counter(p for p in pieces(normalize(text)) if p != "\n")
        chars = sorted({c for p in counts for c in p})
        vocab: dict[str, int] = {}
        for t in SPECIALS + BYTE_TOKENS + chars:
            vocab[t] = len(vocab)
        words = {p: list(p) for p in counts}
        merges: list[tuple[str, str]] = []
        while len(vocab) < vocab_size:
            pair_counts: Counter = Counter()
            for p, syms in words.items():
                c = counts[p]
                for a, b in zip(syms, syms[1:]):
                    pair_counts[(a, b)] += c
            if not pair_counts:
                break
            # most frequent pair; ties broken by the pair's text so training is deterministic
            best = min(pair_counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
            merges.append(best)
            new = best[0] + best[1]
            if new not in vocab:
                vocab[new] = len(vocab)
            for p, syms in words.items():
                if len(syms) < 2:
                    continue
                out, i = [], 0
                while i < len(syms):
                    if i + 1 < len(syms) and syms[i] == best[0] and syms[i + 1] == best[1]:
                        out.append(new)
                        i += 2
                    else:
                        out.append(syms[i])
                        i += 1
                words[p] = out
        return cls(vocab, merges)

    # ---- encoding ---------------------------------------------------------
    def _bpe(self, word: str) -> list[str]:
        """Greedy BPE: repeatedly merge the leftmost occurrence of the lowest-rank pair."""
        syms = list(word)
        while len(syms) > 1:
            best, best_i = None, -1
            for i in range(len(syms) - 1):
                r = self.ranks.get((syms[i], syms[i + 1]))
                if r is not None and (best is None or r < best):
                    best, best_i = r, i
            if best is None:
                break
            syms[best_i:best_i + 2] = [syms[best_i] + syms[best_i + 1]]
        return syms

    def _tokens_to_ids(self, toks: list[str]) -> list[int]:
        ids = []
        for t in toks:
            if t in self.vocab:
                ids.append(self.vocab[t])
            else:  # byte fallback
                ids.extend(self.vocab[BYTE_TOKENS[b]] for b in t.encode("utf-8"))
        return ids

    def encode(self, text: str, add_bos: bool = True) -> list[int]:
        ids = [BOS_ID] if add_bos else []
        for p in pieces(normalize(text)):
            toks = self._cache.get(p)
            if toks is None:
                toks = self._bpe(p)
                self._cache[p] = toks
            ids.extend(self._tokens_to_ids(toks))
        return ids

    def encode_reference(self, text: str, add_bos: bool = True) -> list[int]:
        """Whole-string BPE (slow); must equal encode()."""
        ids = [BOS_ID] if add_bos else []
        return ids + self._tokens_to_ids(self._bpe(normalize(text)))

    def decode(self, ids: list[int]) -> str:
        out = bytearray()
        for i in ids:
            if i in (UNK_ID, BOS_ID, EOS_ID):
                continue
            t = self.id_to_token[i]
            if t.startswith("<0x") and t.endswith(">") and len(t) == 6:
                out.append(int(t[3:5], 16))
            else:
                out.extend(t.replace(SPACE, " ").encode("utf-8"))
        s = out.decode("utf-8", errors="replace")
        return s[1:] if s.startswith(" ") else s

    # ---- serialisation ----------------------------------------------------
    def tokenizer_json(self) -> dict:
        added = [
            {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for i, t in enumerate(SPECIALS)
        ]
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": {
                "type": "Sequence",
                "normalizers": [
                    {"type": "Prepend", "prepend": SPACE},
                    {"type": "Replace", "pattern": {"String": " "}, "content": SPACE},
                ],
            },
            "pre_tokenizer": None,
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                           {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                         {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": "<s>", "type_id": 1}},
                         {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {"<s>": {"id": "<s>", "ids": [BOS_ID], "tokens": ["<s>"]}},
            },
            "decoder": {
                "type": "Sequence",
                "decoders": [
                    {"type": "Replace", "pattern": {"String": SPACE}, "content": " "},
                    {"type": "ByteFallback"},
                    {"type": "Fuse"},
                    {"type": "Strip", "content": " ", "start": 1, "stop": 0},
                ],
            },
            "model": {
                "type": "BPE",
                "dropout": None,
                "unk_token": "<unk>",
                "continuing_subword_prefix": None,
                "end_of_word_suffix": None,
                "fuse_unk": True,
                "byte_fallback": True,
                "ignore_merges": False,
                "vocab": self.vocab,
                "merges": [list(m) for m in self.merges],
            },
        }

    @staticmethod
    def tokenizer_config(max_len: int) -> dict:
        return {
            "tokenizer_class": "LlamaTokenizer",
            "bos_token": "<s>",
            "eos_token": "</s>",
            "unk_token": "<unk>",
            "add_bos_token": True,
            "add_eos_token": False,
            "clean_up_tokenization_spaces": False,
            "model_max_length": max_len,
            "legacy": True,
        }

    def save(self, directory: str, max_len: int) -> None:
        with open(f"{directory}/tokenizer.json", "w", encoding="utf-8") as f:
            json.dump(self.tokenizer_json(), f, ensure_ascii=False, indent=1)
            f.write("\n")
        with open(f"{directory}/tokenizer_config.json", "w", encoding="utf-8") as f:
            json.dump(self.tokenizer_config(max_len), f, indent=2)
            f.write("\n")
