#!/usr/bin/env python3
"""Golden references for Sparsa's trainer (dev.sparsa.train) from Hugging Face transformers + torch.optim.AdamW.

For tiny decoders whose weights come from the deterministic generator shared with the Java tests
(make_llama_goldens.py / GoldenWeights.java), runs two full training steps on one fixed batch, float32:
    loss = CE(logits[:, :-1], ids[:, 1:]) (mean over B*T)  +  lambda * mean_l mean|act_l|   (ProSparse L1)
    clip_grad_norm_(params, clip);  torch.optim.AdamW(lr, betas, eps, weight_decay on >= 2-D tensors only)
and writes, per variant, under --out:
    <variant>/config.json   the HF config.json
    <variant>/golden.json   ids, hyper-parameters, losses, grad norms, tensor list (name, shape) in file order
    <variant>/grads.bin     float32 LE gradients of step 1 (before clipping), tensors concatenated in list order
    <variant>/params.bin    float32 LE parameters after step 2, same order
act_l is the MLP activation output act(gate) of layer l (a forward hook on mlp.act_fn). The tied lm_head is not a
separate parameter (HF's convention); its gradient is part of embed_tokens'.

Usage (the committed goldens in sparsa-core/src/test/resources/golden/train/ came from the device machine):
    python3 make_train_goldens.py --out OUTDIR                     # transformers reference
    python3 make_train_goldens.py --out OUTDIR --reference torch   # plain-PyTorch Llama (local cross-check)
Both paths print the max difference between the HF and the plain-PyTorch gradients when both are available.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_llama_goldens import SEED, gen_weights, scale_of, param_shapes, llama3_inv_freq, act_fn, hf_model  # noqa: E402

VOCAB, HIDDEN, INTER, MAXPOS = 256, 32, 64, 64

VARIANTS = {
    # llama, GQA 4/2, untied, SwiGLU, CE only
    "train_silu_gqa": dict(
        architectures=["LlamaForCausalLM"], model_type="llama", vocab_size=VOCAB, hidden_size=HIDDEN,
        intermediate_size=INTER, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        hidden_act="silu", max_position_embeddings=MAXPOS, rms_norm_eps=1e-5, rope_theta=10000.0,
        rope_scaling=None, tie_word_embeddings=False, attention_bias=False, mlp_bias=False, bos_token_id=1,
        eos_token_id=2, initializer_range=0.02, torch_dtype="float32"),
    # qwen2 (q/k/v biases), tied embeddings, ReLU FFN with the ProSparse L1 term
    "train_relu_l1_tied": dict(
        architectures=["Qwen2ForCausalLM"], model_type="qwen2", vocab_size=VOCAB, hidden_size=HIDDEN,
        intermediate_size=INTER, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        hidden_act="relu", max_position_embeddings=MAXPOS, rms_norm_eps=1e-6, rope_theta=10000.0,
        rope_scaling=None, tie_word_embeddings=True, use_sliding_window=False, sliding_window=None,
        max_window_layers=2, attention_dropout=0.0, bos_token_id=3, eos_token_id=4, initializer_range=0.02,
        torch_dtype="float32"),
}
HYPER = {
    "train_silu_gqa": dict(l1=0.0, lr=1e-2, betas=[0.9, 0.95], eps=1e-8, weight_decay=0.1, clip=1.0),
    "train_relu_l1_tied": dict(l1=0.5, lr=1e-2, betas=[0.9, 0.95], eps=1e-8, weight_decay=0.1, clip=0.5),
}
BATCH, SEQ = 2, 16


def batch_ids(seed):
    """B x (T+1) token ids from a fixed LCG (reproducible without numpy's RNG)."""
    out, s = [], seed
    for _ in range(BATCH):
        row = []
        for _ in range(SEQ + 1):
            s = (s * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
            row.append(int(s >> 40) % VOCAB)
        out.append(row)
    return out


def plain_model(cfg, W):
    """A plain-PyTorch Llama / Qwen2 with the same parameters, returning (logits, [act_l])."""
    D, H, KV = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = D // H
    eps = cfg["rms_norm_eps"]
    P = {n: torch.nn.Parameter(torch.from_numpy(v.copy())) for n, v in W.items()}

    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    def rot_half(x):
        return torch.cat([-x[..., hd // 2:], x[..., :hd // 2]], -1)

    def forward(ids):
        B, T = ids.shape
        inv = llama3_inv_freq(cfg, hd)
        freqs = torch.arange(T).float()[:, None] * inv[None, :]
        emb = torch.cat([freqs, freqs], -1)
        cos, sin = emb.cos(), emb.sin()
        mask = torch.full((T, T), float("-inf")).triu(1)
        x = P["model.embed_tokens.weight"][ids]
        acts = []
        for l in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{l}."
            xn = rms(x, P[p + "input_layernorm.weight"])

            def proj(n, heads):
                y = xn @ P[p + f"self_attn.{n}_proj.weight"].T
                if p + f"self_attn.{n}_proj.bias" in P:
                    y = y + P[p + f"self_attn.{n}_proj.bias"]
                return y.view(B, T, heads, hd).transpose(1, 2)
            q, k, v = proj("q", H), proj("k", KV), proj("v", KV)
            q = q * cos + rot_half(q) * sin
            k = k * cos + rot_half(k) * sin
            k = k.repeat_interleave(H // KV, 1)
            v = v.repeat_interleave(H // KV, 1)
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, -1)
            o = (att @ v).transpose(1, 2).reshape(B, T, H * hd)
            x = x + o @ P[p + "self_attn.o_proj.weight"].T
            xn = rms(x, P[p + "post_attention_layernorm.weight"])
            a = act_fn(cfg["hidden_act"])(xn @ P[p + "mlp.gate_proj.weight"].T)
            acts.append(a)
            x = x + (a * (xn @ P[p + "mlp.up_proj.weight"].T)) @ P[p + "mlp.down_proj.weight"].T
        x = rms(x, P["model.norm.weight"])
        head = "model.embed_tokens.weight" if cfg["tie_word_embeddings"] else "lm_head.weight"
        return x @ P[head].T, acts

    return P, forward


def hf_runner(cfg, W):
    model = hf_model(cfg, W).train()
    acts = []
    for layer in model.model.layers:
        layer.mlp.act_fn.register_forward_hook(lambda mod, inp, out: acts.append(out))
    P = dict(model.named_parameters())

    def forward(ids):
        acts.clear()
        logits = model(ids).logits
        return logits, list(acts)
    return P, forward


def run(cfg, hp, P, forward, ids):
    """Two steps on the same batch: returns (losses, grad norms, grads of step 1, params after step 2)."""
    names = [n for n, _ in param_shapes(cfg)]
    params = [P[n] for n in names]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": hp["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=hp["lr"], betas=tuple(hp["betas"]), eps=hp["eps"])
    x = torch.tensor([r[:-1] for r in ids])
    y = torch.tensor([r[1:] for r in ids])
    losses, norms, grads1 = [], [], None
    for step in range(2):
        opt.zero_grad(set_to_none=True)
        logits, acts = forward(x)
        ce = torch.nn.functional.cross_entropy(logits.reshape(-1, cfg["vocab_size"]), y.reshape(-1))
        l1 = sum(a.abs().mean() for a in acts) / len(acts)
        loss = ce + hp["l1"] * l1
        loss.backward()
        if step == 0:
            grads1 = np.concatenate([P[n].grad.detach().numpy().astype("<f4").ravel() for n in names])
        norm = torch.nn.utils.clip_grad_norm_(params, hp["clip"])
        opt.step()
        losses.append({"loss": float(loss), "ce": float(ce), "l1": float(l1)})
        norms.append(float(norm))
    after = np.concatenate([P[n].detach().numpy().astype("<f4").ravel() for n in names])
    return losses, norms, grads1, after


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
    for vi, (name, cfg) in enumerate(VARIANTS.items()):
        print(f"[{name}]", flush=True)
        hp = HYPER[name]
        shapes = param_shapes(cfg)
        W = {n: gen_weights(n, s, *scale_of(n, cfg)) for n, s in shapes}
        ids = batch_ids(1000 + vi)
        P, fwd = hf_runner(cfg, W) if args.reference == "hf" else plain_model(cfg, W)
        losses, norms, grads1, after = run(cfg, hp, P, fwd, ids)
        Pp, fwdp = plain_model(cfg, W)
        _, _, g_plain, a_plain = run(cfg, hp, Pp, fwdp, ids)
        print(f"  losses {losses}\n  grad norms {norms}\n  max |grad {args.reference} - plain| ="
              f" {np.abs(grads1 - g_plain).max():.3g} (max |grad| {np.abs(grads1).max():.3g}),"
              f" params after 2 steps {np.abs(after - a_plain).max():.3g}", flush=True)
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump({k: v for k, v in cfg.items() if v is not None}, f, indent=2)
        grads1.tofile(os.path.join(d, "grads.bin"))
        after.tofile(os.path.join(d, "params.bin"))
        golden = {
            "generated_by": "scripts/golden/make_train_goldens.py",
            "provenance": provenance,
            "seed": SEED,
            "ids": ids,
            "hyper": hp,
            "steps": losses,
            "grad_norms": norms,
            "tensors": [{"name": n, "shape": s, "scale": scale_of(n, cfg)[0], "offset": scale_of(n, cfg)[1]}
                        for n, s in shapes],
            "grads": {"file": "grads.bin", "dtype": "float32-le"},
            "params_after_2_steps": {"file": "params.bin", "dtype": "float32-le"},
        }
        with open(os.path.join(d, "golden.json"), "w") as f:
            json.dump(golden, f, indent=1)


if __name__ == "__main__":
    main()
