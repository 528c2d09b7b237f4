"""Training throughput and inference time of every learned model (CPU; and GPU if present).

    python benchmarks/bench_models.py                      # default (embedded) hparams, CPU
    python benchmarks/bench_models.py --hparams paper      # the papers' architectures
    python benchmarks/bench_models.py --device cuda --hparams paper --batch 32 --patch 256
    python benchmarks/bench_models.py --models unet pcsd cyclegan --steps 1 --repeat 1

Every model of ``simart.models.MODEL_REGISTRY`` (or ``--models``): CNNs, diffusion models,
GANs. Prints, per model: parameters; one training update as the training loop runs it
(``benchmarks/_timing.py``: ``TrainStepper`` -- the loop's optimiser, gradient clipping and
LR schedule; a GAN's ``training_step(batch, gen, update)`` updating each optimiser group)
on a random ``--batch`` x ``--patch``^2 batch holding every field the model reads (``x``,
``y2`` for Noise2Noise, ``u`` / ``xu`` for the unpaired models, operator ``params`` drawn
from the physics samplers of the dataset the model runs on for PCSD / PI-DDPM), in ms per
step and images/s (median of ``--steps`` timed steps after 2 warm-up steps); and inference
time per ``--size``^2 image (default 512; ``simart.models.base.run_predict`` on one image
with the params / generator the model's ``predict_needs`` declares, default sampling
options; median of ``--repeat`` after a warm-up). On CPU every thread pool is limited to
``--threads`` (default 1: the figure per core, as the embedded run uses). On CUDA: the
loop's mixed precision (``--amp``) and the peak memory of training and of inference.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import torch

if str(Path(__file__).resolve().parent) not in sys.path:  # _timing, also when imported by path
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import (
    TrainStepper,
    add_common_args,
    describe_device,
    hparams_table,
    median_seconds,
    peak_memory_mb,
    reset_peak_memory,
    set_threads,
    synthetic_batch,
)

WARMUP_STEPS = 2


def bench_model(name: str, hparams: dict | None = None, device: torch.device | str = "cpu",
                batch: int = 8, patch: int = 64, steps: int = 5, repeat: int = 3,
                size: int = 512, amp: bool = False, warmup: int = WARMUP_STEPS) -> dict:
    """Parameters, training (``step_ms``, ``train_images_per_s``) and inference
    (``infer_s_per_image``) time of model ``name`` built from ``hparams``; on CUDA also
    ``train_peak_mb`` / ``infer_peak_mb``."""
    from simart.models import build_model, n_parameters
    from simart.models.base import run_predict

    device = torch.device(device)
    torch.manual_seed(0)
    net = build_model(name, hparams)
    stepper = TrainStepper(net, device, amp=amp)  # channels-last, train mode, optimisers
    b = synthetic_batch(net, batch, patch, seed=0).to(device)
    reset_peak_memory(device)
    step = median_seconds(lambda k: stepper(b, k), device, steps, warmup)
    train_peak = peak_memory_mb(device)

    net.eval()
    img = torch.rand((1, 1, size, size), generator=torch.Generator().manual_seed(1))
    img = img.to(device).contiguous(memory_format=torch.channels_last)
    # the image's params / subset: what a test image of the model's dataset carries
    extra = synthetic_batch(net, 1, 1, seed=1, predict=True)
    subset = extra.subset.to(device)
    params = None if extra.params is None else {k: v.to(device)
                                                for k, v in extra.params.items()}

    def predict(_k: int) -> None:
        gen = torch.Generator(device=device).manual_seed(0)
        with torch.no_grad(), stepper.autocast():
            run_predict(net, img, subset, params=params, gen=gen)

    reset_peak_memory(device)
    infer = median_seconds(predict, device, repeat, warmup=1)
    out = {"model": name, "params": n_parameters(net), "step_ms": 1000 * step,
           "train_images_per_s": batch / step, "infer_s_per_image": infer}
    if device.type == "cuda":
        out["train_peak_mb"], out["infer_peak_mb"] = train_peak, peak_memory_mb(device)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(ap, device="cuda" if torch.cuda.is_available() else "cpu", batch=8,
                    patch=64, size=512)
    ap.add_argument("--models", nargs="*", default=None,
                    help="default: every model of MODEL_REGISTRY")
    a = ap.parse_args()
    set_threads(a.threads)
    logging.disable(logging.WARNING)  # e.g. PCSD without VGG weights: perceptual term off
    from simart.models import MODEL_REGISTRY

    table = hparams_table(a.hparams)
    device = torch.device(a.device)
    cuda = device.type == "cuda"
    names = a.models or list(MODEL_REGISTRY)
    w = max(10, *map(len, names))
    print(f"# {a.hparams} hparams on {describe_device(device, a.threads)}; training batch "
          f"{a.batch} x {a.patch}^2 (one update as the training loop runs it), inference on "
          f"one {a.size}^2 image{' (amp)' if a.amp and cuda else ''}")
    print(f"{'model':<{w}} {'params':>11} {'ms/step':>9} {'train img/s':>12} "
          f"{'infer s/img':>12}" + (f" {'train MB':>9} {'infer MB':>9}" if cuda else ""))
    failed = []
    for name in names:
        try:
            r = bench_model(name, table[name], device, a.batch, a.patch, a.steps, a.repeat,
                            a.size, a.amp and cuda)
        except Exception as exc:  # noqa: BLE001 -- report and go on with the next model
            failed.append(name)
            print(f"{name:<{w}} failed: {type(exc).__name__}: {exc}", flush=True)
            continue
        line = (f"{name:<{w}} {r['params']:>11,d} {r['step_ms']:>9.1f} "
                f"{r['train_images_per_s']:>12.1f} {r['infer_s_per_image']:>12.4f}")
        if cuda:
            line += f" {r['train_peak_mb']:>9.0f} {r['infer_peak_mb']:>9.0f}"
        print(line, flush=True)
    if failed:
        sys.exit(f"failed: {failed}")


if __name__ == "__main__":
    main()
