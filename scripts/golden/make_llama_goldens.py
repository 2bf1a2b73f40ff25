#!/usr/bin/env python3
"""Golden references for Sparsa's Llama-family forward (LlamaModel) from Hugging Face transformers.

Builds tiny random decoder models whose weights come from a deterministic generator that Sparsa's Java tests
re-implement bit for bit (GoldenWeights.java), runs them in transformers (float32, eager attention) and writes,
per variant, under --out:
    <variant>/config.json   the HF config.json (classic on-disk format, what real checkpoints carry)
    <variant>/golden.json   seed, tensor list (name, shape, scale, offset), prompt ids, greedy ids, provenance
    <variant>/logits.bin    float32 little-endian [seq, vocab] logits of one full forward over prompt + greedy ids

Weight generator (also in sparsa-core/src/test/java/dev/sparsa/model/llama/GoldenWeights.java):
    h     = FNV-1a-64(utf-8 bytes of the tensor name)
    state = h XOR (seed * G)                      G = 0x9E3779B97F4A7C15, all arithmetic mod 2^64
    z     = splitmix64_mix(state + (i + 1) * G)   for element i (row-major)
    u     = z >> 40                               (24 random bits)
    w[i]  = float32(offset + (u - 2^23) * 2^-23 * scale)   (exact in f32 when offset == 0, scale a power of 2)

How it was run (each golden.json records the versions actually used under "provenance"): the committed goldens in
sparsa-core/src/test/resources/golden/ came from transformers 5.17.0 + torch 2.11.0 on the device machine, via
    cd .device && python3 make_llama_goldens.py --out /tmp/golden    (then unpacked into the resource folder);
HF's logits equalled the plain-PyTorch reference below exactly, HF's inv_freq equalled llama3_inv_freq exactly, and
HF generate() with its KV cache gave the same 16 greedy tokens as the no-cache loop. Usage:
    on the device machine with transformers + torch:   python3 make_llama_goldens.py --out OUTDIR
    fallback without transformers (plain PyTorch reference implemented below, not independent of the
    Java reading of the HF code):                       python3 make_llama_goldens.py --out OUTDIR --reference torch
Both paths compute the plain-PyTorch reference and print its max |diff| against the chosen reference.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

G = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
SEED = 20261123

VOCAB, HIDDEN, INTER, MAXPOS = 512, 64, 176, 128

VARIANTS = {
    # (a) llama, GQA 4/2, untied, llama3 rope_scaling, silu
    "llama_gqa_rope3": dict(
        architectures=["LlamaForCausalLM"], model_type="llama", vocab_size=VOCAB, hidden_size=HIDDEN,
        intermediate_size=INTER, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        hidden_act="silu", max_position_embeddings=MAXPOS, rms_norm_eps=1e-5, rope_theta=10000.0,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                      "original_max_position_embeddings": 32},
        tie_word_embeddings=False, attention_bias=False, mlp_bias=False, bos_token_id=1, eos_token_id=2,
        initializer_range=0.02, torch_dtype="float32"),
    # (b) qwen2, q/k/v biases, GQA 4/2, tied embeddings
    "qwen2_bias_tied": dict(
        architectures=["Qwen2ForCausalLM"], model_type="qwen2", vocab_size=VOCAB, hidden_size=HIDDEN,
        intermediate_size=INTER, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
        hidden_act="silu", max_position_embeddings=MAXPOS, rms_norm_eps=1e-6, rope_theta=1000000.0,
        rope_scaling=None, tie_word_embeddings=True, use_sliding_window=False, sliding_window=None,
        max_window_layers=3, attention_dropout=0.0, bos_token_id=3, eos_token_id=4,
        initializer_range=0.02, torch_dtype="float32"),
    # (c) llama, relu FFN (zero sparsity), MHA, untied, plain rope
    "llama_relu": dict(
        architectures=["LlamaForCausalLM"], model_type="llama", vocab_size=VOCAB, hidden_size=HIDDEN,
        intermediate_size=INTER, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
        hidden_act="relu", max_position_embeddings=MAXPOS, rms_norm_eps=1e-5, rope_theta=10000.0,
        rope_scaling=None, tie_word_embeddings=False, attention_bias=False, mlp_bias=False,
        bos_token_id=1, eos_token_id=2, initializer_range=0.02, torch_dtype="float32"),
}

PROMPTS = {
    "llama_gqa_rope3": [1, 17, 300, 42, 511, 7, 128, 64, 99, 250, 3],
    "qwen2_bias_tied": [3, 200, 5, 77, 401, 19, 300, 12, 8],
    "llama_relu": [1, 450, 33, 208, 91, 16, 372, 5, 260, 144, 70, 11, 480],
}
NEW_TOKENS = 16


def fnv1a64(name):
    h = 0xcbf29ce484222325
    for b in name.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def gen_weights(name, shape, scale, offset, seed=SEED):
    """The deterministic weight generator (numpy uint64 arithmetic wraps mod 2^64)."""
    n = int(np.prod(shape)) if len(shape) else 1
    with np.errstate(over="ignore"):
        state = np.uint64(fnv1a64(name)) ^ (np.uint64(seed) * G)
        z = state + (np.arange(1, n + 1, dtype=np.uint64) * G)
        z = (z ^ (z >> np.uint64(30))) * M1
        z = (z ^ (z >> np.uint64(27))) * M2
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float64)
    v = offset + (u - 8388608.0) * (2.0 ** -23) * scale
    return v.astype(np.float32).reshape(shape)


def scale_of(name, cfg):
    """(scale, offset) per tensor, by its HF name (a tied embedding doubles as lm_head: keep it small)."""
    if name.endswith("norm.weight"):
        return 0.25, 1.0
    if "embed_tokens" in name:
        return (0.125 if cfg["tie_word_embeddings"] else 1.0), 0.0
    if "lm_head" in name:
        return 0.125, 0.0
    if "down_proj" in name:
        return 0.0625, 0.0
    return 0.125, 0.0  # q/k/v/o, gate/up weights and q/k/v biases


def param_shapes(cfg):
    """HF parameter names and shapes, in HF's module order (tied lm_head omitted, as HF saves it)."""
    D, F, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = D // H
    bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    out = [("model.embed_tokens.weight", [V, D])]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        out.append((p + "self_attn.q_proj.weight", [H * hd, D]))
        if bias:
            out.append((p + "self_attn.q_proj.bias", [H * hd]))
        out.append((p + "self_attn.k_proj.weight", [KV * hd, D]))
        if bias:
            out.append((p + "self_attn.k_proj.bias", [KV * hd]))
        out.append((p + "self_attn.v_proj.weight", [KV * hd, D]))
        if bias:
            out.append((p + "self_attn.v_proj.bias", [KV * hd]))
        out.append((p + "self_attn.o_proj.weight", [D, H * hd]))
        out.append((p + "mlp.gate_proj.weight", [F, D]))
        out.append((p + "mlp.up_proj.weight", [F, D]))
        out.append((p + "mlp.down_proj.weight", [D, F]))
        out.append((p + "input_layernorm.weight", [D]))
        out.append((p + "post_attention_layernorm.weight", [D]))
    out.append(("model.norm.weight", [D]))
    if not cfg["tie_word_embeddings"]:
        out.append(("lm_head.weight", [V, D]))
    return out


# ------------------------------------------------------------------ plain PyTorch reference (fallback + cross-check)

def llama3_inv_freq(cfg, hd):
    """inv_freq exactly as HF's _compute_default/_compute_llama3_parameters (float32 torch ops)."""
    base = cfg["rope_theta"]
    inv = 1.0 / (base ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    rs = cfg.get("rope_scaling")
    if not rs:
        return inv
    factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old = rs["original_max_position_embeddings"]
    low_wl, high_wl = old / lo, old / hi
    wavelen = 2 * math.pi / inv
    inv_l = torch.where(wavelen > low_wl, inv / factor, inv)
    smooth = (old / wavelen - lo) / (hi - lo)
    smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
    medium = ~(wavelen < high_wl) * ~(wavelen > low_wl)
    return torch.where(medium, smoothed, inv_l)


def act_fn(name):
    return {"silu": torch.nn.functional.silu, "relu": torch.relu,
            "gelu": torch.nn.functional.gelu}[name]


def reference_forward(cfg, W, ids):
    D, H, KV = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = D // H
    eps = cfg["rms_norm_eps"]
    T = len(ids)
    t = lambda n: torch.from_numpy(W[n])

    def rms(x, w):  # y = x / sqrt(mean(x^2) + eps) * w
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    inv = llama3_inv_freq(cfg, hd)
    freqs = torch.arange(T).float()[:, None] * inv[None, :]
    emb = torch.cat([freqs, freqs], -1)
    cos, sin = emb.cos(), emb.sin()

    def rot_half(x):
        return torch.cat([-x[..., hd // 2:], x[..., :hd // 2]], -1)

    x = t("model.embed_tokens.weight")[torch.tensor(ids)]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        xn = rms(x, t(p + "input_layernorm.weight"))

        def proj(n):
            y = xn @ t(p + f"self_attn.{n}_proj.weight").T
            if p + f"self_attn.{n}_proj.bias" in W:
                y = y + t(p + f"self_attn.{n}_proj.bias")
            return y
        q = proj("q").view(T, H, hd).transpose(0, 1)
        k = proj("k").view(T, KV, hd).transpose(0, 1)
        v = proj("v").view(T, KV, hd).transpose(0, 1)
        q = q * cos + rot_half(q) * sin
        k = k * cos + rot_half(k) * sin
        k = k.repeat_interleave(H // KV, 0)
        v = v.repeat_interleave(H // KV, 0)
        att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd) + mask, -1)
        o = (att @ v).transpose(0, 1).reshape(T, H * hd)
        x = x + o @ t(p + "self_attn.o_proj.weight").T
        xn = rms(x, t(p + "post_attention_layernorm.weight"))
        gate = xn @ t(p + "mlp.gate_proj.weight").T
        up = xn @ t(p + "mlp.up_proj.weight").T
        x = x + (act_fn(cfg["hidden_act"])(gate) * up) @ t(p + "mlp.down_proj.weight").T
    x = rms(x, t("model.norm.weight"))
    head = "model.embed_tokens.weight" if cfg["tie_word_embeddings"] else "lm_head.weight"
    return (x @ t(head).T).numpy()


# ------------------------------------------------------------------ Hugging Face reference

def hf_model(cfg, W):
    import transformers
    cls_cfg = {"llama": transformers.LlamaConfig, "qwen2": transformers.Qwen2Config}[cfg["model_type"]]
    cls = {"llama": transformers.LlamaForCausalLM, "qwen2": transformers.Qwen2ForCausalLM}[cfg["model_type"]]
    kw = {k: v for k, v in cfg.items() if k not in ("architectures", "model_type", "torch_dtype")}
    hd = cfg["hidden_size"] // cfg["num_attention_heads"]
    inv_me = llama3_inv_freq(cfg, hd)
    # transformers >= 5 reads RoPE settings from rope_parameters; older ones from rope_theta / rope_scaling.
    rope_params = dict(cfg.get("rope_scaling") or {"rope_type": "default"}, rope_theta=cfg["rope_theta"])
    for attempt in (kw, dict(kw, rope_parameters=rope_params)):
        conf = cls_cfg(**attempt)
        conf._attn_implementation = "eager"
        model = cls(conf).to(torch.float32).eval()
        rot = model.model.rotary_emb if hasattr(model.model, "rotary_emb") \
            else model.model.layers[0].self_attn.rotary_emb
        diff = float((rot.inv_freq.float() - inv_me).abs().max())
        print(f"  inv_freq max |HF - script| = {diff:.3g}", flush=True)
        if diff < 1e-6:
            break
    else:
        sys.exit("could not make HF use the intended RoPE frequencies")
    print(f"  attention implementation: {getattr(conf, '_attn_implementation', '?')}", flush=True)
    names = [n for n, _ in model.named_parameters()]
    expected = [n for n, _ in param_shapes(cfg)]
    if sorted(names) != sorted(expected):
        sys.exit(f"parameter names differ: {sorted(set(names) ^ set(expected))}")
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(torch.from_numpy(W[n]))
    if cfg["tie_word_embeddings"]:
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr(), "lm_head not tied"
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--reference", choices=["hf", "torch"], default="hf")
    args = ap.parse_args()
    torch.manual_seed(0)
    provenance = {"torch": torch.__version__, "numpy": np.__version__, "reference": args.reference}
    if args.reference == "hf":
        import transformers
        provenance["transformers"] = transformers.__version__
    print("versions:", provenance, flush=True)

    for name, cfg in VARIANTS.items():
        print(f"[{name}]", flush=True)
        shapes = param_shapes(cfg)
        W = {n: gen_weights(n, s, *scale_of(n, cfg)) for n, s in shapes}
        if args.reference == "hf":
            model = hf_model(cfg, W)

            def forward(ids):
                with torch.no_grad():
                    return model(torch.tensor([ids])).logits[0].float().numpy()
        else:
            def forward(ids):
                with torch.no_grad():
                    return reference_forward(cfg, W, ids)

        # greedy generation: full forward each step (no cache), argmax of the last position
        ids = list(PROMPTS[name])
        gaps = []
        for _ in range(NEW_TOKENS):
            last = forward(ids)[-1]
            top2 = np.sort(last)[-2:]
            gaps.append(float(top2[1] - top2[0]))
            ids.append(int(np.argmax(last)))
        logits = forward(ids).astype("<f4")
        ref = reference_forward(cfg, W, ids)
        print(f"  seq {len(ids)}  max|logit| {np.abs(logits).max():.3f}  min top-2 gap {min(gaps):.4g}"
              f"  max |{args.reference} - plain torch| = {np.abs(logits - ref).max():.3g}", flush=True)
        if args.reference == "hf":  # also the HF KV-cache path
            try:
                with torch.no_grad():
                    out = model.generate(torch.tensor([PROMPTS[name]]), max_new_tokens=NEW_TOKENS,
                                         do_sample=False, min_new_tokens=NEW_TOKENS, pad_token_id=0)
                print(f"  HF generate (KV cache) equals the no-cache greedy loop: {out[0].tolist() == ids}",
                      flush=True)
            except Exception as e:  # a cross-check only; the goldens come from the loop above
                print(f"  HF generate failed: {e!r}", flush=True)

        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        disk_cfg = {k: v for k, v in cfg.items() if v is not None}
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(disk_cfg, f, indent=2)
        logits.tofile(os.path.join(d, "logits.bin"))
        golden = {
            "generated_by": "scripts/golden/make_llama_goldens.py",
            "provenance": provenance,
            "seed": SEED,
            "tensors": [{"name": n, "shape": s, "scale": scale_of(n, cfg)[0],
                         "offset": scale_of(n, cfg)[1]}
                        for n, s in shapes],
            "prompt_ids": PROMPTS[name],
            "greedy_ids": ids[len(PROMPTS[name]):],
            "min_top2_gap": min(gaps),
            "logits": {"file": "logits.bin", "dtype": "float32-le", "shape": [len(ids), cfg["vocab_size"]],
                       "ids": ids},
        }
        with open(os.path.join(d, "golden.json"), "w") as f:
            json.dump(golden, f, indent=1)


if __name__ == "__main__":
    main()
