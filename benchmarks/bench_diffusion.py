"""Sampling time and PSNR of the diffusion models against the number of sampling steps.

    python benchmarks/bench_diffusion.py                        # CPU, small scale (< 2 min)
    python benchmarks/bench_diffusion.py --device cuda --size 512 --hparams paper \\
        --weights-pcsd results/models/simart/SEM/pcsd/best.pt --shard \\
        results/simart/shards/SEM/test/0000.h5

Prints, for ``pcsd`` (DDIM over the full chain from noise, physics guidance as configured)
and ``cond_ddpm`` (one sample; DDPM-avg costs ``n_samples`` times that), per number of
steps (1000, 250, 50, 20; capped at the model's T): the sampling time per image at
``--size`` and, when ``--size`` is not 512, the time per 512 x 512 image extrapolated by the
pixel count (labelled "est."; convolutions scale with the pixels, the bottleneck attention
somewhat faster), and the mean PSNR on a fixed small test set; plus the model's default
(embedded) sampling options as the last row.

Models: trained weights (``--weights-pcsd`` / ``--weights-cond``, a ``best.pt`` of the
pipeline) or, by default, the tiny default models trained here for ``--train-steps`` steps
on a fixed synthetic SEM problem (procedural images through the SIMART SEM operator +
noise); the test set is 4 more images of that problem (``--shard``: the first
``--n-test`` images of a SIMART test shard instead, with their operator parameters). On
CPU every thread pool is limited to ``--threads`` (default 1).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

if str(Path(__file__).resolve().parent) not in sys.path:  # _timing, also when imported by path
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import describe_device, hparams_table, set_threads, sync


def synthetic_sem(n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Procedural images (blobs and edges, [0, 1]) through the SEM operator + noise."""
    from simart import physics
    from simart.physics import DEFAULT_PARAM_SPECS

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    x = np.zeros((n, size, size), np.float32)
    for i in range(n):
        img = np.where(xx * rng.uniform(-1, 1) + yy * rng.uniform(-1, 1) > rng.uniform(-.5, .5),
                       0.3, 0.6)
        for _ in range(4):
            cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.15)
            img = img + 0.3 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
        x[i] = np.clip(img, 0, 1)
    spec = {**DEFAULT_PARAM_SPECS["SEM"], **DEFAULT_PARAM_SPECS["noise"]}
    rows = [physics.sample_params(spec, rng) for _ in range(n)]
    from simart.physics.dataset_ops import stack_params

    p = stack_params(rows)
    deg = physics.forward("SEM", torch.from_numpy(x)[:, None].double(), p).float()[:, 0]
    sig = p["gaussian_sigma"].numpy()[:, None, None]
    y = deg.numpy() + sig * rng.standard_normal(x.shape)
    return x, y.astype(np.float32), rows


def shard_images(path: str, n: int) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    from simart.data.shards import Shard
    from simart.physics.dataset_ops import param_names

    with Shard(path) as s:
        y, x, table = s.degraded()[:n], s.clean()[:n], s.params().iloc[:n]
        modality = str(s.attrs["modality"])
    names = param_names("simart", modality)
    rows = [{k: (int(r[k]) if k.endswith("_seed") else float(r[k])) for k in names}
            for r in table.to_dict("records")]
    return np.asarray(x, np.float32), np.asarray(y, np.float32), rows


def trained_model(name: str, weights: str | None, hparams: dict, train_steps: int,
                  device: torch.device, log):
    from simart.models import build_model

    if weights:
        from simart.train.loop import load_trained

        return load_trained(weights, device=device)
    from simart.train.data import ArrayTrainData
    from simart.train.loop import TrainSettings, train

    x, y, rows = synthetic_sem(32, 32, seed=0)
    data = ArrayTrainData(y, x, params=rows)
    s = TrainSettings.from_mapping({
        "steps": train_steps, "batch_size": 8, "patch_size": 32, "lr": 3e-3,
        "warmup_steps": 10, "checkpoint_every": 0, "val_every": 0, "val_images": 0,
        "log_every": max(1, train_steps), "seed": 0, "device": device.type, "threads": 0})
    torch.manual_seed(0)
    model = build_model(name, hparams)
    import tempfile

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        train(model, data, None, s, tmp, identity={"model": name, "hparams": model.hparams})
    log(f"# trained {name} ({hparams and 'given' or 'default'} hparams) for {train_steps} "
        f"steps on the synthetic SEM problem in {time.perf_counter() - t0:.1f} s")
    return model.to(device).eval()


def psnr(pred: torch.Tensor, x: torch.Tensor) -> float:
    mse = ((pred.float().clamp(0, 1) - x) ** 2).mean(dim=(1, 2, 3))
    return float((10 * torch.log10(1.0 / mse)).mean())


def run_config(model, y, x, params, options: dict, device, repeat: int = 1):
    from simart.models.base import run_predict

    model.set_sampling(**options)
    times, out = [], None
    for _ in range(repeat):
        gen = torch.Generator(device=device).manual_seed(0)
        sync(device)
        t0 = time.perf_counter()
        with torch.no_grad():
            out, _ = run_predict(model, y, None, params=params, gen=gen)
        sync(device)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) / len(y), psnr(out, x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hparams", choices=["default", "paper"], default="default")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--size", type=int, default=None,
                    help="test image side (default: 32 on CPU, 512 on CUDA)")
    ap.add_argument("--steps", type=int, nargs="*", default=[1000, 250, 50, 20])
    ap.add_argument("--models", nargs="*", default=["pcsd", "cond_ddpm"])
    ap.add_argument("--n-test", type=int, default=4)
    ap.add_argument("--shard", default=None, help="a SIMART test shard (.h5) as test set")
    ap.add_argument("--weights-pcsd", default=None)
    ap.add_argument("--weights-cond", default=None)
    ap.add_argument("--train-steps", type=int, default=150)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    logging.disable(logging.WARNING)
    set_threads(a.threads)
    from simart.physics.dataset_ops import stack_params

    device = torch.device(a.device)
    size = a.size or (512 if device.type == "cuda" else 32)
    if a.shard:
        x, y, rows = shard_images(a.shard, a.n_test)
        x, y = x[:, :size, :size], y[:, :size, :size]
    else:
        x, y, rows = synthetic_sem(a.n_test, size, seed=123)
    xt = torch.from_numpy(np.ascontiguousarray(x))[:, None].to(device)
    yt = torch.from_numpy(np.ascontiguousarray(y))[:, None].to(device)
    params = {k: v.to(device) for k, v in stack_params(rows).items()}
    where = describe_device(device, a.threads)
    print(f"# {a.hparams} hparams on {where}; {len(yt)} test images of {size}^2 "
          f"({'shard ' + a.shard if a.shard else 'synthetic SEM'}); noisy input PSNR "
          f"{psnr(yt, xt):.2f} dB")
    scale = (512 / size) ** 2
    head = f"{'model':<10} {'sampling':<52} {'s/img':>9} {'s/512^2':>12} {'PSNR dB':>8}"
    print(head)
    table = hparams_table(a.hparams)
    for name in a.models:
        weights = a.weights_pcsd if name.startswith("pcsd") else a.weights_cond
        hp = {} if a.hparams == "default" else dict(table[name])
        model = trained_model(name, weights, hp, a.train_steps, device, print)
        defaults = dict(model.sampling)
        T = model.sched.T
        base = {"n_samples": 1, "start": 1.0, "stop": 0.0, "sampler": "ddim"}
        rows_out = []
        for steps in sorted({min(s, T) for s in a.steps}, reverse=True):
            opts = {**base, "steps": steps}
            rows_out.append((f"ddim {steps} (full chain)", opts))
        rows_out.append(("default: " + ", ".join(
            f"{k}={defaults[k]}" for k in ("steps", "start", "stop", "n_samples")
            if k in defaults), defaults))
        for label, opts in rows_out:
            t, p = run_config(model, yt, xt, params if "params" in model.predict_needs
                              else None, opts, device)
            est = f"{t * scale:9.2f} est." if size != 512 else f"{t:12.2f}"
            print(f"{name:<10} {label:<52} {t:9.3f} {est:>12} {p:8.2f}", flush=True)
        model.set_sampling(**defaults)


if __name__ == "__main__":
    main()
