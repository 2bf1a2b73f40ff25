#!/usr/bin/env python3
"""Golden reference for Sparsa's evaluation protocol (dev.sparsa.eval, docs/eval-protocol.md).

The protocol: each line of a text is a document followed by the EOS token; the token stream is cut into
non-overlapping windows of ctx tokens from token 0, the last partial window kept; each window predicts its tokens
1..n-1 from itself; bits/byte = total nats / ln 2 / UTF-8 bytes of the predicted tokens, EOS counted as one byte.
A token's bytes are the bytes it stands for (byte-level BPE: one per byte char of the token), which this script
checks against the tokenizer's character offsets on every line: at every token boundary that is a character
boundary the bytes so far equal the UTF-8 length of the line up to the token's end offset.

What it does:
  1. trains a small byte-level BPE (vocab 512, EOS "<|endoftext|>" = id 0) on the text (--text, default
     sparsa-core/src/test/resources/golden/eval/text.txt) with Hugging Face `tokenizers`, and encodes every line
     with it (ids + offsets);
  2. builds two tiny Llamas (2 layers, D 64, F 176, GQA 4/2; hidden_act silu and relu) whose weights come from the
     deterministic generator of make_llama_goldens.py (Java twin: GoldenWeights.java);
  3. runs the protocol with transformers' LlamaForCausalLM (float32, eager attention, CPU), log-softmax in float64,
     counting the zeros of the MLP's act_fn output (a forward hook) per layer;
  4. writes to --out: tokenizer.json, config-silu.json, config-relu.json and golden.json (ids, per-token bytes,
     windows, per-window nats, totals, per-layer zero counts, and near-zero counts |gate| <= 1e-5 that bound how
     many zeros float rounding may flip; provenance with the versions used).

Usage:
    on the device machine (transformers, tokenizers):   python3 make_eval_golden.py --text T --out OUTDIR
    fallback without them (plain PyTorch Llama of make_llama_goldens.py, not independent of the Java reading of
    the HF code; a small pure-Python byte-level BPE with an ASCII split regex instead of HF's trainer):
                                                        python3 make_eval_golden.py --out OUTDIR --reference torch
The committed golden in sparsa-core/src/test/resources/golden/eval/ comes from the first form; golden.json
records under "provenance" the versions that made it. Both forms also run the plain-PyTorch reference and print
the largest window-nats difference to it.
"""
import argparse
import collections
import hashlib
import json
import math
import os
import platform
import re
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_llama_goldens as mlg  # noqa: E402  (the weight generator and the plain-PyTorch Llama)

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_TEXT = os.path.join(REPO, "sparsa-core", "src", "test", "resources", "golden", "eval", "text.txt")
EOS = "<|endoftext|>"
VOCAB, HIDDEN, INTER, MAXPOS = 512, 64, 176, 128
NEAR_ZERO = 1e-5
CTX_CANDIDATES = range(64, 31, -1)


def model_cfg(act, eos_id):
    return dict(
        architectures=["LlamaForCausalLM"], model_type="llama", vocab_size=VOCAB, hidden_size=HIDDEN,
        intermediate_size=INTER, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        hidden_act=act, max_position_embeddings=MAXPOS, rms_norm_eps=1e-5, rope_theta=10000.0, rope_scaling=None,
        tie_word_embeddings=False, attention_bias=False, mlp_bias=False, bos_token_id=eos_id, eos_token_id=eos_id,
        initializer_range=0.02, torch_dtype="float32")


# ------------------------------------------------------------------ text (as dev.sparsa.io.corpus.Corpus reads it)

JAVA_WS = set("\t\n\u000b\f\r\u001c\u001d\u001e\u001f \u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2008"
              "\u2009\u200a\u2028\u2029\u205f\u3000")  # Character.isWhitespace


def read_lines(path):
    """Strict UTF-8, BOM dropped, split on \\n, a trailing \\r dropped, blank lines (Java isBlank) dropped."""
    raw = open(path, "rb").read()
    text = raw.decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    out = []
    for line in text.split("\n"):
        if line.endswith("\r"):
            line = line[:-1]
        if any(c not in JAVA_WS for c in line):
            out.append(line)
    return out, hashlib.sha256(raw).hexdigest()


# ------------------------------------------------------------------ tokenizers

def train_hf(lines):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)  # GPT-2 split regex + byte-level
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, min_frequency=2, special_tokens=[EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(lines, trainer=trainer)

    def encode(line):
        e = tok.encode(line, add_special_tokens=False)
        return list(e.ids), [tuple(o) for o in e.offsets], list(e.tokens)
    return tok.to_str(pretty=True), tok.token_to_id(EOS), encode


BYTE_CHARS = {}


def byte_chars():
    """GPT-2's byte -> char table (HF pre_tokenizers::byte_level::bytes_char)."""
    if not BYTE_CHARS:
        bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
        n = 0
        for b in range(256):
            if b in bs:
                BYTE_CHARS[b] = chr(b)
            else:
                BYTE_CHARS[b] = chr(256 + n)
                n += 1
    return BYTE_CHARS


FALLBACK_SPLIT = r" ?[A-Za-z]+| ?[0-9]| ?[^ \t\r\nA-Za-z0-9]+|[ \t\r\n]+"


def train_fallback(lines):
    """Pure-Python byte-level BPE (local testing only): ASCII split regex, most frequent pair first (ties: the
    smallest pair), pairs seen at least twice, up to VOCAB ids; EOS is id 0, the 256 bytes ids 1..256."""
    table = byte_chars()
    split = re.compile(FALLBACK_SPLIT)
    words = collections.Counter()
    for line in lines:
        for m in split.finditer(line):
            words[tuple(table[b] for b in m.group().encode("utf-8"))] += 1
    vocab = {EOS: 0}
    for b in range(256):
        vocab[table[b]] = len(vocab)
    merges = []
    words = dict(words)
    while len(vocab) < VOCAB:
        pairs = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        if best[1] < 2:
            break
        (a, b), _ = best
        merges.append((a, b))
        vocab[a + b] = len(vocab)
        new = {}
        for w, c in words.items():
            new[merge_word(w, a, b)] = c
        words = new
    ranks = {m: i for i, m in enumerate(merges)}
    spec = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": 0, "content": EOS, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": FALLBACK_SPLIT}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                           "use_regex": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [[a, b] for a, b in merges]},
    }

    def encode(line):
        ids, offsets, toks = [], [], []
        char_of = []  # byte index -> char index
        for ci, ch in enumerate(line):
            char_of.extend([ci] * len(ch.encode("utf-8")))
        byte_pos = 0
        for m in split.finditer(line):
            bs = m.group().encode("utf-8")
            start = len(line[:m.start()].encode("utf-8"))
            assert start >= byte_pos
            w = [table[b] for b in bs]
            while len(w) > 1:
                cands = [(ranks.get((w[i], w[i + 1]), 1 << 30), i) for i in range(len(w) - 1)]
                r, _ = min(cands)
                if r == 1 << 30:
                    break
                a, b = merges[r]
                w = list(merge_word(tuple(w), a, b))
            for t in w:
                ids.append(vocab[t])
                toks.append(t)
                offsets.append((char_of[start], char_of[start + len(t) - 1] + 1))
                start += len(t)
            byte_pos = start
        return ids, offsets, toks
    return json.dumps(spec, ensure_ascii=False, indent=1), 0, encode


def merge_word(w, a, b):
    out, i = [], 0
    while i < len(w):
        if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
            out.append(a + b)
            i += 2
        else:
            out.append(w[i])
            i += 1
    return tuple(out)


OFFSET_CHECK = {"boundaries": 0, "mismatches": []}


def token_bytes(line, tokens, offsets):
    """Bytes per token (one per byte char of a byte-level token), checked against the character offsets: the sum
    is the line's UTF-8 length, and at each token boundary that is a character boundary the bytes so far are the
    UTF-8 length of the line up to the token's end offset (mismatches are reported, and recorded in golden.json)."""
    tb = [len(t) for t in tokens]
    assert sum(tb) == len(line.encode("utf-8")), (line, tokens)
    cum = 0
    for i, (s, e) in enumerate(offsets):
        cum += tb[i]
        nxt = offsets[i + 1][0] if i + 1 < len(offsets) else None
        if nxt is None or nxt >= e:  # a token boundary on a character boundary
            OFFSET_CHECK["boundaries"] += 1
            if cum != len(line[:e].encode("utf-8")):
                OFFSET_CHECK["mismatches"].append([line, i, tokens[i], [s, e], cum])
                print(f"  offset check: line {line!r} token {i} {tokens[i]!r} offsets {(s, e)}: {cum} bytes so far,"
                      f" the line has {len(line[:e].encode('utf-8'))} up to offset {e}", flush=True)
    return tb


# ------------------------------------------------------------------ models


class ZeroCounter:
    def __init__(self, layers):
        self.zeros = [0] * layers
        self.values = [0] * layers
        self.near = [0] * layers

    def add(self, layer, gate, act):
        self.zeros[layer] += int((act == 0).sum())
        self.values[layer] += int(act.numel())
        self.near[layer] += int((gate.abs() <= NEAR_ZERO).sum())


def plain_forward_counting(cfg, W, ids, counter):
    """make_llama_goldens.reference_forward with its activation wrapped to count zeros per layer."""
    layer = [0]
    real = mlg.act_fn

    def counting(name):
        f = real(name)

        def g(gate):
            a = f(gate)
            if counter is not None:
                counter.add(layer[0], gate, a)
            layer[0] += 1
            return a
        return g
    mlg.act_fn = counting
    try:
        with torch.no_grad():
            return torch.from_numpy(mlg.reference_forward(cfg, W, ids))
    finally:
        mlg.act_fn = real


def window_nats(logits, ids):
    """Σ_t −log softmax(z_t)[ids[t+1]], log-softmax in float64 over float32 logits."""
    lp = torch.log_softmax(logits.double(), dim=-1)
    tgt = torch.tensor(ids[1:], dtype=torch.long)
    return float(-lp[torch.arange(len(ids) - 1), tgt].sum())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--text", default=DEFAULT_TEXT)
    ap.add_argument("--reference", choices=["hf", "torch"], default="hf")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    provenance = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                  "reference": args.reference, "device": "cpu"}
    if args.reference == "hf":
        import tokenizers
        import transformers
        provenance["transformers"] = transformers.__version__
        provenance["tokenizers"] = tokenizers.__version__
    print("versions:", provenance, flush=True)

    lines, sha = read_lines(args.text)
    tok_json, eos_id, encode = (train_hf if args.reference == "hf" else train_fallback)(lines)
    print(f"text: {len(lines)} lines, sha256 {sha}; tokenizer vocab {len(json.loads(tok_json)['model']['vocab'])}"
          f" (+ added), EOS id {eos_id}", flush=True)

    ids, tbytes, cont = [], [], []  # cont[i]: token i continues a character begun by token i-1
    for line in lines:
        t_ids, offs, toks = encode(line)
        tb = token_bytes(line, toks, offs)
        for i in range(len(t_ids)):
            cont.append(i > 0 and offs[i][0] < offs[i - 1][1])
        ids += t_ids + [eos_id]
        tbytes += tb + [1]
        cont.append(False)
    n = len(ids)
    print(f"offset check: {OFFSET_CHECK['boundaries']} token boundaries on character boundaries, "
          f"{len(OFFSET_CHECK['mismatches'])} mismatches", flush=True)
    assert max(ids) < VOCAB
    ctx = next((c for c in CTX_CANDIDATES if n % c > 1 and any(cont[w] for w in range(c, n, c))), 64)
    windows = [(s, min(ctx, n - s)) for s in range(0, n, ctx)]
    mid = sum(cont[s] for s, _ in windows)
    print(f"stream: {n} tokens, {sum(tbytes)} bytes; ctx {ctx}: {len(windows)} windows (last {windows[-1][1]}),"
          f" {mid} start inside a character split over tokens", flush=True)

    golden = {
        "generated_by": "scripts/golden/make_eval_golden.py",
        "provenance": provenance,
        "text": {"file": "text.txt", "sha256": sha, "lines": len(lines)},
        "tokenizer": "tokenizer.json",
        "eos_id": eos_id,
        "ctx": ctx,
        "seed": mlg.SEED,
        "ids": ids,
        "token_bytes": tbytes,
        "windows": [{"start": s, "length": ln, "predicted_bytes": sum(tbytes[s + 1:s + ln])} for s, ln in windows],
        "offset_check": {"boundaries": OFFSET_CHECK["boundaries"], "mismatches": OFFSET_CHECK["mismatches"]},
        "near_zero": NEAR_ZERO,
        "variants": {},
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(tok_json)

    for act in ("silu", "relu"):
        cfg = model_cfg(act, eos_id)
        shapes = mlg.param_shapes(cfg)
        W = {nm: mlg.gen_weights(nm, s, *mlg.scale_of(nm, cfg)) for nm, s in shapes}
        counter = ZeroCounter(cfg["num_hidden_layers"])
        if args.reference == "hf":
            model = mlg.hf_model(cfg, W)
            for li, layer in enumerate(model.model.layers):
                layer.mlp.act_fn.register_forward_hook(
                    lambda mod, inp, out, li=li: counter.add(li, inp[0], out))

            def forward(w_ids):
                with torch.no_grad():
                    return model(torch.tensor([w_ids])).logits[0].float()
        else:
            def forward(w_ids):
                return plain_forward_counting(cfg, W, w_ids, counter)
        nats, diff = [], 0.0
        for s, ln in windows:
            w_ids = ids[s:s + ln]
            nats.append(window_nats(forward(w_ids), w_ids))
            if args.reference == "hf":
                diff = max(diff, abs(nats[-1] - window_nats(plain_forward_counting(cfg, W, w_ids, None), w_ids)))
        total = math.fsum(nats)
        tokens = n - len(windows)
        nbytes = sum(w["predicted_bytes"] for w in golden["windows"])
        v = {
            "config": f"config-{act}.json",
            "tensors": [{"name": nm, "shape": s, "scale": mlg.scale_of(nm, cfg)[0], "offset": mlg.scale_of(nm, cfg)[1]}
                        for nm, s in shapes],
            "window_nats": nats, "nats": total, "tokens": tokens, "bytes": nbytes,
            "ce": total / tokens, "ppl": math.exp(total / tokens), "bitsPerByte": total / math.log(2) / nbytes,
            "zeros_per_layer": counter.zeros, "values_per_layer": counter.values,
            "near_zero_per_layer": counter.near,
            "sparsityPerLayer": [z / c for z, c in zip(counter.zeros, counter.values)],
            "sparsity": sum(counter.zeros) / sum(counter.values),
        }
        golden["variants"][act] = v
        print(f"[{act}] ce {v['ce']:.6f}  ppl {v['ppl']:.3f}  bits/byte {v['bitsPerByte']:.6f}  sparsity/layer "
              f"{[round(x, 4) for x in v['sparsityPerLayer']]}  near-zero gates {counter.near}"
              + (f"  max |window nats HF - plain torch| {diff:.3g}" if args.reference == "hf" else ""), flush=True)
        disk = {k: val for k, val in cfg.items() if val is not None}
        with open(os.path.join(args.out, f"config-{act}.json"), "w") as f:
            json.dump(disk, f, indent=2)
    with open(os.path.join(args.out, "golden.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
