#!/usr/bin/python3
"""Independent reference for Sparsa's zero sparsity and CETT sparsity (docs/ARCHITECTURE.md §6), in PyTorch (float64).

Reads activations dumped by Sparsa's CettReferenceTest into sparsa-core/target/reference-cett (h_<name>.npy: T x F
FFN intermediates, down_<name>.npy: F x D with row i = d_i, and meta.json listing the names and CETT targets) and
writes a JSON file (committed as sparsa-core/src/test/resources/reference/cett-reference.json) with, per
layer: per-token zero sparsity, per-token CETT sparsity (largest reachable k with CETT <= c), and the per-layer
calibrated sparsity (threshold = the largest eps whose mean CETT over the tokens is <= c, found exhaustively).

Usage: ./sparsa test -pl sparsa-core -Dtest=CettReferenceTest   (writes the dumps)
       /usr/bin/python3 scripts/reference/cett_reference.py sparsa-core/target/reference-cett \
           sparsa-core/src/test/resources/reference/cett-reference.json
Needs only Debian's python3-torch and python3-numpy.
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch


def cett_curves(h, down):
    """h: T x F, down: F x D (float64). Returns sorted m (T x F) and cett (T x F+1) after removing k smallest."""
    norms = torch.linalg.norm(down, dim=1)                       # ||d_i||
    m = h.abs() * norms                                          # m_i = |h_i| ||d_i||
    # Stable sort by m, ties broken by index (like Sparsa's packed (m bits, index) key sort).
    order = torch.from_numpy(np.lexsort((np.arange(m.shape[1])[None, :].repeat(m.shape[0], 0), m.numpy()), axis=1))
    sm = torch.gather(m, 1, order)
    hs = h.gather(1, order)
    res = torch.empty_like(m)
    total = torch.empty(m.shape[0], dtype=torch.float64)
    for a in range(0, m.shape[0], 8):                            # 8 tokens at a time: T x F x D can be large
        contrib = hs[a:a + 8, :, None] * down[order[a:a + 8]]    # h_i d_i in ascending m
        partial = torch.cumsum(contrib, dim=1)                   # residual after removing k+1 smallest
        total[a:a + 8] = torch.linalg.norm(partial[:, -1, :], dim=1)   # ||y||
        res[a:a + 8] = torch.linalg.norm(partial, dim=2)
    cett = torch.zeros(h.shape[0], h.shape[1] + 1, dtype=torch.float64)
    ok = total > 0
    cett[ok, 1:] = res[ok] / total[ok, None]
    return sm, cett, ok


def per_token_sparsity(sm, cett, ok, c):
    t, f = sm.shape
    reach = torch.ones(t, f + 1, dtype=torch.bool)
    reach[:, 1:f] = sm[:, :-1] < sm[:, 1:]
    valid = (cett <= c) & reach
    ks = torch.arange(f + 1).expand(t, f + 1)
    k = torch.where(valid, ks, torch.zeros_like(ks)).max(dim=1).values
    out = k.double() / f
    out[~ok] = 1.0                                               # y = 0: nothing to lose
    return out


def calibrated_sparsity(sm, cett, ok, c):
    """Largest eps whose mean CETT over the tokens is <= c, exhaustively over the step function.

    Removing the entries with m < eps: the mean is constant between consecutive distinct m values, and jumps at each
    value v by the CETT changes of every token entry equal to v. Returns (mean fraction of m < eps, eps)."""
    t, f = sm.shape
    vals = sm.flatten()
    deltas = (cett[:, 1:] - cett[:, :-1]).flatten()
    order = torch.from_numpy(np.argsort(vals.numpy(), kind='stable'))
    v = vals[order]
    cd = torch.cumsum(deltas[order], dim=0)
    uniq, first = np.unique(v.numpy(), return_index=True)
    before = np.where(first > 0, cd.numpy()[np.maximum(first - 1, 0)], 0.0) / t   # mean with all m < u removed
    if cd[-1].item() / t <= c:
        return 1.0, float('inf')
    ok_idx = np.nonzero(before <= c)[0]
    eps = float(uniq[ok_idx[-1]])
    below = (sm < eps).sum(dim=1).double() / f
    return below.mean().item(), eps


def main(folder, out_file):
    folder = Path(folder)
    meta = json.loads((folder / 'meta.json').read_text())
    out = {'generator': 'scripts/reference/cett_reference.py', 'torch': torch.__version__, 'numpy': np.__version__,
           'layers': {}}
    for name in meta['names']:
        h = torch.from_numpy(np.load(folder / f'h_{name}.npy').astype(np.float64))
        down = torch.from_numpy(np.load(folder / f'down_{name}.npy').astype(np.float64))
        zero = (h == 0).double().mean(dim=1)
        sm, cett, ok = cett_curves(h, down)
        layer = {'tokens': h.shape[0], 'F': h.shape[1], 'D': down.shape[1],
                 'zeroSparsity': zero.tolist(), 'cett': {}}
        for c in meta['targets']:
            s = per_token_sparsity(sm, cett, ok, c)
            cal, eps = calibrated_sparsity(sm, cett, ok, c)
            layer['cett'][str(c)] = {'perToken': s.tolist(), 'perTokenMean': s.mean().item(),
                                     'calibratedMean': cal, 'calibratedEpsilon': eps}
        out['layers'][name] = layer
        print(f"{name}: T={h.shape[0]} F={h.shape[1]} zero={zero.mean().item():.4f} "
              + " ".join(f"cett{c}={layer['cett'][str(c)]['perTokenMean']:.4f}/{layer['cett'][str(c)]['calibratedMean']:.4f}"
                         for c in meta['targets']))
    Path(out_file).write_text(json.dumps(out, indent=1) + '\n')
    print(f"wrote {out_file}")


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else 'sparsa-core/target/reference-cett',
         sys.argv[2] if len(sys.argv) > 2 else 'sparsa-core/src/test/resources/reference/cett-reference.json')
