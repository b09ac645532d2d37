#!/usr/bin/env python3
"""Trains a small byte-level BPE tokenizer (GPT-2 style) and writes it in Hugging Face's
tokenizer.json format, with a tokenizer_config.json holding a chat template.

The vLLM simulator serves these files through GetTokenizer, and the worker decodes with them
through DJL's Hugging Face tokenizers binding: a real tokenizer.json, small enough to commit,
made without downloading a model. Deterministic: same corpus, same output.

Two variants share the trained vocabulary and differ in their special tokens:
- chatml (default): Qwen-like, ChatML template, no BOS (the post-processor adds nothing);
- llama3: Llama-3-like, its post-processor adds <|begin_of_text|> to every encoded text and
  its template writes {{ bos_token }} itself, so a chat must be tokenized without special
  tokens to get one BOS (what vLLM's chat path does).

    python3 testkit/tools/make_tokenizer.py testkit/tools/corpus.txt \
        testkit/src/main/resources/io/kvw/testkit/sim/tokenizer
    python3 testkit/tools/make_tokenizer.py testkit/tools/corpus.txt \
        testkit/src/main/resources/io/kvw/testkit/sim/tokenizer-llama3 --variant llama3
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
SPECIALS = {
    "chatml": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
    "llama3": ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
               "<|end_header_id|>", "<|eot_id|>"],
}
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
# Llama 3's own template (without the date and tools preamble of 3.1+): the BOS comes from
# the template, before the first message
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    " + message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
    "{% endif %}"
)
BYTE_LEVEL_POST = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                   "use_regex": True}


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


def post_processor(variant, vocab):
    if variant == "chatml":
        return BYTE_LEVEL_POST
    bos = "<|begin_of_text|>"
    # Llama 3's shape: byte-level offsets, then a template putting the BOS before the text
    return {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
         "use_regex": True},
        {"type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": bos, "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [{"SpecialToken": {"id": bos, "type_id": 0}},
                  {"Sequence": {"id": "A", "type_id": 0}},
                  {"SpecialToken": {"id": bos, "type_id": 1}},
                  {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {bos: {"id": bos, "ids": [vocab[bos]], "tokens": [bos]}}}]}


def tokenizer_config(variant):
    if variant == "chatml":
        return {"model_max_length": 2048, "eos_token": "<|im_end|>",
                "pad_token": "<|endoftext|>", "bos_token": None, "chat_template": CHAT_TEMPLATE,
                "tokenizer_class": "PreTrainedTokenizerFast"}
    return {"model_max_length": 2048, "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
            "chat_template": LLAMA3_TEMPLATE, "tokenizer_class": "PreTrainedTokenizerFast"}


def main(corpus, out_dir, variant="chatml"):
    vocab, merges = train(Path(corpus).read_text(encoding="utf-8"))
    added = []
    for s in SPECIALS[variant]:
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
        "post_processor": post_processor(variant, vocab),
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
    config = tokenizer_config(variant)
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n",
                                               encoding="utf-8")
    print(f"{len(vocab)} tokens, {len(merges)} merges -> {out}")


if __name__ == "__main__":
    args = sys.argv[1:]
    chosen = "chatml"
    if "--variant" in args:
        at = args.index("--variant")
        chosen = args[at + 1]
        del args[at:at + 2]
    if len(args) != 2 or chosen not in SPECIALS:
        sys.exit("usage: make_tokenizer.py CORPUS OUT_DIR [--variant chatml|llama3]")
    main(args[0], args[1], chosen)
