#!/usr/bin/env python3
"""PyTorch CPU peer of `sparsa bench-train`: the same Llama model, data, optimizer and step, timed the same way.

A plain reference implementation in Hugging Face layout (no transformers needed; torch >= 1.13): token embedding,
per layer RMSNorm -> q/k/v projections -> RoPE (rotate-half) -> causal GQA attention with an explicit mask (torch 1.13
has no scaled_dot_product_attention) -> o projection -> residual -> RMSNorm -> SwiGLU FFN (down(act(gate) * up)) ->
residual, final RMSNorm, untied LM head (tied when the config says so). The parameters are the ones Sparsa's
LlamaParams holds (q/k/v biases only when attention_bias / qwen2), initialized as transformers does
(N(0, 0.02^2) matrices, norm gains 1, biases 0). A config's rope_scaling is ignored (plain RoPE frequencies: the
same cost), as are the L1 / distillation terms Sparsa's trainer can add (bench-train does not use them).

One step: zero_grad(set_to_none=True), forward on a random batch of B x (T+1) tokens (inputs 0..T-1, targets
1..T), mean cross-entropy, backward, clip_grad_norm_(1.0), AdamW(lr 1e-3, betas (0.9, 0.95), eps 1e-8, weight
decay 0.1 on matrices only, as Sparsa's AdamW). Warm-up steps, then timed steps (time.perf_counter around each
whole step). Prints progress on stderr and one JSON line on stdout.

FLOPs per step are counted as Sparsa counts them (dev.sparsa.train.TrainBench):
    6 * N_mm * B*T + 6 * L * B * H*d_h * T*(T+1),   N_mm = L*(D*H*d_h + 2*D*H_kv*d_h + H*d_h*D + 3*D*F) + V*D.

The model is checked against transformers on the trainer golden that Sparsa's TrainGoldenTest uses (2 AdamW
steps; the gradients agree to ~2e-8, the parameters after 2 steps to ~1e-6):
    /usr/bin/python3 scripts/bench/train_torch.py --check-golden sparsa-core/src/test/resources/golden/train/train_silu_gqa

Usage (the same sizes as sparsa bench-train; Debian: /usr/bin/python3 with python3-torch, see setup-pytorch.sh):
    /usr/bin/python3 scripts/bench/train_torch.py --batch 8 --seq 256 --steps 10 --warmup 2 --threads 2
    ... --config tiny-llama | micro-llama | path/to/config.json | '{"model_type": "llama", ...}'
"""
import argparse
import json
import math
import os
import platform
import resource
import sys
import time

PRESETS = {  # dev.sparsa.train.Presets
    "tiny-llama": dict(model_type="llama", hidden_size=256, intermediate_size=768, num_hidden_layers=4,
                       num_attention_heads=8, num_key_value_heads=4, head_dim=32, vocab_size=4096,
                       max_position_embeddings=256, rms_norm_eps=1e-5, rope_theta=10000.0, hidden_act="silu",
                       tie_word_embeddings=False),
    "micro-llama": dict(model_type="llama", hidden_size=128, intermediate_size=384, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, head_dim=32, vocab_size=4096,
                        max_position_embeddings=256, rms_norm_eps=1e-5, rope_theta=10000.0, hidden_act="silu",
                        tie_word_embeddings=False),
}


def fail(msg):
    print("train_torch.py: " + msg, file=sys.stderr)
    sys.exit(2)


def load_config(spec):
    if spec in PRESETS:
        c = dict(PRESETS[spec])
    elif spec.lstrip().startswith("{"):
        c = json.loads(spec)
    elif os.path.isfile(spec):
        with open(spec) as f:
            c = json.load(f)
    else:
        fail("--config %r is neither a preset (%s), a config.json nor a JSON object" % (spec, ", ".join(PRESETS)))
    mt = c.get("model_type")
    if mt not in ("llama", "mistral", "qwen2"):
        fail("--config: model_type %r is not a Llama-family decoder" % mt)
    heads = c["num_attention_heads"]
    kv = c.get("num_key_value_heads") or heads
    return dict(
        d=c["hidden_size"], f=c["intermediate_size"], layers=c["num_hidden_layers"], heads=heads, kv=kv,
        hd=c.get("head_dim") or c["hidden_size"] // heads, vocab=c["vocab_size"],
        ctx=c.get("max_position_embeddings", 2048), eps=c.get("rms_norm_eps", 1e-6),
        theta=c.get("rope_theta", 10000.0), act=c.get("hidden_act", "silu"),
        fat_t=c.get("fatrelu_threshold", 0.0), tie=c.get("tie_word_embeddings", False),
        qkv_bias=mt == "qwen2" or (mt == "llama" and c.get("attention_bias", False)))


def flops_per_step(c, b, t):
    n_mm = c["layers"] * (c["d"] * c["heads"] * c["hd"] + 2 * c["d"] * c["kv"] * c["hd"]
                          + c["heads"] * c["hd"] * c["d"] + 3 * c["d"] * c["f"]) + c["vocab"] * c["d"]
    return 6.0 * n_mm * b * t + 6.0 * c["layers"] * b * c["heads"] * c["hd"] * t * (t + 1)


def blas_library():
    """The BLAS shared library this process mapped (Debian: the libblas.so.3 alternative, e.g. openblas-pthread)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        return ", ".join(sorted(libs)) or None
    except OSError:
        return None


def build_model(c, T):
    """The Llama of config c (load_config's dict) for sequences of T tokens, initialized as transformers does."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    D, FF, L, H, KV, HD, V = c["d"], c["f"], c["layers"], c["heads"], c["kv"], c["hd"], c["vocab"]
    acts = {"silu": F.silu, "relu": F.relu, "gelu": F.gelu,
            "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
            "relu2": lambda x: F.relu(x).square(),
            "fatrelu": lambda x: F.threshold(x, c["fat_t"], 0.0)}
    if c["act"] not in acts:
        fail("--config: hidden_act %r is not supported here (%s)" % (c["act"], ", ".join(acts)))
    act = acts[c["act"]]

    class RMSNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(D))

        def forward(self, x):  # x / sqrt(mean(x^2) + eps) * g  (RMSNorm eq. 4)
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + c["eps"]) * self.weight

    def rotate_half(x):
        x1, x2 = x[..., :HD // 2], x[..., HD // 2:]
        return torch.cat((-x2, x1), dim=-1)

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.q_proj = nn.Linear(D, H * HD, bias=c["qkv_bias"])
            self.k_proj = nn.Linear(D, KV * HD, bias=c["qkv_bias"])
            self.v_proj = nn.Linear(D, KV * HD, bias=c["qkv_bias"])
            self.o_proj = nn.Linear(H * HD, D, bias=False)

        def forward(self, x, cos, sin, mask):
            b, t, _ = x.shape
            q = self.q_proj(x).view(b, t, H, HD).transpose(1, 2)
            k = self.k_proj(x).view(b, t, KV, HD).transpose(1, 2)
            v = self.v_proj(x).view(b, t, KV, HD).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin                      # RoPE (RoFormer eq. 34), rotate-half layout
            k = k * cos + rotate_half(k) * sin
            k = k.repeat_interleave(H // KV, dim=1)                 # GQA: query head h reads kv head h // (H/KV)
            v = v.repeat_interleave(H // KV, dim=1)
            s = (q @ k.transpose(-1, -2)) / math.sqrt(HD) + mask    # causal: -inf above the diagonal
            o = s.softmax(-1) @ v                                   # (Vaswani eq. 1)
            return self.o_proj(o.transpose(1, 2).reshape(b, t, H * HD))

    class Mlp(nn.Module):
        def __init__(self):
            super().__init__()
            self.gate_proj = nn.Linear(D, FF, bias=False)
            self.up_proj = nn.Linear(D, FF, bias=False)
            self.down_proj = nn.Linear(FF, D, bias=False)

        def forward(self, x):  # W_down (act(W_gate x) * W_up x)  (Shazeer 2020)
            return self.down_proj(act(self.gate_proj(x)) * self.up_proj(x))

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.input_layernorm = RMSNorm()
            self.self_attn = Attention()
            self.post_attention_layernorm = RMSNorm()
            self.mlp = Mlp()

        def forward(self, x, cos, sin, mask):
            x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
            return x + self.mlp(self.post_attention_layernorm(x))

    class Llama(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed_tokens = nn.Embedding(V, D)
            self.layers = nn.ModuleList(Layer() for _ in range(L))
            self.norm = RMSNorm()
            self.lm_head = nn.Linear(D, V, bias=False)
            if c["tie"]:
                self.lm_head.weight = self.embed_tokens.weight
            inv_freq = 1.0 / (c["theta"] ** (torch.arange(0, HD, 2, dtype=torch.float32) / HD))
            ang = torch.outer(torch.arange(T, dtype=torch.float32), inv_freq)
            emb = torch.cat((ang, ang), dim=-1)
            self.register_buffer("cos", emb.cos(), persistent=False)
            self.register_buffer("sin", emb.sin(), persistent=False)
            self.register_buffer("mask", torch.full((T, T), float("-inf")).triu(1), persistent=False)
            for m in self.modules():                                # transformers' _init_weights
                if isinstance(m, (nn.Linear, nn.Embedding)):
                    nn.init.normal_(m.weight, mean=0.0, std=0.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.zeros_(m.bias)

        def forward(self, ids):
            x = self.embed_tokens(ids)
            for layer in self.layers:
                x = layer(x, self.cos, self.sin, self.mask)
            return self.lm_head(self.norm(x))

    return Llama()


def make_optimizer(model, lr=1e-3, weight_decay=0.1, betas=(0.9, 0.95), eps=1e-8):
    """torch.optim.AdamW with decay on matrices only (Sparsa's AdamW default)."""
    import torch
    params = list(model.parameters())
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=betas, eps=eps)


def train_step(model, opt, ids, clip, on_grads=None):
    """One step on ids [B, T+1]: returns (loss, grad norm before clipping)."""
    import torch
    import torch.nn.functional as F
    opt.zero_grad(set_to_none=True)
    logits = model(ids[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
    loss.backward()
    if on_grads is not None:
        on_grads()
    norm = torch.nn.utils.clip_grad_norm_(list(model.parameters()), clip)
    opt.step()
    return loss.item(), float(norm)


def hf_name(name):
    """Our module path -> the Hugging Face parameter name."""
    return name if name.startswith("lm_head") else "model." + name


def check_golden(d):
    """Two steps on the trainer golden of transformers (sparsa-core/src/test/resources/golden/train/<variant>):
    the gradients of step 1 and the parameters after step 2 must equal transformers'. CE-only variants."""
    import numpy as np
    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
    from make_llama_goldens import gen_weights
    c = load_config(os.path.join(d, "config.json"))
    with open(os.path.join(d, "golden.json")) as f:
        g = json.load(f)
    hp = g["hyper"]
    if hp["l1"] != 0:
        fail("--check-golden: %s has an L1 term, which this benchmark does not compute" % d)
    ids = torch.tensor(g["ids"])
    model = build_model(c, ids.shape[1] - 1)
    own = dict(model.named_parameters())
    order = [t["name"] for t in g["tensors"]]
    with torch.no_grad():
        for t in g["tensors"]:
            own_name = t["name"][len("model."):] if t["name"].startswith("model.") else t["name"]
            own[own_name].copy_(torch.from_numpy(gen_weights(t["name"], t["shape"], t["scale"], t["offset"],
                                                             g["seed"])))
    byhf = {hf_name(n): p for n, p in own.items()}
    opt = make_optimizer(model, hp["lr"], hp["weight_decay"], tuple(hp["betas"]), hp["eps"])
    grads = []
    losses = [train_step(model, opt, ids, hp["clip"],
                         lambda: grads.append(np.concatenate([byhf[n].grad.numpy().ravel() for n in order])))[0]
              for _ in range(2)]
    after = np.concatenate([byhf[n].detach().numpy().ravel() for n in order])
    want_g = np.fromfile(os.path.join(d, "grads.bin"), dtype="<f4")
    want_p = np.fromfile(os.path.join(d, "params.bin"), dtype="<f4")
    dg = float(np.abs(grads[0] - want_g).max())
    dp = float(np.abs(after - want_p).max())
    dl = max(abs(losses[i] - g["steps"][i]["ce"]) for i in range(2))
    ok = dg < 1e-5 and dp < 1e-4 and dl < 1e-5
    print(json.dumps({"golden": d, "maxGradDiff": dg, "maxParamDiffAfter2Steps": dp, "maxLossDiff": dl,
                      "ok": ok}), flush=True)
    sys.exit(0 if ok else 1)


def peak_rss_mib():
    """This process's peak RSS: VmHWM of /proc/self/status (the high-water mark of this program's own memory).
    getrusage's ru_maxrss is the fallback only: Linux carries it across execve, so a child started by the JVM
    (posix_spawn through jspawnhelper) would report the JVM's peak, not its own."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0                      # "VmHWM:  123456 kB"
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0       # KiB on Linux


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--config", default="tiny-llama")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check-golden", metavar="DIR",
                    help="instead of timing: check the model against a trainer golden of transformers "
                         "(sparsa-core/src/test/resources/golden/train/train_silu_gqa)")
    a = ap.parse_args()
    if a.batch < 1 or a.seq < 1 or a.steps < 1 or a.warmup < 0 or a.threads < 1:
        fail("--batch, --seq, --steps, --threads must be >= 1 and --warmup >= 0")
    # Thread pools are sized when torch (OpenMP, OpenBLAS) loads: set them before the import.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    try:
        import torch
    except ImportError as e:
        fail("no PyTorch for %s (%s): run scripts/bench/setup-pytorch.sh" % (sys.executable, e))
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    if a.check_golden:
        check_golden(a.check_golden)
    c = load_config(a.config)
    if a.seq > c["ctx"]:
        fail("--seq %d exceeds the context (%d positions)" % (a.seq, c["ctx"]))
    B, T, V = a.batch, a.seq, c["vocab"]

    model = build_model(c, T)
    n_params = sum(p.numel() for p in model.parameters())
    opt = make_optimizer(model)
    gen = torch.Generator().manual_seed(a.seed + 1)
    data = torch.randint(0, V, (a.warmup + a.steps, B, T + 1), generator=gen)
    print("torch %s: %d parameters, %d x %d tokens per step, %d threads" % (torch.__version__, n_params, B, T,
                                                                            torch.get_num_threads()),
          file=sys.stderr, flush=True)

    times, losses = [], []
    for s in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        loss, norm = train_step(model, opt, data[s], 1.0)
        dt = time.perf_counter() - t0
        losses.append(loss)
        timed = s >= a.warmup
        if timed:
            times.append(dt)
        print("  torch step %d/%d%s: loss %.4f, grad norm %.3f, %.3f s (%.0f tok/s)"
              % (s + 1, a.warmup + a.steps, "" if timed else " (warm-up)", loss, norm, dt, B * T / dt),
              file=sys.stderr, flush=True)

    total = sum(times)
    fl = flops_per_step(c, B, T)
    srt = sorted(times)
    n = len(srt)
    median = srt[n // 2] if n % 2 else (srt[n // 2 - 1] + srt[n // 2]) / 2
    print(json.dumps({
        "engine": "pytorch",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "executable": sys.executable,
        "blas": blas_library(),
        "threads": torch.get_num_threads(),
        "batch": B, "seq": T, "warmup": a.warmup, "steps": a.steps,
        "params": n_params,
        "tokensPerSecond": B * T * a.steps / total,
        "secondsPerStep": total / a.steps,
        "medianStepSeconds": median,
        "minStepSeconds": srt[0],
        "stepSeconds": times,
        "flopsPerStep": fl,
        "gflops": fl * a.steps / total / 1e9,
        "firstLoss": losses[0],
        "lastLoss": losses[-1],
        "peakRssMiB": peak_rss_mib(),
    }), flush=True)


if __name__ == "__main__":
    main()
