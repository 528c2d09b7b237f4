"""GPU check of the paper-scale execution path, in one run of a few minutes on one GPU.

    python benchmarks/gpu_check.py --out results/gpu_check            # one GPU, <= 8 min
    python benchmarks/gpu_check.py --out /tmp/gpu_check --pcsd-weights \\
        results/models/simart/SEM/pcsd/best.pt                       # PSNRs of trained PCSD
    python benchmarks/gpu_check.py --cpu-smoke --out /tmp/smoke      # every section, tiny, CPU

Sections (each printed with its goal where one exists, and written to ``OUT/gpu_check.json``
beside ``OUT/gpu_check.txt``; a section that cannot run says why under ``skipped``):

* ``device`` -- GPU name, torch version, the bf16 dense peak of :mod:`simart.specs.hardware`
  (no row for the card: no MFU, and the reason).
* ``data`` -- one SIMART test shard simulated by the project's own builder
  (:func:`simart.simulate.simart_dataset.build_shard`, ``--modality``), the images of the
  sampling PSNRs and of the loader section.
* ``pcsd_train`` -- PCSD training steps at the paper's settings (``PAPER_HPARAMS["pcsd"]``,
  batch and patch of ``configs/paper.yaml``'s ``train.defaults``: 32 x 256^2, bf16
  autocast, channels-last, every sub-network compiled): seconds per step, crops/s, the
  FLOPs of one step counted with ``torch.utils.flop_counter.FlopCounterMode`` (eager,
  forward + backward: convolutions, matmuls, attention) and MFU = FLOPs / step time / peak.
  Goal: MFU >= 40 %.
* ``pcsd_sampling`` -- seconds per image and mean PSNR on the shard's first ``--n-test``
  images for the 1000-step DDPM chain and DDIM with 250 / 50 / 20 steps (bf16, compiled,
  physics guidance as the hyper-parameters say). Goal ("PCSD-fast"): <= 0.1 s per 512^2
  image at <= 0.3 dB below the 1000-step sampler. Without ``--pcsd-weights`` the network
  is the one the training section ran a few steps on: the times are real, the PSNRs are
  not those of a trained model (the JSON says ``weights: untrained``).
* ``cond_ddpm_inference`` -- the conditional DDPM (paper network) sampling with
  ``--cond-steps`` DDIM steps, one sample: seconds per image per network evaluation, and
  the paper sampler's cost per image derived from it (200 steps x 15 samples; labelled
  ``derived``, not run).
* ``cnn_inference`` -- DnCNN (paper network) seconds per 512^2 image, bf16, compiled.
* ``loader`` -- training crops (``patch``^2, ``y`` + ``x`` + parameters) per CPU-second of
  one process reading the shard lazily: the rate of one DataLoader worker.
* ``ddp`` -- one 2-process DistributedDataParallel PCSD step (NCCL) when 2 GPUs exist;
  ``--cpu-smoke``: the same with the gloo backend on the CPU.

``--cpu-smoke`` runs every section at tiny sizes on the CPU (default hyper-parameters,
32^2 images, a few steps) in well under a minute: tests/test_gpu_check.py runs it in CI.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import math
import os
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

if str(Path(__file__).resolve().parent) not in sys.path:  # _timing, also when imported by path
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import TrainStepper, sync

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("device", "data", "pcsd_train", "pcsd_sampling", "cond_ddpm_inference",
            "cnn_inference", "loader", "ddp")
MFU_GOAL = 0.40                 # PCSD training
FAST_SECONDS, FAST_DB = 0.1, 0.3  # PCSD-fast: s per 512^2 image, dB below 1000 steps
COND_PAPER_STEPS, COND_PAPER_SAMPLES = 200, 15  # the conditional-DDPM paper's sampler


# ----------------------------------------------------------------------------- setup

def paper_train_defaults() -> dict[str, Any]:
    """``train.defaults`` of configs/paper.yaml (batch and patch of the paper runs)."""
    from simart.config import load_yaml

    return dict(load_yaml(ROOT / "configs" / "paper.yaml")["train"]["defaults"])


def scale(a: argparse.Namespace) -> dict[str, Any]:
    """Sizes of this run: the paper's on the GPU, tiny ones with ``--cpu-smoke``."""
    if a.cpu_smoke:
        return {"preset": "default", "size": 32, "batch": 2, "patch": 16, "train_steps": 2,
                "warmup_steps": 1, "n_images": 4, "sampler_steps": [8, 4, 2, 1],
                "cond_steps": 2, "infer_batch": 2, "loader_batches": 3, "compile": False,
                "amp": False, "device": torch.device("cpu")}
    d = paper_train_defaults()
    return {"preset": "paper", "size": 512, "batch": int(d["batch_size"]),
            "patch": int(d["patch_size"]), "train_steps": a.train_steps,
            "warmup_steps": 3, "n_images": max(a.n_test, 8),
            "sampler_steps": [1000, 250, 50, 20], "cond_steps": a.cond_steps,
            "infer_batch": a.infer_batch, "loader_batches": 20, "compile": not a.no_compile,
            "amp": True, "device": torch.device("cuda")}


def hparams(name: str, preset: str) -> dict[str, Any]:
    from simart.specs.hparams import DEFAULT_HPARAMS, PAPER_HPARAMS

    return dict((PAPER_HPARAMS if preset == "paper" else DEFAULT_HPARAMS)[name])


def inference_settings(s: dict[str, Any]):
    from simart.specs.inference import InferenceSettings

    return InferenceSettings(amp="bf16" if s["amp"] else "off", channels_last=True,
                             compile=s["compile"])


def build(name: str, s: dict[str, Any], seed: int = 0):
    from simart.models import build_model

    torch.manual_seed(seed)
    return build_model(name, hparams(name, s["preset"]))


def gpu_peak(device: torch.device) -> tuple[float | None, str]:
    """(bf16 dense peak FLOP/s, where it comes from or why none) of ``device``."""
    if device.type != "cuda":
        return None, "no peak FLOP/s for a CPU"
    name = torch.cuda.get_device_name(device)
    from simart.specs.hardware import gpu_of_device

    spec = gpu_of_device(name)
    if spec is not None:
        return spec.peak_flops("bf16"), f"{spec.label}: {spec.source}"
    return None, f"no row for {name!r} in simart.specs.hardware.GPUS"


# --------------------------------------------------------------------------- sections

def section_device(ctx: dict[str, Any]) -> dict[str, Any]:
    dev = ctx["s"]["device"]
    peak, source = gpu_peak(dev)
    ctx["peak"] = peak
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    return {"device": name, "torch": str(torch.__version__), "bf16_peak_tflops":
            None if peak is None else peak / 1e12, "peak_source": source,
            "cuda_devices": torch.cuda.device_count(), "settings": {
                k: (str(v) if isinstance(v, torch.device) else v)
                for k, v in ctx["s"].items()}}


def section_data(ctx: dict[str, Any]) -> dict[str, Any]:
    """One SIMART test shard of ``n_images`` images (the project's builder)."""
    from simart.config import validate_config
    from simart.data.shards import Shard
    from simart.physics.dataset_ops import image_params
    from simart.simulate.simart_dataset import build_shard
    from simart.simulate.sources import build_catalog

    s, modality = ctx["s"], ctx["modality"]
    n = s["n_images"]
    cfg = validate_config({
        "seed": 0, "image_size": s["size"],
        "sources": {"n_sources": 20, "split_fractions": [0.4, 0.2, 0.4]},
        "simart": {"images_per_modality": {"train": 1, "val": 1, "test": n},
                   "shard_size": n, "dtype": "float16"}})
    cat = build_catalog(20, 0, split_fractions=(0.4, 0.2, 0.4))
    path = Path(ctx["tmp"]) / "shards" / modality / "test" / "0000.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    build_shard(cfg, cat, modality, "test", 0, path)
    seconds = time.perf_counter() - t0
    with Shard(path) as sh:
        x, y, table = sh.clean()[()], sh.degraded()[()], sh.params()
    ctx["shard"], ctx["x"], ctx["y"] = path, np.asarray(x, np.float32), np.asarray(y, np.float32)
    ctx["rows"] = [image_params("simart", modality, r) for r in table.to_dict("records")]
    return {"modality": modality, "images": n, "size": s["size"],
            "simulate_seconds": seconds}


def _train_batch(ctx: dict[str, Any], model) -> Any:
    """A training batch of the shard (the loop's own batch code), on the device."""
    from simart.models import Batch
    from simart.train.batches import batch_tensors
    from simart.train.loop import TrainSettings
    from simart.train.shard_data import ShardTrainData

    s = ctx["s"]
    data = ShardTrainData("simart", [ctx["shard"]], [ctx["modality"]],
                          want=("y", *model.needs))
    ts = TrainSettings.from_mapping({"batch_size": s["batch"], "patch_size": s["patch"]})
    return Batch(**batch_tensors(data, 0, ts, ("y", *model.needs))).to(s["device"])


def section_pcsd_train(ctx: dict[str, Any]) -> dict[str, Any]:
    from torch.utils.flop_counter import FlopCounterMode

    s, dev = ctx["s"], ctx["s"]["device"]
    model = build("pcsd", s)
    batch = _train_batch(ctx, model)
    d = paper_train_defaults() if s["preset"] == "paper" else {}
    step = TrainStepper(model, dev, amp=s["amp"], lr=float(d.get("lr", 1e-4)),
                        optimizer=d.get("optimizer", "adamw"),
                        weight_decay=float(d.get("weight_decay", 0.0)), threads=0)
    with FlopCounterMode(display=False) as fc:  # one eager step: forward + backward
        step(batch, 0)
    flops = float(fc.get_total_flops())
    if s["compile"]:
        model.compile_networks()
    t0 = time.perf_counter()
    for k in range(1, 1 + s["warmup_steps"]):  # compilation happens here
        step(batch, k)
    sync(dev)
    warm = time.perf_counter() - t0
    times = []
    for k in range(s["train_steps"]):
        sync(dev)
        t0 = time.perf_counter()
        step(batch, 1 + s["warmup_steps"] + k)
        sync(dev)
        times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    peak = ctx.get("peak")
    mfu = flops / sec / peak if peak else None
    ctx["pcsd"] = model
    return {"batch": s["batch"], "patch": s["patch"], "hparams": s["preset"],
            "compiled": s["compile"], "amp": "bf16" if s["amp"] else "off",
            "perceptual_available": bool(model.perceptual_available),
            "flops_per_step": flops, "seconds_per_step": sec,
            "crops_per_second": s["batch"] / sec, "warmup_seconds": warm,
            "steps_timed": len(times), "achieved_tflops": flops / sec / 1e12, "mfu": mfu,
            "mfu_goal": MFU_GOAL, "meets_goal": None if mfu is None else mfu >= MFU_GOAL}


def _predict(net, y, params, gen, s, settings) -> torch.Tensor:
    from simart.evaluation.learned import _autocast, inference_dtype
    from simart.models.base import run_predict

    dev = s["device"]
    with torch.no_grad(), _autocast(dev, inference_dtype(settings, dev)):
        return run_predict(net, y, None, params=params, gen=gen)[0].float()


def _test_tensors(ctx: dict[str, Any], n: int):
    from simart.physics.dataset_ops import stack_params

    dev = ctx["s"]["device"]
    x = torch.from_numpy(ctx["x"][:n])[:, None].to(dev)
    y = torch.from_numpy(ctx["y"][:n])[:, None].to(dev).contiguous(
        memory_format=torch.channels_last)
    params = {k: v.to(dev) for k, v in stack_params(ctx["rows"][:n]).items()}
    return x, y, params


def section_pcsd_sampling(ctx: dict[str, Any]) -> dict[str, Any]:
    from simart.evaluation.learned import prepare_network
    from simart.metrics import psnr

    s, dev = ctx["s"], ctx["s"]["device"]
    if ctx["pcsd_weights"]:
        from simart.train.loop import load_trained

        net, weights = load_trained(ctx["pcsd_weights"], device=dev), str(ctx["pcsd_weights"])
    elif "pcsd" in ctx:
        net, weights = ctx["pcsd"], "untrained"
    else:
        net, weights = build("pcsd", s).to(dev), "untrained"
    settings = inference_settings(s)
    net = prepare_network(net.eval(), dev, settings)
    n = min(ctx["n_test"], len(ctx["x"]))
    x, y, params = _test_tensors(ctx, n)
    p = params if "params" in net.predict_needs else None
    base = {"n_samples": 1, "start": 1.0, "stop": 0.0}
    net.set_sampling(**base, sampler="ddim", steps=2)  # warm-up: compilation
    _predict(net, y, p, torch.Generator(device=dev).manual_seed(1), s, settings)
    rows, T = [], net.sched.T
    for steps in sorted({min(k, T) for k in s["sampler_steps"]}, reverse=True):
        opts = {**base, "sampler": "ddpm"} if steps == T else {**base, "sampler": "ddim",
                                                                "steps": steps}
        net.set_sampling(**opts)
        gen = torch.Generator(device=dev).manual_seed(0)
        sync(dev)
        t0 = time.perf_counter()
        out = _predict(net, y, p, gen, s, settings)
        sync(dev)
        sec = (time.perf_counter() - t0) / n
        rows.append({"steps": steps, "sampler": opts["sampler"], "seconds_per_image": sec,
                     "psnr_db": float(psnr(out.clamp(0, 1), x, data_range=1.0).mean())})
    ref = rows[0]["psnr_db"]
    for r in rows:  # the goal is for 512^2 images (None at other sizes)
        r["db_below_full"] = ref - r["psnr_db"]
        r["meets_fast_goal"] = None if s["size"] != 512 else (
            r["seconds_per_image"] <= FAST_SECONDS and r["db_below_full"] <= FAST_DB)
    return {"size": s["size"], "images": n, "weights": weights, "full_chain_steps": T,
            "noisy_psnr_db": float(psnr(y.float(), x, data_range=1.0).mean()),
            "amp": settings.amp, "compiled": settings.compile, "rows": rows,
            "goal": f"<= {FAST_SECONDS} s per 512^2 image at <= {FAST_DB} dB below "
                    f"the {rows[0]['steps']}-step sampler"}


def _time_predict(net, y, gen_seed: int, s, settings, repeat: int) -> float:
    dev = s["device"]
    times = []
    for _ in range(repeat):
        gen = torch.Generator(device=dev).manual_seed(gen_seed)
        sync(dev)
        t0 = time.perf_counter()
        _predict(net, y, None, gen, s, settings)
        sync(dev)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) / len(y)


def section_cond_ddpm_inference(ctx: dict[str, Any]) -> dict[str, Any]:
    from simart.evaluation.learned import prepare_network

    s, dev = ctx["s"], ctx["s"]["device"]
    settings = inference_settings(s)
    net = prepare_network(build("cond_ddpm", s).to(dev).eval(), dev, settings)
    _, y, _ = _test_tensors(ctx, s["infer_batch"])
    k = min(s["cond_steps"], net.sched.T)
    net.set_sampling(sampler="ddim", steps=k, n_samples=1)
    _time_predict(net, y, 0, s, settings, 1)  # warm-up / compilation
    sec = _time_predict(net, y, 0, s, settings, 2)
    per_eval = sec / k
    return {"size": s["size"], "batch": len(y), "steps": k, "seconds_per_image": sec,
            "seconds_per_image_per_step": per_eval,
            "derived_paper_sampler_seconds_per_image":
                per_eval * COND_PAPER_STEPS * COND_PAPER_SAMPLES,
            "derived_from": f"{COND_PAPER_STEPS} steps x {COND_PAPER_SAMPLES} samples x the "
                            "measured seconds per image per step (not run)",
            "amp": settings.amp, "compiled": settings.compile}


def section_cnn_inference(ctx: dict[str, Any]) -> dict[str, Any]:
    from simart.evaluation.learned import prepare_network

    s, dev = ctx["s"], ctx["s"]["device"]
    settings = inference_settings(s)
    net = prepare_network(build("dncnn", s).to(dev).eval(), dev, settings)
    _, y, _ = _test_tensors(ctx, s["infer_batch"])
    _time_predict(net, y, 0, s, settings, 2)
    sec = _time_predict(net, y, 0, s, settings, 5)
    return {"model": "dncnn", "size": s["size"], "batch": len(y), "seconds_per_image": sec,
            "images_per_second": 1 / sec, "amp": settings.amp, "compiled": settings.compile}


def section_loader(ctx: dict[str, Any]) -> dict[str, Any]:
    from simart.train.batches import batch_tensors
    from simart.train.loop import TrainSettings
    from simart.train.shard_data import ShardTrainData

    s = ctx["s"]
    want = ("y", "x", "params")
    data = ShardTrainData("simart", [ctx["shard"]], [ctx["modality"]], want=want,
                          preload=False)
    ts = TrainSettings.from_mapping({"batch_size": s["batch"], "patch_size": s["patch"],
                                     "seed": 1})
    batch_tensors(data, 0, ts, want)  # opens the file
    t0 = time.process_time()
    for step in range(1, 1 + s["loader_batches"]):
        batch_tensors(data, step, ts, want)
    cpu = time.process_time() - t0
    crops = s["loader_batches"] * s["batch"]
    out = {"patch": s["patch"], "batch": s["batch"], "fields": list(want), "crops": crops,
           "cpu_seconds": cpu, "crops_per_second_per_worker": crops / cpu}
    if "pcsd_train" in ctx["results"] and "crops_per_second" in ctx["results"]["pcsd_train"]:
        need = ctx["results"]["pcsd_train"]["crops_per_second"]
        out["workers_to_feed_pcsd_training"] = math.ceil(need / out[
            "crops_per_second_per_worker"])
    return out


def _ddp_worker(rank: int, world: int, backend: str, s: dict[str, Any], out: str) -> None:
    """One rank of the 2-process step: PCSD's network in DDP, one update per step."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    logging.disable(logging.WARNING)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(s["port"]))
    dist.init_process_group(backend, rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=120))  # fail, never hang
    try:
        dev = torch.device("cuda", rank) if backend == "nccl" else torch.device("cpu")
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        s = {**s, "device": dev}
        torch.set_num_threads(1)
        model = build("pcsd", s)
        from _timing import synthetic_batch

        batch = synthetic_batch(model, s["batch"], s["patch"], seed=rank).to(dev)
        step = TrainStepper(model, dev, amp=s["amp"], threads=0)
        model.net = DDP(model.net, device_ids=[rank] if dev.type == "cuda" else None)
        times = []
        for k in range(1 + s["train_steps"]):
            sync(dev)
            t0 = time.perf_counter()
            step(batch, k)
            sync(dev)
            times.append(time.perf_counter() - t0)
        w = next(model.net.parameters()).detach().flatten()[:64].double().cpu()
        gathered = [torch.zeros_like(w) for _ in range(world)]
        dist.all_gather(gathered, w)
        if rank == 0:
            same = all(torch.equal(gathered[0], g) for g in gathered[1:])
            Path(out).write_text(json.dumps({
                "backend": backend, "world_size": world, "batch_per_rank": s["batch"],
                "patch": s["patch"], "seconds_per_step": statistics.median(times[1:]),
                "first_step_seconds": times[0], "weights_equal_across_ranks": same}))
    finally:
        dist.destroy_process_group()


def section_ddp(ctx: dict[str, Any]) -> dict[str, Any]:
    import socket

    import torch.multiprocessing as mp

    s = ctx["s"]
    if s["device"].type == "cuda":
        n = torch.cuda.device_count()
        if n < 2:
            return {"skipped": f"{n} CUDA device(s): a 2-process DDP step needs 2"}
        backend = "nccl"
    else:
        backend = "gloo"
    with socket.socket() as sock:  # a free port for the rendezvous
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = Path(ctx["tmp"]) / "ddp.json"
    plain = {k: v for k, v in s.items() if k != "device"}
    # fresh processes (a fork of this one, which has run torch, can deadlock)
    mp.spawn(_ddp_worker, args=(2, backend, {**plain, "port": port}, str(out)), nprocs=2,
             join=True)
    return json.loads(out.read_text())


RUNNERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "device": section_device, "data": section_data, "pcsd_train": section_pcsd_train,
    "pcsd_sampling": section_pcsd_sampling,
    "cond_ddpm_inference": section_cond_ddpm_inference,
    "cnn_inference": section_cnn_inference, "loader": section_loader, "ddp": section_ddp}


# ---------------------------------------------------------------------------- output

def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _goal(met: bool | None) -> str:
    return "n/a" if met is None else "met" if met else "MISSED"


def describe(name: str, r: dict[str, Any]) -> list[str]:
    """Text lines of one section's result."""
    if "skipped" in r:
        return [f"[{name}] skipped: {r['skipped']}"]
    if "error" in r:
        return [f"[{name}] ERROR: {r['error']}"]
    lines = [f"[{name}] ({r.get('section_seconds', 0):.1f} s)"]
    if name == "pcsd_train":
        mfu = "n/a (" + str(r.get("mfu_reason")) + ")" if r["mfu"] is None \
            else f"{100 * r['mfu']:.1f} %"
        lines.append(f"  {r['batch']} x {r['patch']}^2, {r['hparams']} hparams, amp "
                     f"{r['amp']}, compiled {r['compiled']}: {r['seconds_per_step']:.4g} s/step, "
                     f"{r['crops_per_second']:.4g} crops/s, {r['flops_per_step'] / 1e12:.4g} "
                     f"TFLOP/step, {r['achieved_tflops']:.4g} TFLOP/s")
        lines.append(f"  MFU {mfu}   goal >= {100 * MFU_GOAL:.0f} %: {_goal(r['meets_goal'])}")
        return lines
    if name == "pcsd_sampling":
        lines.append(f"  {r['images']} images of {r['size']}^2, weights {r['weights']}, noisy "
                     f"input {r['noisy_psnr_db']:.2f} dB; goal: {r['goal']}")
        for row in r["rows"]:
            lines.append(f"  {row['sampler']:>4} {row['steps']:>5} steps: "
                         f"{row['seconds_per_image']:.4g} s/image  {row['psnr_db']:.2f} dB "
                         f"({-row['db_below_full']:+.2f} dB vs the first row)  fast goal "
                         f"{_goal(row['meets_fast_goal'])}")
        return lines
    for k, v in r.items():
        if k not in ("section_seconds", "settings"):
            lines.append(f"  {k}: {_fmt(v)}")
    return lines


def run(a: argparse.Namespace) -> dict[str, Any]:
    """Every section in order; a failing section records its error and the rest go on."""
    s = scale(a)
    if s["device"].type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu_check: torch sees no CUDA GPU; use --cpu-smoke on a CPU")
    if a.cpu_smoke:
        torch.set_num_threads(1)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ctx = {"s": s, "tmp": tmp, "modality": a.modality, "n_test": a.n_test
               if not a.cpu_smoke else 2, "pcsd_weights": a.pcsd_weights, "results": results}
        for name in SECTIONS:
            t0 = time.perf_counter()
            try:
                r = RUNNERS[name](ctx)
            except Exception as exc:  # noqa: BLE001 -- reported, the other sections run
                r = {"error": f"{type(exc).__name__}: {exc}",
                     "traceback": traceback.format_exc(limit=8)}
            r["section_seconds"] = time.perf_counter() - t0
            if name == "pcsd_train" and r.get("mfu") is None and "error" not in r:
                r["mfu_reason"] = results["device"].get("peak_source")
            results[name] = r
            for line in describe(name, r):
                print(line, flush=True)
    return results


def write(out: Path, results: dict[str, Any], text: str) -> None:
    """``gpu_check.json`` and ``gpu_check.txt`` in ``out`` (atomically)."""
    from simart.io import atomic_path

    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "gpu_check.json") as tmp:
        tmp.write_text(json.dumps(results, indent=2, default=str) + "\n")
    with atomic_path(out / "gpu_check.txt") as tmp:
        tmp.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="folder of gpu_check.{json,txt}")
    ap.add_argument("--cpu-smoke", action="store_true",
                    help="every section at tiny sizes on the CPU (CI)")
    ap.add_argument("--pcsd-weights", default=None, help="a trained PCSD best.pt")
    ap.add_argument("--modality", default="SEM", choices=["AFM", "TEM", "SEM", "STEM"])
    ap.add_argument("--n-test", type=int, default=4, help="images of the sampling PSNRs")
    ap.add_argument("--train-steps", type=int, default=10, help="timed PCSD steps")
    ap.add_argument("--cond-steps", type=int, default=10)
    ap.add_argument("--infer-batch", type=int, default=4)
    ap.add_argument("--no-compile", action="store_true")
    a = ap.parse_args(argv)
    logging.disable(logging.WARNING)  # PCSD without VGG weights warns once per model
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()

    class _Tee(io.TextIOBase):
        def write(self, t: str) -> int:
            buf.write(t)
            return sys.__stdout__.write(t)

        def flush(self) -> None:
            sys.__stdout__.flush()

    t0 = time.perf_counter()
    with redirect_stdout(_Tee()):
        print(f"# gpu_check {'--cpu-smoke ' if a.cpu_smoke else ''}(torch {torch.__version__})")
        results = run(a)
        print(f"# total {time.perf_counter() - t0:.1f} s")
    results["total_seconds"] = time.perf_counter() - t0
    write(a.out, results, buf.getvalue())
    return 1 if any(isinstance(r, dict) and "error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
