"""Numba kernels of the exact grey-scale dilation (single-threaded, CPU).

Loop order: output row outer, taps middle, pixels inner. The inner loop is a contiguous,
branch-free max over one row (vectorised by LLVM to vaddps/vmaxps); the 2r+1 source rows
an output row needs stay in cache while all taps sweep over them. Plain IEEE float ops (no fastmath):
every value is ``fl(x + k)`` and the maximum is taken exactly, so the result is
bit-identical to the torch tap loop and to ``scipy.ndimage.grey_dilation`` fed the same
float32/float64 structuring values.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def dilate_padded(xp, dy, dx, kv, ry, rx, out):  # pragma: no cover - compiled
    """out[i, j] = max_t xp[i + ry + dy[t], j + rx + dx[t]] + kv[t] (xp padded by ry, rx).

    Four taps per pass over a row; the running maximum ping-pongs between two row
    buffers (an in-place ``o[j] = max(o[j], v)`` compiles to slow masked stores, the
    ping-pong to plain ``vmaxps``).
    """
    h, w = out.shape
    nt = kv.size
    b1 = np.empty(w, dtype=out.dtype)
    b2 = np.empty(w, dtype=out.dtype)
    for i in range(h):
        b1[:] = -np.inf
        t = 0
        while t + 3 < nt:
            s1 = xp[i + ry + dy[t], rx + dx[t]: rx + dx[t] + w]
            s2 = xp[i + ry + dy[t + 1], rx + dx[t + 1]: rx + dx[t + 1] + w]
            s3 = xp[i + ry + dy[t + 2], rx + dx[t + 2]: rx + dx[t + 2] + w]
            s4 = xp[i + ry + dy[t + 3], rx + dx[t + 3]: rx + dx[t + 3] + w]
            k1 = kv[t]
            k2 = kv[t + 1]
            k3 = kv[t + 2]
            k4 = kv[t + 3]
            for j in range(w):
                v = max(max(s1[j] + k1, s2[j] + k2), max(s3[j] + k3, s4[j] + k4))
                b2[j] = max(b1[j], v)
            b1, b2 = b2, b1
            t += 4
        while t < nt:
            s1 = xp[i + ry + dy[t], rx + dx[t]: rx + dx[t] + w]
            k1 = kv[t]
            for j in range(w):
                b2[j] = max(b1[j], s1[j] + k1)
            b1, b2 = b2, b1
            t += 1
        out[i, :] = b1


@njit(cache=True, nogil=True)
def dilate_padded_arg(xp, dy, dx, kv, ry, rx, out, arg):  # pragma: no cover - compiled
    """As :func:`dilate_padded`, also recording the winning tap (the first one on ties)."""
    h, w = out.shape
    nt = kv.size
    b1 = np.empty(w, dtype=out.dtype)
    b2 = np.empty(w, dtype=out.dtype)
    a1 = np.empty(w, dtype=np.int32)
    a2 = np.empty(w, dtype=np.int32)
    for i in range(h):
        b1[:] = -np.inf
        a1[:] = 0
        for t in range(nt):
            s1 = xp[i + ry + dy[t], rx + dx[t]: rx + dx[t] + w]
            k1 = kv[t]
            for j in range(w):
                v = s1[j] + k1
                better = v > b1[j]
                b2[j] = v if better else b1[j]
                a2[j] = t if better else a1[j]
            b1, b2 = b2, b1
            a1, a2 = a2, a1
        out[i, :] = b1
        arg[i, :] = a1


def dilate_numpy(x: np.ndarray, dy: np.ndarray, dx: np.ndarray, kv: np.ndarray,
                 ry: int, rx: int, with_arg: bool = False):
    """Dilate one (H, W) image by taps (dy, dx, kv) with half-sample symmetric boundaries."""
    x = np.ascontiguousarray(x)
    xp = np.pad(x, ((ry, ry), (rx, rx)), mode="symmetric")
    out = np.empty_like(x)
    kv = np.ascontiguousarray(kv, dtype=x.dtype)
    dy = np.ascontiguousarray(dy, dtype=np.int64)
    dx = np.ascontiguousarray(dx, dtype=np.int64)
    if not with_arg:
        dilate_padded(xp, dy, dx, kv, ry, rx, out)
        return out
    arg = np.empty(x.shape, dtype=np.int32)
    dilate_padded_arg(xp, dy, dx, kv, ry, rx, out, arg)
    return out, arg
