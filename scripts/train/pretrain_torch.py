#!/usr/bin/env python3
"""Pretrains the reference dense "tiny-llama" on the Brown train split with transformers on a GPU, once, as the
starting point of the sparsification experiments (EXPERIMENTS.md says so where it uses it).

The same model as Sparsa's `--config tiny-llama` (dev.sparsa.train.Presets): vocab 4096, hidden 256, 4 layers,
8 heads / 4 KV heads (head dim 32), FFN 768, SwiGLU, context 256, RoPE theta 10000, RMSNorm eps 1e-5, untied
embeddings, BOS = EOS = id 0; the same data as `sparsa pretrain`: every line of the text tokenized with the given
tokenizer.json (made by `sparsa tokenizer train --corpus brown-train --vocab 4096`) and followed by EOS, cut into
chunks of 257 tokens with stride 256, visited in a random order each epoch. AdamW (betas 0.9/0.95, weight decay on
matrices only), linear warm-up then cosine, global-norm clipping, fp32 master weights with bf16 autocast.
Validation: the evaluation protocol's windows (256 from token 0, the last partial kept), CE over tokens 1..n-1; the
epoch with the lowest validation CE is saved (F32, sharded safetensors) with its config.json and the tokenizer.

Inputs: brown-train.txt / brown-valid.txt (the cleaned corpus lines as Sparsa's BrownCorpus makes them; the corpus
is fetched, never committed) and tokenizer.json. Usage:
    python3 pretrain_torch.py --data DIR --out OUT [--epochs 24] [--batch 32] [--lr 2e-3]
"""
import argparse
import json
import math
import os
import random
import shutil
import time

import torch


def stream(path, tok):
    ids = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.strip():
                ids.extend(tok.encode(line, add_special_tokens=False).ids)
                ids.append(0)
    return ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    import transformers
    from tokenizers import Tokenizer
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    tok = Tokenizer.from_file(os.path.join(args.data, "tokenizer.json"))
    train = torch.tensor(stream(os.path.join(args.data, "brown-train.txt"), tok), dtype=torch.long)
    valid = stream(os.path.join(args.data, "brown-valid.txt"), tok)
    T = 256
    chunks = (len(train) - 1) // T
    print(f"train {len(train)} tokens, {chunks} chunks; valid {len(valid)} tokens", flush=True)
    cfg = transformers.LlamaConfig(vocab_size=4096, hidden_size=256, intermediate_size=768, num_hidden_layers=4,
                                   num_attention_heads=8, num_key_value_heads=4, head_dim=32,
                                   max_position_embeddings=256, rms_norm_eps=1e-5, rope_theta=10000.0,
                                   hidden_act="silu", tie_word_embeddings=False, bos_token_id=0, eos_token_id=0,
                                   attention_bias=False, mlp_bias=False, initializer_range=0.02)
    model = transformers.LlamaForCausalLM(cfg).to(dev)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    steps_per_epoch = chunks // args.batch
    total = steps_per_epoch * args.epochs

    def lr_at(s):
        if s <= args.warmup:
            return args.lr * s / args.warmup
        return 0.1 * args.lr + 0.9 * args.lr * 0.5 * (1 + math.cos(math.pi * (s - args.warmup) / (total - args.warmup)))

    def validate():
        model.eval()
        nats, n = 0.0, 0
        with torch.no_grad():
            for s in range(0, len(valid), T):
                w = valid[s:s + T]
                if len(w) < 2:
                    continue
                x = torch.tensor([w], device=dev)
                logits = model(x).logits.float()
                nats += torch.nn.functional.cross_entropy(logits[0, :-1], x[0, 1:], reduction="sum").item()
                n += len(w) - 1
        model.train()
        return nats / n

    best, best_epoch, step, log = float("inf"), -1, 0, []
    t0 = time.time()
    for epoch in range(args.epochs):
        order = list(range(chunks))
        random.Random(args.seed + epoch).shuffle(order)
        for b in range(steps_per_epoch):
            idx = order[b * args.batch:(b + 1) * args.batch]
            batch = torch.stack([train[c * T:c * T + T + 1] for c in idx]).to(dev)
            step += 1
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            with torch.autocast(device_type=dev, dtype=torch.bfloat16, enabled=dev == "cuda"):
                logits = model(batch[:, :-1]).logits
            loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, cfg.vocab_size),
                                                     batch[:, 1:].reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        val = validate()
        log.append({"epoch": epoch + 1, "step": step, "train_ce": loss.item(), "valid_ce": val,
                    "seconds": time.time() - t0})
        print(json.dumps(log[-1]), flush=True)
        if val < best:
            best, best_epoch = val, epoch + 1
            model.save_pretrained(args.out, safe_serialization=True, max_shard_size="12MB")
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(args.data, f), os.path.join(args.out, f))
    with open(os.path.join(args.out, "pretrain-log.json"), "w") as f:
        json.dump({"best_epoch": best_epoch, "best_valid_ce": best, "epochs": log, "args": vars(args),
                   "torch": torch.__version__, "transformers": transformers.__version__,
                   "device": torch.cuda.get_device_name() if dev == "cuda" else "cpu"}, f, indent=1)
    print(f"best epoch {best_epoch}: valid CE {best:.4f}", flush=True)


if __name__ == "__main__":
    main()
