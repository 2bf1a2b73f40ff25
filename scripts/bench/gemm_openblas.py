#!/usr/bin/python3
"""PyTorch (OpenBLAS) GFLOP/s on the GEMM shapes of sparsa-bench's GemmBench: tiny-llama training products.

Usage: /usr/bin/python3 scripts/bench/gemm_openblas.py [--reps N] [--threads 1|2] [--shape NAME]
Runs itself once per thread count (1, 2, or the one given) with OPENBLAS_NUM_THREADS set (Debian's pthread
OpenBLAS ignores torch.set_num_threads) and prints one line per shape (all, or the one given) and thread count:
best and median GFLOP/s over N timed repetitions (default 15) of a loop long enough to take >= 20 ms. Shape names
match GemmBench's benchmark methods.
  fwd_<out>   Y[2048,out]  = X[2048,in] · W^T           (W [out, in]; torch.nn.functional.linear)
  dx_<out>    dX[2048,in]  = dY[2048,out] · W
  dw_<out>    dW[out,in]  += dY^T · X                   (addmm_, beta = 1)
  att_qk      S[256,256]   = Q_h · K_h^T  (hd 32; Q_h a column slice of [256, 256], K_h of [256, 128])
  att_pv      O_h[256,32]  = P · V_h
  att_ptv     dV_h[256,32] = P^T · dO_h
The attention products are also timed as one torch.bmm over 64 heads (what a batched trainer calls), per head.
Needs only Debian's python3-torch.
"""
import os
import subprocess
import sys
import time

import torch

LINEAR = {"512": 256, "1536": 256, "256": 768, "4096": 256}  # out -> in (qkv fused, gate+up fused, down, LM head)
T = 2048


def timeit(fn, reps):
    fn()
    fn()
    n = 1
    while True:  # calibrate a loop of >= 20 ms
        t = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t >= 0.02:
            break
        n *= 2
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t) / n)
    times.sort()
    return times[0], times[len(times) // 2]


def shapes():
    g = torch.Generator().manual_seed(0)
    r = lambda *s: torch.randn(*s, generator=g)
    for out, inn in LINEAR.items():
        x, w, dy, dw = r(T, inn), r(int(out), inn), r(T, int(out)), r(int(out), inn)
        yield f"fwd_{out}", 2 * T * int(out) * inn, lambda x=x, w=w: torch.nn.functional.linear(x, w)
        yield f"dx_{out}", 2 * T * int(out) * inn, lambda dy=dy, w=w: dy @ w
        yield f"dw_{out}", 2 * T * int(out) * inn, lambda dw=dw, dy=dy, x=x: dw.addmm_(dy.t(), x)
    tt, hd = 256, 32
    q, kv, p = r(tt, 8 * hd), r(tt, 4 * hd), r(tt, tt)
    qh, kh = q[:, hd:2 * hd], kv[:, hd:2 * hd]
    yield "att_qk", 2 * tt * tt * hd, lambda: qh @ kh.t()
    yield "att_pv", 2 * tt * tt * hd, lambda: p @ kh
    yield "att_ptv", 2 * tt * tt * hd, lambda: p.t() @ qh
    qb, kb, pb = r(64, tt, hd), r(64, tt, hd), r(64, tt, tt)
    yield "att_qk(bmm/64)", 64 * 2 * tt * tt * hd, lambda: torch.bmm(qb, kb.transpose(1, 2))
    yield "att_pv(bmm/64)", 64 * 2 * tt * tt * hd, lambda: torch.bmm(pb, kb)
    yield "att_ptv(bmm/64)", 64 * 2 * tt * tt * hd, lambda: torch.bmm(pb.transpose(1, 2), qb)


def run(threads, reps, only):
    torch.set_num_threads(threads)
    for name, flop, fn in shapes():
        if only and name != only:
            continue
        best, med = timeit(fn, reps)
        print(f"openblas {threads}t {name:16s} best {flop / best / 1e9:7.1f}  median {flop / med / 1e9:7.1f} GFLOP/s",
              flush=True)


def option(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


if __name__ == "__main__":
    reps = int(option("--reps", "15"))
    only = option("--shape", "")
    if "--child" in sys.argv:
        run(int(os.environ["OPENBLAS_NUM_THREADS"]), reps, only)
    else:
        print(f"torch {torch.__version__}")
        for th in [int(option("--threads", "0"))] if "--threads" in sys.argv else (1, 2):
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(th), OMP_NUM_THREADS=str(th))
            subprocess.run([sys.executable, __file__, "--child", "--reps", str(reps), "--shape", only], env=env,
                           check=True)
