"""Seconds per image for the metric suite: ours (batched torch) vs per-image reference code.

    python benchmarks/bench_metrics.py                      # 1,000 pairs of 512², CPU
    python benchmarks/bench_metrics.py --n 200 --n-ref 20   # quicker
    python benchmarks/bench_metrics.py --device cuda        # GPU figure (also run by default
                                                            # when CUDA is present)

Pairs: procedural band-limited scenes in [0, 1] (clean) and the same plus Gaussian noise of
σ = 0.01 … 0.2, clipped (prediction). Ours: every metric of the suite on batches of
``--batch`` images in float64 (``--dtype``), timed per metric, all ``--n`` pairs. References,
one image at a time, on the first ``--n-ref`` pairs of the same data in the same run:
scikit-image (PSNR, SSIM, MSE, NRMSE ×3), NumPy (MAE), scipy.stats.pearsonr, torchmetrics
(MS-SSIM; compared with our torchmetrics-compatible ``border='reflect'`` mode, timed in our
default mode), pypiqe (PIQE), the brisque package (BRISQUE). "max |Δ|" is the largest
difference between ours and the reference on those pairs. Metrics without a package
reference (EPI, FRC, FSC, power-spectrum similarity) are timed for ours only. LPIPS is
timed only if its backbone is present (``--lpips-backbone`` or the torch cache).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections import defaultdict

import numpy as np
import torch

from simart.metrics import METRICS, MetricUnavailable
from simart.metrics import full_reference as fr
from simart.metrics import lpips as lp

SUITE = ["psnr", "ssim", "ms_ssim", "lpips", "mae", "mse", "nrmse_range", "nrmse_euclidean",
         "nrmse_mean", "pearson", "epi_corr", "epi_ratio", "frc_res_px", "frc_res_nm", "fsc",
         "pss", "piqe", "brisque"]


def make_batch(start: int, count: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pred, clean, pixel_size_nm) for pairs ``start … start+count-1`` (seeded per pair)."""
    k = np.fft.fftfreq(size)
    radius = np.sqrt(k[:, None] ** 2 + k[None, :] ** 2)
    preds, cleans, sizes = [], [], []
    for i in range(start, start + count):
        rng = np.random.default_rng([2026, i])
        f = np.fft.fft2(rng.standard_normal((size, size)))
        img = np.fft.ifft2(f / (radius + 0.01) ** 1.4).real
        img = (img - img.min()) / (img.max() - img.min())
        sigma = 0.01 + 0.19 * rng.random()
        preds.append(np.clip(img + sigma * rng.standard_normal(img.shape), 0, 1))
        cleans.append(img)
        sizes.append(0.05 + rng.random())
    return np.stack(preds), np.stack(cleans), np.array(sizes)


def run_ours(names: list[str], n: int, size: int, batch: int, chunk: int, device: str,
             dtype: torch.dtype, backbone: str | None
             ) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Total seconds per metric over n pairs (metric calls on ``chunk`` images), all values."""
    seconds: dict[str, float] = defaultdict(float)
    values: dict[str, list[np.ndarray]] = defaultdict(list)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for start in range(0, n, batch):
        p, c, s = make_batch(start, min(batch, n - start), size)
        x = torch.from_numpy(p)[:, None].to(device=device, dtype=dtype)
        ref = torch.from_numpy(c)[:, None].to(device=device, dtype=dtype)
        px = torch.from_numpy(s).to(device=device, dtype=dtype)
        sync()
        for name in names:
            e = METRICS[name]
            t0 = time.perf_counter()
            out = []
            for i in range(0, len(x), chunk):
                sl = slice(i, i + chunk)
                kw = {"pixel_size_nm": px[sl]} if "pixel_size_nm" in e.needs else {}
                if "lpips_backbone" in e.needs:
                    kw["lpips_backbone"] = backbone
                with torch.no_grad():
                    out.append(e.fn(x[sl]) if e.kind == "no_reference"
                               else e.fn(x[sl], ref[sl], **kw))
            sync()
            seconds[name] += time.perf_counter() - t0
            values[name].append(torch.cat(out).double().cpu().numpy())
    return dict(seconds), {k: np.concatenate(v) for k, v in values.items()}


def reference_functions() -> dict[str, tuple[str, object]]:
    """name -> (label, fn(pred, clean) -> float), per image, NumPy in."""
    from scipy.stats import pearsonr
    from skimage.metrics import mean_squared_error, normalized_root_mse
    from skimage.metrics import peak_signal_noise_ratio as sk_psnr
    from skimage.metrics import structural_similarity as sk_ssim

    refs: dict[str, tuple[str, object]] = {
        "psnr": ("skimage", lambda p, c: sk_psnr(c, p, data_range=1.0)),
        "ssim": ("skimage", lambda p, c: sk_ssim(c, p, data_range=1.0, gaussian_weights=True,
                                                 sigma=1.5, use_sample_covariance=False)),
        "mae": ("numpy", lambda p, c: float(np.abs(p - c).mean())),
        "mse": ("skimage", lambda p, c: mean_squared_error(c, p)),
        "nrmse_range": ("skimage", lambda p, c: normalized_root_mse(c, p,
                                                                    normalization="min-max")),
        "nrmse_euclidean": ("skimage", lambda p, c: normalized_root_mse(c, p)),
        "nrmse_mean": ("skimage", lambda p, c: normalized_root_mse(c, p, normalization="mean")),
        "pearson": ("scipy", lambda p, c: pearsonr(p.ravel(), c.ravel()).statistic),
    }
    try:
        from torchmetrics.functional.image import multiscale_structural_similarity_index_measure

        def tm_msssim(p, c):
            t = lambda a: torch.from_numpy(a)[None, None]
            return multiscale_structural_similarity_index_measure(
                t(p), t(c), data_range=1.0, reduction="none").item()

        refs["ms_ssim"] = ("torchmetrics", tm_msssim)
    except ImportError:
        pass
    try:
        from pypiqe import piqe as ref_piqe

        refs["piqe"] = ("pypiqe", lambda p, c: ref_piqe(p)[0])
    except ImportError:
        pass
    try:
        from brisque import BRISQUE

        class Fixed(BRISQUE):  # the package's numpy-2.4 crash worked around, nothing else
            def scale_features(self, features):
                return super().scale_features([np.ravel(f)[0] for f in features])

        model = Fixed(url=False)
        refs["brisque"] = ("brisque pkg", lambda p, c: model.score(np.repeat(p[..., None], 3, -1)))
    except ImportError:
        pass
    return refs


def ours_for_comparison(name: str, p: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Our values in the reference's convention (MS-SSIM: torchmetrics' reflect border)."""
    x, ref = torch.from_numpy(p)[:, None], torch.from_numpy(c)[:, None]
    if name == "ms_ssim":
        return fr.ms_ssim(x, ref, border="reflect").numpy()
    raise KeyError(name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="pairs for ours (default 1000)")
    ap.add_argument("--n-ref", type=int, default=50, help="pairs for the per-image references")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--batch", type=int, default=16, help="pairs generated and moved at once")
    ap.add_argument("--chunk", type=int, default=None,
                    help="images per metric call (default: 2^18 px on CPU, the whole batch "
                         "on GPU, as simart.metrics.compute_metrics does)")
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--device", default="cpu", help="cpu | cuda (CPU always runs first)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (default 1: per core, like the single-threaded "
                         "references; the pipeline's score jobs also run with 1)")
    ap.add_argument("--lpips-backbone", default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    dtype = getattr(torch, args.dtype)
    names = list(SUITE)
    try:
        lp.verify_backbone(args.lpips_backbone or lp.default_backbone_path())
    except MetricUnavailable as exc:
        names.remove("lpips")
        print(f"LPIPS not timed: {exc}\n")
    n_ref = min(args.n_ref, args.n)
    print(f"{args.n} pairs of {args.size}x{args.size} ({args.dtype}; CPU: metric calls on "
          f"{args.chunk or max(1, (1 << 18) // args.size**2)} image(s) at a time), "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; references on "
          f"the first {n_ref} pairs, one image at a time\n")

    cpu_chunk = args.chunk or max(1, (1 << 18) // args.size**2)
    ours_s, ours_v = run_ours(names, args.n, args.size, args.batch, cpu_chunk, "cpu", dtype,
                              args.lpips_backbone)
    refs = reference_functions()
    p, c, _ = make_batch(0, n_ref, args.size)
    ref_s, ref_diff, ref_label = {}, {}, {}
    for name in names:
        if name not in refs:
            continue
        label, fn = refs[name]
        t0 = time.perf_counter()
        vals = np.array([fn(p[i], c[i]) for i in range(n_ref)], dtype=np.float64)
        ref_s[name] = (time.perf_counter() - t0) / n_ref
        mine = (ours_for_comparison(name, p, c) if name == "ms_ssim"
                else ours_v[name][:n_ref])
        ref_diff[name] = float(np.max(np.abs(mine - vals)))
        ref_label[name] = label

    header = f"{'metric':<16}{'ours s/img':>12}{'reference':>15}{'ref s/img':>12}" \
             f"{'speed-up':>10}{'max |Δ|':>11}"
    print(header)
    print("-" * len(header))
    tot_ours = tot_ref = tot_ours_all = 0.0
    for name in names:
        o = ours_s[name] / args.n
        tot_ours_all += o
        if name in ref_s:
            tot_ours += o
            tot_ref += ref_s[name]
            print(f"{name:<16}{o:>12.2e}{ref_label[name]:>15}{ref_s[name]:>12.2e}"
                  f"{ref_s[name] / o:>9.1f}x{ref_diff[name]:>11.1e}")
        else:
            print(f"{name:<16}{o:>12.2e}{'-':>15}{'-':>12}{'-':>10}{'-':>11}")
    print("-" * len(header))
    print(f"{'with reference':<16}{tot_ours:>12.2e}{'':>15}{tot_ref:>12.2e}"
          f"{tot_ref / tot_ours:>9.1f}x")
    if "ms_ssim" in ref_s:  # the slowest reference (float64 conv2d), shown without it too
        o2, r2 = tot_ours - ours_s["ms_ssim"] / args.n, tot_ref - ref_s["ms_ssim"]
        print(f"{'  w/o MS-SSIM':<16}{o2:>12.2e}{'':>15}{r2:>12.2e}{r2 / o2:>9.1f}x")
    print(f"{'whole suite':<16}{tot_ours_all:>12.2e}   (ours, all {len(names)} metrics, "
          f"{args.n} pairs in {sum(ours_s.values()):.1f} s)")

    if args.device.startswith("cuda") or torch.cuda.is_available():
        if not torch.cuda.is_available():
            print("\nCUDA requested but not available")
            return
        dev = "cuda"
        gpu_chunk = args.chunk or args.batch
        run_ours(names, min(args.n, 2 * args.batch), args.size, args.batch, gpu_chunk, dev,
                 dtype, args.lpips_backbone)  # warm-up (kernels, cuFFT plans)
        for dt in (dtype, torch.float32) if dtype != torch.float32 else (dtype,):
            gpu_s, gpu_v = run_ours(names, args.n, args.size, args.batch, gpu_chunk, dev, dt,
                                    args.lpips_backbone)
            worst = max(float(np.nanmax(np.abs(gpu_v[k] - ours_v[k]) / np.maximum(
                1.0, np.abs(ours_v[k])))) for k in names if k not in ("piqe",))
            print(f"\nGPU {torch.cuda.get_device_name()} ({str(dt).removeprefix('torch.')}): "
                  f"whole suite {sum(gpu_s.values()) / args.n:.2e} s/img "
                  f"(CPU {tot_ours_all:.2e}); max rel. difference to CPU float64 "
                  f"(PIQE aside: integer rounding + thresholds) {worst:.1e}")
            for name in names:
                print(f"  {name:<16}{gpu_s[name] / args.n:>10.2e} s/img")


if __name__ == "__main__":
    main()
