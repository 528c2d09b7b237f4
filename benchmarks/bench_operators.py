"""Throughput of the SIMART operators on ONE CPU core: operator + noise + shard write.

    python benchmarks/bench_operators.py --size 512 --n 8

Prints, per modality, images/s (median of ``--repeat`` passes) and the projected core-hours for SIMART-1M (250,000
images per modality), and for AFM the speed of the exact dilation against
``scipy.ndimage.grey_dilation`` with the same structuring function on a 101x101 tip
footprint (with a bit-equality check). Every thread pool is limited to one thread (the
process is not pinned, so a busy neighbour core does not slow it). The no-grad CPU path
is timed, as the dataset builder runs it. With CUDA present, the torch GPU path is timed.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.ndimage as ndi
import torch

from simart import physics

IMAGES_PER_MODALITY = 250_000


def clean_images(n: int, size: int, seed: int) -> np.ndarray:
    """Procedural clean images in [0, 1]: smooth random relief plus discs and steps."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, size, size), np.float32)
    yy, xx = np.mgrid[:size, :size]
    for i in range(n):
        img = ndi.gaussian_filter(rng.standard_normal((size, size)), size / 40)
        for _ in range(12):
            cy, cx, r = rng.uniform(0, size, 2).tolist() + [rng.uniform(size / 60, size / 15)]
            img += 2 * img.std() * ((yy - cy) ** 2 + (xx - cx) ** 2 < r * r)
        img += img.std() * (xx > rng.uniform(0, size))
        out[i] = (img - img.min()) / (img.max() - img.min())
    return out


def _rows(modality: str, n: int, rng: np.random.Generator) -> list[dict]:
    spec = {**physics.DEFAULT_PARAM_SPECS[modality], **physics.DEFAULT_PARAM_SPECS["noise"]}
    rows = []
    for _ in range(n):
        r = physics.sample_params(spec, rng)
        r["noise_seed"] = int(rng.integers(2**62))
        if modality == "STEM":
            r["scan_seed"] = int(rng.integers(2**62))
        rows.append(r)
    return rows


def _batch(rows: list[dict], device: str = "cpu") -> dict[str, torch.Tensor]:
    out = {}
    for k in rows[0]:
        dt = torch.int64 if k.endswith("_seed") else torch.float64
        out[k] = torch.tensor([r[k] for r in rows], dtype=dt, device=device)
    return out


def _writer():
    try:
        from simart.data.shards import write_shard
    except ImportError:  # pragma: no cover - fallback while the shard module is missing
        import h5py

        def write_shard(path, clean, degraded, params, attrs=None):
            with h5py.File(path, "w") as f:
                for name, a in (("clean", clean), ("degraded", degraded)):
                    f.create_dataset(name, data=a, chunks=(1, *a.shape[1:]), compression="lzf")
                for c in params.columns:
                    f.create_dataset(f"params/{c}", data=params[c].to_numpy())
        return write_shard, "equivalent h5py write (lzf, float32)"
    return write_shard, "simart.data.shards.write_shard (lzf, float32, + parquet)"


def run_modality(modality: str, clean: np.ndarray, rows: list[dict], out_dir: Path,
                 write_shard) -> dict[str, float]:
    x = torch.from_numpy(clean)[:, None]
    p = _batch(rows)
    t0 = time.perf_counter()
    with torch.no_grad():
        y = physics.forward(modality, x, p)
    t1 = time.perf_counter()
    gens = [torch.Generator().manual_seed(r["noise_seed"]) for r in rows]
    noisy = physics.add_noise(y, p["poisson_counts"], p["gaussian_sigma"], gens)
    t2 = time.perf_counter()
    table = pd.DataFrame(rows).assign(modality=modality)
    write_shard(out_dir / f"{modality}.h5", clean, noisy[:, 0].numpy(), table,
                {"modality": modality})
    t3 = time.perf_counter()
    return {"operator": t1 - t0, "noise": t2 - t1, "write": t3 - t2, "total": t3 - t0}


def afm_vs_scipy(size: int, seed: int) -> None:
    k = physics.tip_kernel(20.0, 40.0, 0.5, 20.0, max_radius_px=50)
    assert k.shape == (101, 101), k.shape
    x = clean_images(1, size, seed)[0]
    k32 = k.astype(np.float32)
    physics.dilate_exact(x[:64, :64], k32)  # compile / load the numba cache
    ours = []
    for _ in range(3):
        t = time.perf_counter()
        y = physics.dilate_exact(x, k32)
        ours.append(time.perf_counter() - t)
    t = time.perf_counter()
    ref = ndi.grey_dilation(x, structure=k32[::-1, ::-1], mode="reflect")
    t_scipy = time.perf_counter() - t
    n_taps = int(np.isfinite(k).sum())
    print(f"\nAFM exact dilation, {size}x{size} float32, 101x101 footprint ({n_taps} taps in "
          f"the disk, {k.size} in the square):")
    print(f"  simart (numba, 1 thread): {min(ours) * 1e3:8.1f} ms (best of 3)")
    print(f"  scipy grey_dilation     : {t_scipy * 1e3:8.1f} ms")
    print(f"  speed-up                : {t_scipy / min(ours):8.1f}x   "
          f"bit-equal: {np.array_equal(y, ref)}")


def gpu_timing(modality: str, clean: np.ndarray, rows: list[dict]) -> float:
    x = torch.from_numpy(clean)[:, None].cuda()
    p = _batch(rows, "cuda")
    with torch.no_grad():
        physics.forward(modality, x, p)
        torch.cuda.synchronize()
        t = time.perf_counter()
        physics.forward(modality, x, p)
        torch.cuda.synchronize()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--n", type=int, default=8, help="images per modality")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="timed passes (median reported)")
    ap.add_argument("--skip-scipy", action="store_true", help="skip the scipy comparison")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    write_shard, writer = _writer()
    print(f"torch {torch.__version__}, 1 thread (torch, numba, scipy.fft workers=1); "
          f"{args.n} images/modality at {args.size}x{args.size}; write: {writer}")
    clean = clean_images(args.n, args.size, args.seed)
    rng = np.random.default_rng(args.seed)
    rows = {m: _rows(m, args.n, rng) for m in physics.MODALITIES}
    total_hours = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for m in physics.MODALITIES:  # warm-up: numba cache, FFT plans, allocator
            run_modality(m, clean[:2], rows[m][:2], out, write_shard)
        print(f"\n{'modality':8s} {'operator':>9s} {'noise':>7s} {'write':>7s} "
              f"{'img/s':>7s} {'core-h / 250k':>14s}   (ms per image)")
        for m in physics.MODALITIES:
            runs = [run_modality(m, clean, rows[m], out, write_shard) for _ in range(args.repeat)]
            t = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
            ips = args.n / t["total"]
            hours = IMAGES_PER_MODALITY / ips / 3600
            total_hours += hours
            ms = {k: v / args.n * 1e3 for k, v in t.items()}
            print(f"{m:8s} {ms['operator']:9.1f} {ms['noise']:7.1f} {ms['write']:7.1f} "
                  f"{ips:7.2f} {hours:14.2f}")
    print(f"SIMART-1M projected (4 x {IMAGES_PER_MODALITY:,} images at {args.size}^2): "
          f"{total_hours:.1f} core-hours (target <= 20)")
    afm_taps = [np.isfinite(physics.tip_kernel(r["tip_radius_nm"], r["tip_half_angle_deg"],
                                               r["pixel_size_nm"], r["height_scale_nm"])).sum()
                for r in rows["AFM"]]
    print(f"AFM tips in this sample: {min(afm_taps)}-{max(afm_taps)} taps "
          f"(mean {np.mean(afm_taps):.0f})")
    if torch.cuda.is_available():
        print(f"\nGPU ({torch.cuda.get_device_name()}), forward only, batch of {args.n}:")
        for m in physics.MODALITIES:
            dt = gpu_timing(m, clean, rows[m])
            print(f"  {m:5s} {dt / args.n * 1e3:8.2f} ms/image  {args.n / dt:8.1f} img/s")
    if not args.skip_scipy:
        afm_vs_scipy(args.size, args.seed)


if __name__ == "__main__":
    main()
