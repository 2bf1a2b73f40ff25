#!/usr/bin/env python3
"""Golden check that Hugging Face transformers loads the model folders Sparsa's trainer writes (dev.sparsa.train.HfExport).

Input: folders written by Sparsa (the test helper dev.sparsa.train.ExportGolden, from the deterministic weight
generator shared with make_llama_goldens.py), one per variant:
    export_llama_fatrelu_f32      llama, F32, hidden_act relu + Sparsa's fatrelu_threshold T
    export_llama_relu2_bf16       llama, BF16, hidden_act relu2
    export_qwen2_silu_tied_bf16   qwen2, BF16, tied embeddings (no lm_head.weight), q/k/v biases, silu
For each, this script
  1. checks every tensor in model.safetensors against the generator (F32: equal; BF16: equal to the generator's
     float32 rounded to nearest even), so the names, shapes and values Sparsa wrote are the intended ones;
  2. loads the folder with transformers AutoModelForCausalLM.from_pretrained(dir, dtype=float32, eager attention)
     and runs one forward over fixed ids; the logits go to logits.bin;
  3. for the FATReLU variant, also runs the same loaded model with each layer's mlp.act_fn replaced by
     FATReLU_T(x) = x * (x >= T) (T read from config.json) -> logits_fatrelu.bin. transformers itself ignores
     fatrelu_threshold and runs ReLU: logits.bin is that (Sparsa matches it with the threshold set to 0), and
     logits_fatrelu.bin is transformers' model code with the activation Sparsa applies;
  4. writes golden.json: the SHA-256 of the exact model.safetensors and config.json it loaded, the ids, the
     logits' shape, the versions, what transformers' config reports for hidden_act, and the max |difference|
     from the plain-PyTorch reference of make_llama_goldens.py.

Usage (the committed golden under sparsa-core/src/test/resources/golden/export/ came from the device machine):
    python3 make_export_golden.py --models MODELS_DIR --out OUTDIR                   # transformers
    python3 make_export_golden.py --models MODELS_DIR --out OUTDIR --reference torch # plain PyTorch (no transformers)
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_llama_goldens as mlg  # noqa: E402

VARIANTS = ["export_llama_fatrelu_f32", "export_llama_relu2_bf16", "export_qwen2_silu_tied_bf16"]
IDS = [1, 200, 17, 33, 255, 4, 98, 150, 7, 64, 211, 2, 90, 128]   # ExportGolden.IDS
SEED = 20261123


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def read_safetensors(path):
    """{name: float32 array} from a safetensors file (F32 or BF16), with numpy only."""
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out, dtypes = {}, {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        buf = data[a:b]
        if t["dtype"] == "F32":
            v = np.frombuffer(buf, dtype="<f4")
        elif t["dtype"] == "BF16":
            v = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            sys.exit(f"{path}: unexpected dtype {t['dtype']} of {name}")
        out[name] = v.reshape(t["shape"]).astype(np.float32)
        dtypes[name] = t["dtype"]
    return out, dtypes


def bf16_rne(x):
    """float32 -> bfloat16 (round to nearest even) -> float32, as Sparsa's Half.floatToBf16."""
    u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint32) << 16
    return r.astype(np.uint32).view(np.float32)


def plain_cfg(conf):
    """The config dict make_llama_goldens' plain reference reads."""
    return dict(hidden_size=conf["hidden_size"], num_attention_heads=conf["num_attention_heads"],
                num_key_value_heads=conf["num_key_value_heads"], rms_norm_eps=conf["rms_norm_eps"],
                num_hidden_layers=conf["num_hidden_layers"], rope_theta=conf["rope_theta"],
                rope_scaling=conf.get("rope_scaling"), tie_word_embeddings=conf["tie_word_embeddings"],
                hidden_act=conf["hidden_act"], vocab_size=conf["vocab_size"], model_type=conf["model_type"])


class FatRelu(torch.nn.Module):
    """FATReLU_T(x) = x * [x >= T] (ProSparse), as a module: transformers' mlp.act_fn must be one."""

    def __init__(self, threshold):
        super().__init__()
        self.threshold = threshold

    def forward(self, x):
        return x * (x >= self.threshold).to(x.dtype)


def act(name, threshold=0.0):
    if threshold > 0:
        return lambda x: x * (x >= threshold).to(x.dtype)          # FATReLU_T
    return {"silu": torch.nn.functional.silu, "relu": torch.relu,
            "relu2": lambda x: torch.relu(x) ** 2}[name]


def plain_logits(conf, W, threshold=0.0):
    mlg.act_fn = lambda name: act(name, threshold)               # the reference looks act_fn up per call
    return mlg.reference_forward(plain_cfg(conf), W, IDS).astype("<f4")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True, help="folder holding the variants' folders written by Sparsa")
    ap.add_argument("--out", required=True)
    ap.add_argument("--reference", choices=["hf", "torch"], default="hf")
    args = ap.parse_args()
    provenance = {"torch": torch.__version__, "numpy": np.__version__, "reference": args.reference}
    if args.reference == "hf":
        import transformers
        provenance["transformers"] = transformers.__version__
    print("versions:", provenance, flush=True)

    for name in VARIANTS:
        d = os.path.join(args.models, name)
        print(f"[{name}]", flush=True)
        with open(os.path.join(d, "config.json")) as f:
            conf = json.load(f)
        W, dtypes = read_safetensors(os.path.join(d, "model.safetensors"))
        # 1. the tensors are the generator's (BF16: rounded to nearest even)
        shapes = mlg.param_shapes(dict(conf, attention_bias=conf.get("attention_bias", False)))
        if sorted(W) != sorted(n for n, _ in shapes):
            sys.exit(f"{name}: tensor names differ: {sorted(set(W) ^ set(n for n, _ in shapes))}")
        for n, s in shapes:
            want = mlg.gen_weights(n, s, *mlg.scale_of(n, conf), seed=SEED)
            if dtypes[n] == "BF16":
                want = bf16_rne(want)
            if list(W[n].shape) != list(s) or not np.array_equal(W[n], want):
                sys.exit(f"{name}: tensor {n} is not the generator's ({dtypes[n]})")
        print(f"  {len(W)} tensors equal the generator's ({sorted(set(dtypes.values()))})", flush=True)
        threshold = float(conf.get("fatrelu_threshold", 0.0))

        # 2. transformers' own loading of the folder
        golden = {"generated_by": "scripts/golden/make_export_golden.py", "provenance": provenance,
                  "seed": SEED, "ids": IDS, "model.safetensors_sha256": sha256(os.path.join(d, "model.safetensors")),
                  "config.json_sha256": sha256(os.path.join(d, "config.json")),
                  "logits": {"file": "logits.bin", "dtype": "float32-le", "shape": [len(IDS), conf["vocab_size"]]}}
        if args.reference == "hf":
            model = transformers.AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32,
                                                                      attn_implementation="eager").eval()
            loaded_dtype = str(next(model.parameters()).dtype)
            model = model.to(torch.float32)        # a no-op when dtype= was honoured; bf16 -> f32 is exact anyway
            golden["transformers_class"] = type(model).__name__
            golden["transformers_hidden_act"] = model.config.hidden_act
            golden["transformers_kept_fatrelu_threshold"] = getattr(model.config, "fatrelu_threshold", None)
            golden["transformers_loaded_dtype"] = loaded_dtype
            print(f"  transformers: {type(model).__name__}, hidden_act {model.config.hidden_act}, loaded as "
                  f"{loaded_dtype}, attention {getattr(model.config, '_attn_implementation', '?')}, tied lm_head "
                  f"{model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()}, "
                  f"act_fn {type(model.model.layers[0].mlp.act_fn).__name__}", flush=True)
            with torch.no_grad():
                logits = model(torch.tensor([IDS])).logits[0].float().numpy().astype("<f4")
        else:
            model = None
            logits = plain_logits(conf, W)
        ref = plain_logits(conf, W)
        golden["max_abs_diff_vs_plain_torch"] = float(np.abs(logits - ref).max())
        print(f"  logits {logits.shape}, max |logit| {np.abs(logits).max():.3f}, max |{args.reference} - plain torch|"
              f" = {golden['max_abs_diff_vs_plain_torch']:.3g}", flush=True)
        o = os.path.join(args.out, name)
        os.makedirs(o, exist_ok=True)
        logits.tofile(os.path.join(o, "logits.bin"))

        # 3. FATReLU: transformers' model code with act_fn = FATReLU_T
        if threshold > 0:
            if model is not None:
                for layer in model.model.layers:
                    layer.mlp.act_fn = FatRelu(threshold)
                with torch.no_grad():
                    fat = model(torch.tensor([IDS])).logits[0].float().numpy().astype("<f4")
            else:
                fat = plain_logits(conf, W, threshold)
            fref = plain_logits(conf, W, threshold)
            golden["fatrelu_threshold"] = threshold
            golden["logits_fatrelu"] = {"file": "logits_fatrelu.bin", "dtype": "float32-le",
                                        "shape": [len(IDS), conf["vocab_size"]],
                                        "max_abs_diff_vs_plain_torch": float(np.abs(fat - fref).max()),
                                        "max_abs_diff_vs_relu": float(np.abs(fat - logits).max())}
            print(f"  FATReLU T={threshold}: max |fat - relu| = {np.abs(fat - logits).max():.3g}, "
                  f"max |{args.reference} - plain torch| = {np.abs(fat - fref).max():.3g}", flush=True)
            fat.tofile(os.path.join(o, "logits_fatrelu.bin"))
        with open(os.path.join(o, "golden.json"), "w") as f:
            json.dump(golden, f, indent=1)


if __name__ == "__main__":
    main()
