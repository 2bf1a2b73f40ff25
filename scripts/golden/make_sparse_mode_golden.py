#!/usr/bin/env python3
"""Golden reference for the training-free sparse modes CATS and TEAL at 50% (issue #9, "Correctness": cross-check
CATS and TEAL bits/byte at 50% on a small model against a PyTorch computation).

On the eval golden's SiLU tiny Llama (weights from the deterministic generator of make_llama_goldens.py, the text
and windows of sparsa-core/src/test/resources/golden/eval/golden.json), written here in plain PyTorch, independently
of Sparsa's kernels and calibrator:

  CATS (Lee et al. 2024):  h_i = act(g_i)·up_i if |act(g_i)| >= t_l else 0, per layer l one threshold t_l.
  TEAL (Liu et al. 2024):  every projection's input x is sparsified s_t(x)_j = x_j·[|x_j| > t] before it is read,
                           per layer and input site: the attention input (q, k, v), the o input, the FFN input
                           (gate, up) and the down input h; uniform targets.

Thresholds: layer by layer (and for TEAL site by site in forward order), t is the 50% quantile (numpy's linear
method) of the site's magnitudes over every token of every window, with the earlier layers and sites already
sparsified, so each threshold is calibrated on what it sees in the mode.
Then bits/byte by the evaluation protocol (log-softmax in float64 over tokens 1..n-1 of each window) with every
layer sparsified, and the measured share of dropped values per layer and site.

Writes sparsa-core/src/test/resources/golden/eval/sparse-modes.json (or --out). Needs numpy and torch only
(Debian python3-torch):  /usr/bin/python3 scripts/golden/make_sparse_mode_golden.py
"""
import argparse
import json
import math
import os
import platform
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_llama_goldens as mlg  # noqa: E402  (the weight generator)

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
GOLDEN = os.path.join(REPO, "sparsa-core", "src", "test", "resources", "golden", "eval")
TARGET = 0.5
SCALE = float(os.environ.get("SPARSE_GOLDEN_SCALE", "0.5"))
SITES = ["qkv", "o", "gateup", "down"]  # TEAL's input sites; q, k, v share one input, gate and up another


def forward(cfg, W, ids, cats=None, teal=None, collect=None):
    """Logits of one window. cats: per-layer t; teal: per-layer {site: t}; collect(layer, site, values) sees each
    site's values (cats: act(g); teal: the projection inputs) before that layer's own sparsification."""
    D, H, KV = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = D // H
    eps = cfg["rms_norm_eps"]
    T = len(ids)
    t = lambda n: torch.from_numpy(W[n])

    def rms(x, w):  # y = x / sqrt(mean(x^2) + eps) * w
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    def s(x, l, site):  # TEAL: s_t(x)_j = x_j·[|x_j| > t]
        if collect is not None:
            collect(l, site, x)
        if teal is None or teal[l] is None:
            return x
        return torch.where(x.abs() > teal[l][site], x, torch.zeros_like(x))

    inv = mlg.llama3_inv_freq(cfg, hd)
    freqs = torch.arange(T).float()[:, None] * inv[None, :]
    emb = torch.cat([freqs, freqs], -1)
    cos, sin = emb.cos(), emb.sin()

    def rot_half(x):
        return torch.cat([-x[..., hd // 2:], x[..., :hd // 2]], -1)

    x = t("model.embed_tokens.weight")[torch.tensor(ids)]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        xn = s(rms(x, t(p + "input_layernorm.weight")), l, "qkv")
        q = (xn @ t(p + "self_attn.q_proj.weight").T).view(T, H, hd).transpose(0, 1)
        k = (xn @ t(p + "self_attn.k_proj.weight").T).view(T, KV, hd).transpose(0, 1)
        v = (xn @ t(p + "self_attn.v_proj.weight").T).view(T, KV, hd).transpose(0, 1)
        q = q * cos + rot_half(q) * sin
        k = k * cos + rot_half(k) * sin
        k = k.repeat_interleave(H // KV, 0)
        v = v.repeat_interleave(H // KV, 0)
        att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd) + mask, -1)
        o = s((att @ v).transpose(0, 1).reshape(T, H * hd), l, "o")
        x = x + o @ t(p + "self_attn.o_proj.weight").T
        xn = s(rms(x, t(p + "post_attention_layernorm.weight")), l, "gateup")
        a = torch.nn.functional.silu(xn @ t(p + "mlp.gate_proj.weight").T)
        up = xn @ t(p + "mlp.up_proj.weight").T
        if cats is not None:
            if collect is not None:
                collect(l, "act", a)
            if cats[l] is not None:
                a = torch.where(a.abs() >= cats[l], a, torch.zeros_like(a))   # CATS: |act(g)| >= t
        h = s(a * up, l, "down")
        x = x + h @ t(p + "mlp.down_proj.weight").T
    x = rms(x, t("model.norm.weight"))
    return x @ t("lm_head.weight").T


def scale_of(name):
    """(scale, offset) per tensor: the eval golden's generator with larger projections, so that the FFN and the
    attention matter to the logits and a sparse mode's cost is well above float noise (on the eval golden's own
    scales the model is near uniform and 50% CATS moves bits/byte by 4e-6)."""
    if name.endswith("norm.weight"):
        return 0.25, 1.0
    if "embed_tokens" in name:
        return 1.0, 0.0
    return SCALE, 0.0


def window_nats(logits, ids):
    lp = torch.log_softmax(logits.double(), -1)
    return -float(sum(lp[i, ids[i + 1]] for i in range(len(ids) - 1)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(GOLDEN, "sparse-modes.json"))
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    g = json.load(open(os.path.join(GOLDEN, "golden.json")))
    cfg = json.load(open(os.path.join(GOLDEN, "config-silu.json")))
    cfg.setdefault("rope_scaling", None)
    tensors = [(nm, sh) + scale_of(nm) for nm, sh in mlg.param_shapes(cfg)]
    W = {nm: mlg.gen_weights(nm, sh, sc, off) for nm, sh, sc, off in tensors}
    ids = g["ids"]
    wins = [(w["start"], w["length"]) for w in g["windows"]]
    nbytes = sum(w["predicted_bytes"] for w in g["windows"])
    L = cfg["num_hidden_layers"]

    def run(cats=None, teal=None, collect=None):
        with torch.no_grad():
            nats = [window_nats(forward(cfg, W, ids[s:s + n], cats, teal, collect), ids[s:s + n]) for s, n in wins]
        return math.fsum(nats) / math.log(2) / nbytes

    def quantile(vals):
        return float(np.quantile(np.concatenate(vals).astype(np.float64), TARGET))

    dense = run()
    # CATS: t_l at the 50% quantile of |act(g)|, layer by layer with the earlier layers sparsified
    cats = [None] * L
    for l in range(L):
        vals = []
        run(cats=cats, collect=lambda li, site, v: vals.append(v.abs().flatten().numpy())
            if li == l and site == "act" else None)
        cats[l] = quantile(vals)
    drop = [[0, 0] for _ in range(L)]

    def count_cats(li, site, v):
        if site == "act":
            drop[li][0] += int((v.abs() < cats[li]).sum())
            drop[li][1] += v.numel()
    cats_bpb = run(cats=cats, collect=count_cats)
    cats_sparsity = [z / n for z, n in drop]
    # TEAL: per layer and site, the same
    teal = [None] * L
    for l in range(L):
        teal[l] = {site: float("-inf") for site in SITES}                 # layer l itself not yet sparsified
        for site in SITES:                                                # in forward order: each site sees the
            vals = []                                                     # earlier sites already sparsified
            run(teal=teal, collect=lambda li, st, v: vals.append(v.abs().flatten().numpy())
                if li == l and st == site else None)
            teal[l][site] = quantile(vals)
    tdrop = [{site: [0, 0] for site in SITES} for _ in range(L)]

    def count_teal(li, site, v):
        if site in SITES:
            tdrop[li][site][0] += int((v.abs() <= teal[li][site]).sum())
            tdrop[li][site][1] += v.numel()
    teal_bpb = run(teal=teal, collect=count_teal)
    out = {
        "generated_by": "scripts/golden/make_sparse_mode_golden.py",
        "provenance": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__},
        "variant": "silu",
        "config": "config-silu.json",
        "seed": g["seed"],
        "tensors": [{"name": nm, "shape": sh, "scale": sc, "offset": off} for nm, sh, sc, off in tensors],
        "target": TARGET,
        "dense_bitsPerByte": dense,
        "cats": {"threshold": cats, "bitsPerByte": cats_bpb, "sparsityPerLayer": cats_sparsity},
        "teal": {"sites": SITES, "threshold": [[teal[l][s] for s in SITES] for l in range(L)], "bitsPerByte": teal_bpb,
                 "sparsityPerLayer": [[z / n for z, n in (tdrop[l][s] for s in SITES)] for l in range(L)]},
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"dense {dense:.6f}  cats {cats_bpb:.6f} (t {cats}, dropped {cats_sparsity})  teal {teal_bpb:.6f} "
          f"(dropped {out['teal']['sparsityPerLayer']})")


if __name__ == "__main__":
    main()
