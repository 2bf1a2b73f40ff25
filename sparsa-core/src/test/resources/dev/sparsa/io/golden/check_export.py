#!/usr/bin/env python3
"""End-to-end check of `sparsa convert` against llama.cpp's reference Python code (gguf-py), run by hand:

    python3 check_export.py /path/to/sparsa-launcher WORKDIR

Makes a tiny random Llama checkpoint in Hugging Face layout (GQA, SentencePiece-style tokenizer.json), converts
it with `sparsa convert` to f32 and q8_0, reads the results with gguf-py's GGUFReader and checks: llama.cpp's key
names and types, tensor names and shapes, Q/K rows permuted exactly as convert_hf_to_gguf.py's LlamaModel.permute,
and Q8_0 bytes equal to gguf-py's quantizer applied to the (permuted) weights. Prints 'N passed, 0 failed'.
"""
import json
import os
import subprocess
import sys

import numpy as np
from gguf import GGUFReader, GGMLQuantizationType
from gguf.quants import quantize
from safetensors.numpy import save_file

D, F, L, H, KV, V = 64, 96, 2, 4, 2, 12
HD = D // H


def permute(w, n_head, n_head_kv):  # convert_hf_to_gguf.py LlamaModel.permute
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def main(launcher, work):
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(0)
    t = {"model.embed_tokens.weight": (V, D), "model.norm.weight": (D,), "lm_head.weight": (V, D)}
    for l in range(L):
        p = f"model.layers.{l}."
        t.update({p + "input_layernorm.weight": (D,), p + "post_attention_layernorm.weight": (D,),
                  p + "self_attn.q_proj.weight": (H * HD, D), p + "self_attn.k_proj.weight": (KV * HD, D),
                  p + "self_attn.v_proj.weight": (KV * HD, D), p + "self_attn.o_proj.weight": (D, H * HD),
                  p + "mlp.gate_proj.weight": (F, D), p + "mlp.up_proj.weight": (F, D),
                  p + "mlp.down_proj.weight": (D, F)})
    w = {k: rng.standard_normal(s).astype(np.float32) for k, s in t.items()}
    save_file(w, os.path.join(work, "model.safetensors"))
    json.dump({"model_type": "llama", "hidden_size": D, "intermediate_size": F, "num_hidden_layers": L,
               "num_attention_heads": H, "num_key_value_heads": KV, "vocab_size": V, "rms_norm_eps": 1e-5,
               "rope_theta": 10000.0, "max_position_embeddings": 128, "bos_token_id": 1, "eos_token_id": 2},
              open(os.path.join(work, "config.json"), "w"))
    json.dump({"added_tokens": [{"id": 0, "content": "<unk>", "special": True},
                                {"id": 1, "content": "<s>", "special": True},
                                {"id": 2, "content": "</s>", "special": True}],
               "model": {"type": "BPE", "byte_fallback": True, "unk_token": "<unk>",
                         "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "▁": 4, "a": 5, "b": 6, "▁a": 7,
                                   "ab": 8, "▁ab": 9, "c": 10, "▁c": 11},
                         "merges": ["▁ a", "a b", "▁a b", "▁ c"]}},
              open(os.path.join(work, "tokenizer.json"), "w"), ensure_ascii=False)
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL:", what)

    for typ in ["f32", "q8_0"]:
        out = os.path.join(work, f"m-{typ}.gguf")
        subprocess.run([launcher, "convert", "--model", work, "--out", out, "--type", typ], check=True,
                       stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        r = GGUFReader(out)
        f = r.fields

        def val(k):
            fld = f[k]
            return fld.contents()

        check(val("general.architecture") == "llama", "architecture")
        for k, want in [("llama.block_count", L), ("llama.embedding_length", D), ("llama.feed_forward_length", F),
                        ("llama.attention.head_count", H), ("llama.attention.head_count_kv", KV),
                        ("llama.rope.dimension_count", HD), ("llama.context_length", 128)]:
            check(val(k) == want and f[k].types[0].name == "UINT32", k)
        check(abs(val("llama.attention.layer_norm_rms_epsilon") - 1e-5) < 1e-9, "eps")
        check(val("tokenizer.ggml.model") == "llama", "tokenizer model")
        check(val("tokenizer.ggml.tokens")[:4] == ["<unk>", "<s>", "</s>", "<0x0A>"], "tokens")
        check(val("tokenizer.ggml.token_type")[:5] == [2, 3, 3, 6, 1], "token types")
        check(val("tokenizer.ggml.bos_token_id") == 1, "bos")
        tensors = {x.name: x for x in r.tensors}
        check(len(tensors) == len(w), "tensor count")
        qt = GGMLQuantizationType.F32 if typ == "f32" else GGMLQuantizationType.Q8_0
        for hf, arr in w.items():
            g = (hf.replace("model.embed_tokens", "token_embd").replace("model.norm", "output_norm")
                 .replace("lm_head", "output").replace("model.layers.", "blk.")
                 .replace("input_layernorm", "attn_norm").replace("post_attention_layernorm", "ffn_norm")
                 .replace("self_attn.q_proj", "attn_q").replace("self_attn.k_proj", "attn_k")
                 .replace("self_attn.v_proj", "attn_v").replace("self_attn.o_proj", "attn_output")
                 .replace("mlp.gate_proj", "ffn_gate").replace("mlp.up_proj", "ffn_up")
                 .replace("mlp.down_proj", "ffn_down"))
            x = tensors[g]
            check(list(x.shape) == list(reversed(arr.shape)), g + " shape")
            ref = arr
            if hf.endswith("q_proj.weight"):
                ref = permute(arr, H, H)
            elif hf.endswith("k_proj.weight"):
                ref = permute(arr, H, KV)
            if arr.ndim == 1 or qt == GGMLQuantizationType.F32:
                check(x.tensor_type == GGMLQuantizationType.F32, g + " type")
                check(np.array_equal(np.asarray(x.data).reshape(ref.shape), ref), g + " data")
            else:
                check(x.tensor_type == qt, g + " type")
                check(np.asarray(x.data).tobytes() == quantize(ref, qt).tobytes(), g + " q8_0 bytes")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
