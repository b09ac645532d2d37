#!/usr/bin/env python3
"""Trains a small byte-level BPE tokenizer (GPT-2 style) and writes it in Hugging Face's
tokenizer.json format, with a tokenizer_config.json holding a ChatML chat template.

The vLLM simulator serves these files through GetTokenizer, and the worker decodes with them
through DJL's Hugging Face tokenizers binding: a real tokenizer.json, small enough to commit,
made without downloading a model. Deterministic: same corpus, same output.

    python3 testkit/tools/make_tokenizer.py testkit/tools/corpus.txt \
        testkit/src/main/resources/io/kvw/testkit/sim/tokenizer
"""
import collections
import json
import re
import sys
from pathlib import Path

MERGES = 3000
# like Hugging Face's BpeTrainer default: a pair seen once may still merge, so the small
# corpus yields a few thousand merges (rare words end up whole; any text still encodes)
MIN_FREQUENCY = 1
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# GPT-2's split, which the ByteLevel pre-tokenizer applies too; Python's re has no \p{L} or
# \p{N}, so letters are [^\W\d_] (word characters that are not digits or "_") and numbers \d
PRETOKEN = re.compile(
    r"'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+")
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def bytes_to_unicode():
    """GPT-2's reversible map from bytes to printable unicode characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def train(text):
    byte_map = bytes_to_unicode()
    words = collections.Counter(
        tuple(byte_map[b] for b in piece.encode("utf-8")) for piece in PRETOKEN.findall(text))
    vocab = {}
    for b in range(256):
        vocab[byte_map[b]] = len(vocab)
    merges = []
    for _ in range(MERGES):
        pairs = collections.Counter()
        for word, count in words.items():
            for a, b in zip(word, word[1:]):
                pairs[(a, b)] += count
        if not pairs:
            break
        # most frequent pair; ties broken by the pair itself, for determinism
        (a, b), count = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        if count < MIN_FREQUENCY:
            break
        merges.append(a + " " + b)
        vocab[a + b] = len(vocab)
        merged = {}
        for word, c in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + c
        words = merged
    return vocab, merges


def main(corpus, out_dir):
    vocab, merges = train(Path(corpus).read_text(encoding="utf-8"))
    added = []
    for s in SPECIALS:
        vocab[s] = len(vocab)
        added.append({"id": vocab[s], "content": s, "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": False, "special": True})
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                           "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    config = {"model_max_length": 2048, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
              "bos_token": None, "chat_template": CHAT_TEMPLATE,
              "tokenizer_class": "PreTrainedTokenizerFast"}
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n",
                                               encoding="utf-8")
    print(f"{len(vocab)} tokens, {len(merges)} merges -> {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
