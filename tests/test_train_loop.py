"""The training loop: stateless batches, training, log/summary/best files, bit-exact resume
after SIGKILL, refused checkpoints, settings validation (tiny conv model, CPU, 1 thread)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from simart.models.base import Batch, RestorationModel
from simart.train.batches import make_batch, step_generator
from simart.train.checkpoint import (
    CheckpointCorrupt,
    CheckpointMismatch,
    CsvLog,
    load_checkpoint,
)
from simart.train.data import ArrayTrainData
from simart.train.loop import TrainSettings, inference_timing, load_trained, train

WORKER = Path(__file__).with_name("train_worker.py")


class TinyModel(RestorationModel):
    """Residual 2-layer CNN; its training step draws input jitter from the step generator
    (so a resumed run must hand it the same generator)."""

    name = "tiny"
    needs = ("x",)

    def __init__(self, width: int = 8):
        nn.Module.__init__(self)  # no simart.specs.hparams for a test model
        self.hparams = {"width": width}
        self.net = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(width, 1, 3, padding=1))
        nn.init.zeros_(self.net[2].weight)  # starts as the identity

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y + self.net(y)

    def training_step(self, batch: Batch, gen: torch.Generator):
        jitter = 1e-3 * torch.randn(batch.y.shape, generator=gen, device=batch.y.device)
        loss = F.mse_loss(self(batch.y + jitter), batch.x)
        return loss, {"mse": loss.item()}


def make_problem(n: int = 16, size: int = 32, seed: int = 0):
    """Smooth clean images in [0, 1] and their noisy versions: (train, val) data."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    f = rng.uniform(1, 3, (2 * n, 2, 1, 1))
    p = rng.uniform(0, 2 * np.pi, (2 * n, 1, 1))
    x = 0.5 + 0.4 * np.sin(2 * np.pi * (f[:, 0] * xx + f[:, 1] * yy) + p)
    y = x + 0.1 * rng.standard_normal(x.shape)
    subset = np.arange(2 * n) % 2
    part = lambda s: ArrayTrainData(y[s], x[s], subset=subset[s], subsets=["a", "b"])
    return part(slice(0, n)), part(slice(n, 2 * n))


def settings(**kw) -> TrainSettings:
    base = {"steps": 40, "batch_size": 4, "patch_size": 16, "lr": 1e-2, "grad_clip": 1.0,
            "checkpoint_every": 10, "val_every": 10, "val_images": 4, "log_every": 2,
            "seed": 7, "device": "cpu", "threads": 1, "deterministic": True}
    return TrainSettings.from_mapping({**base, **kw})


IDENTITY = {"model": "tiny", "hparams": {"width": 8}, "dataset": "toy", "subsets": ["a", "b"]}


def run(out_dir: Path, s: TrainSettings | None = None, identity=IDENTITY, callback=None):
    torch.manual_seed(0)  # the caller seeds the initial weights
    model = TinyModel(width=identity["hparams"]["width"])
    train_data, val_data = make_problem()
    summary = train(model, train_data, val_data, s or settings(), out_dir, identity=identity,
                    callback=callback)
    return model, summary


def read_log(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------------------- batches

def test_make_batch_is_pure_and_consistent():
    rng = np.random.default_rng(1)
    n = 6
    y = (rng.random((n, 32, 32)) + np.arange(n)[:, None, None]).astype(np.float32)  # floor = i
    data = ArrayTrainData(y, 2 * y, -y, subset=np.arange(n), subsets=[str(i) for i in range(n)])
    s = settings(batch_size=8, patch_size=16)
    a, b = make_batch(data, 3, s, ("x", "y2")), make_batch(data, 3, s, ("x", "y2"))
    for f in ("y", "x", "y2", "subset"):
        assert torch.equal(getattr(a, f), getattr(b, f))
    assert not torch.equal(a.y, make_batch(data, 4, s, ("x", "y2")).y)
    assert a.y.shape == (8, 1, 16, 16) and a.y.dtype == torch.float32
    assert a.subset.dtype == torch.long
    assert torch.equal(a.x, 2 * a.y) and torch.equal(a.y2, -a.y)  # same crop and transform
    floors = a.y.floor().flatten(1)
    assert torch.equal(floors.min(1).values, floors.max(1).values)  # one image per sample
    assert torch.equal(floors[:, 0].long(), a.subset)  # subset of that image
    assert make_batch(data, 3, s, ("x",)).y2 is None
    big = make_batch(data, 0, settings(batch_size=2, patch_size=64))
    assert big.y.shape == (2, 1, 32, 32)  # smaller than the patch: the full image


def test_make_batch_augments_and_covers_epochs():
    img = np.arange(16 * 16, dtype=np.float32).reshape(1, 16, 16)
    data = ArrayTrainData(img)
    y = make_batch(data, 0, settings(batch_size=64, patch_size=16), ()).y[:, 0].numpy()
    seen = {v.tobytes() for v in y}
    expected = {np.ascontiguousarray(np.rot90(img[0], k)[:, ::-1] if f else np.rot90(img[0], k)
                                     ).tobytes() for k in range(4) for f in (0, 1)}
    assert seen == expected  # all 8 dihedral variants, nothing else
    y = make_batch(data, 0, settings(batch_size=64, patch_size=16, augment="none"), ()).y
    assert torch.equal(y, torch.from_numpy(img).expand(64, 1, 16, 16))
    # per-epoch permutation: 5 images, batches of 5 -> every image once per batch
    data5 = ArrayTrainData(np.arange(5, dtype=np.float32)[:, None, None] * np.ones((5, 8, 8)))
    for step in range(3):
        vals = make_batch(data5, step, settings(batch_size=5, patch_size=8), ()).y[:, 0, 0, 0]
        assert sorted(vals.tolist()) == [0, 1, 2, 3, 4]


def test_step_generator_is_pure():
    a = torch.rand(4, generator=step_generator(3, 5))
    assert torch.equal(a, torch.rand(4, generator=step_generator(3, 5)))
    assert not torch.equal(a, torch.rand(4, generator=step_generator(3, 6)))
    assert not torch.equal(a, torch.rand(4, generator=step_generator(4, 5)))


# -------------------------------------------------------------------------- training

def test_training_learns_and_writes_outputs(tmp_path):
    model, summary = run(tmp_path)
    rows = read_log(tmp_path / "log.csv")
    assert list(rows[0]) == ["step", "epoch", "lr", "loss", "mse", "val_psnr", "val_ssim",
                             "val_loss", "images_per_s", "elapsed_s"]
    assert [int(r["step"]) for r in rows] == list(range(2, 41, 2))
    assert float(rows[-1]["loss"]) < 0.5 * float(rows[0]["loss"])
    val = [r for r in rows if r["val_psnr"]]
    assert [int(r["step"]) for r in val] == [10, 20, 30, 40]
    assert all(r["val_ssim"] and not r["val_loss"] for r in val)
    assert float(rows[-1]["epoch"]) == 40 * 4 / 16
    psnrs = {int(r["step"]): float(r["val_psnr"]) for r in val}
    best_step = max(psnrs, key=psnrs.get)
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["step"] == best_step and best["metric"] == "val_psnr"
    assert best["value"] == pytest.approx(psnrs[best_step], abs=1e-9)
    assert psnrs[best_step] > 22  # the noisy input is at 20 dB (sigma 0.1)
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    for key in ("identity", "settings", "n_parameters", "steps", "train_seconds",
                "images_per_s", "peak_memory_mb", "device", "best_step", "best_val",
                "final_val", "torch_version", "resumed"):
        assert key in summary, key
    assert summary["steps"] == 40 and summary["resumed"] is False
    assert summary["best_step"] == best_step and summary["identity"] == IDENTITY
    assert summary["final_val"]["val_psnr"] == pytest.approx(psnrs[40], abs=1e-9)
    assert summary["n_parameters"] == sum(p.numel() for p in model.parameters())
    last = load_checkpoint(tmp_path / "last.pt")
    assert last["step"] == 40 and last["identity"] == IDENTITY
    for key in ("model", "optimizer", "scheduler", "scaler", "settings", "torch_version"):
        assert key in last
    loaded = load_trained(tmp_path / "best.pt", expect_identity=IDENTITY,
                          build=lambda ident: TinyModel(**ident["hparams"]))
    assert not loaded.training
    assert inference_timing(loaded, size=32, n=2) > 0


def test_validation_falls_back_to_loss_without_clean_images(tmp_path):
    torch.manual_seed(0)
    train_data, val_data = make_problem()
    noisy_only = ArrayTrainData(val_data.y, y2=val_data.y)
    model = TinyModel()
    model.needs = ()  # a self-supervised model: the training step uses y only

    def step(batch, gen):
        loss = F.mse_loss(model(batch.y), batch.y)
        return loss, {}

    model.training_step = step
    summary = train(model, train_data, noisy_only, settings(steps=20), tmp_path,
                    identity=IDENTITY)
    rows = read_log(tmp_path / "log.csv")
    assert all(not r["val_psnr"] for r in rows)
    assert [r["step"] for r in rows if r["val_loss"]] == ["10", "20"]
    assert summary["best_metric"] == "val_loss"


# ---------------------------------------------------------------------------- resume

def test_resume_after_sigkill_is_bit_exact(tmp_path):
    ref_model, _ = run(tmp_path / "ref")
    out = tmp_path / "killed"
    proc = subprocess.run([sys.executable, str(WORKER), str(out), "24"],
                          check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    assert load_checkpoint(out / "last.pt")["step"] == 20
    assert int(read_log(out / "log.csv")[-1]["step"]) == 24  # rows past the checkpoint
    model, summary = run(out)
    assert summary["resumed"] is True and summary["resumes"] == 1
    for (name, a), b in zip(ref_model.state_dict().items(), model.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name
    rows, ref_rows = read_log(out / "log.csv"), read_log(tmp_path / "ref" / "log.csv")
    steps = [r["step"] for r in rows]
    assert len(steps) == len(set(steps)) == len(ref_rows)
    timing = ("images_per_s", "elapsed_s")
    strip = lambda rs: [{k: v for k, v in r.items() if k not in timing} for r in rs]
    assert strip(rows) == strip(ref_rows)
    best, ref_best = load_checkpoint(out / "best.pt"), load_checkpoint(tmp_path / "ref/best.pt")
    assert best["step"] == ref_best["step"]
    for k, v in ref_best["model"].items():
        assert torch.equal(best["model"][k], v)


def test_csv_log_drops_rows_after_the_checkpoint_and_cut_lines(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("step,loss\n2,0.5\n4,0.25\n6,0.125\n8,0.0")  # killed mid-line
    log = CsvLog(path, keep_through=4)
    assert path.read_text() == "step,loss\n2,0.5\n4,0.25\n"
    log.write({"step": 6, "loss": 0.1, "ignored": 1})
    assert path.read_text() == "step,loss\n2,0.5\n4,0.25\n6,0.1\n"
    CsvLog(path, keep_through=0)
    assert not path.exists()


def test_completed_run_is_not_retrained(tmp_path):
    model, _ = run(tmp_path)
    again, second = run(tmp_path)
    assert second["steps"] == 40 and second["resumes"] == 0
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_best_pt_restored_from_checkpoint(tmp_path):
    """A kill between writing last.pt and best.pt (same step): the rerun rewrites best.pt."""
    _, summary = run(tmp_path, settings(steps=20))
    assert summary["best_step"] == 20
    (tmp_path / "best.pt").unlink()
    run(tmp_path, settings(steps=20))
    best, last = load_checkpoint(tmp_path / "best.pt"), load_checkpoint(tmp_path / "last.pt")
    assert best["step"] == 20
    for k, v in last["model"].items():
        assert torch.equal(best["model"][k], v)


def test_free_settings_may_change_on_resume(tmp_path):
    run(tmp_path, settings(steps=40), callback=None)
    run(tmp_path, settings(steps=40, log_every=5, checkpoint_every=7, progress=True))


# ------------------------------------------------------------------------ refusals

def test_checkpoint_of_another_identity_is_refused(tmp_path):
    run(tmp_path, settings(steps=10))
    other = {**IDENTITY, "model": "care"}
    with pytest.raises(CheckpointMismatch, match=r"model 'tiny', not 'care'.*delete it"):
        run(tmp_path, settings(steps=10), identity=other)
    wider = {**IDENTITY, "hparams": {"width": 4}}
    with pytest.raises(CheckpointMismatch, match=r"hparams\.width: 8 \(checkpoint\) vs 4"):
        run(tmp_path, settings(steps=10), identity=wider)
    with pytest.raises(CheckpointMismatch, match=r"lr: 0\.01 \(checkpoint\) vs 0\.001"):
        run(tmp_path, settings(steps=10, lr=1e-3))
    with pytest.raises(CheckpointMismatch, match="hparams.width"):
        load_trained(tmp_path / "best.pt", expect_identity=wider,
                     build=lambda ident: TinyModel(**ident["hparams"]))

    class Other(TinyModel):
        name = "other"

    with pytest.raises(CheckpointMismatch, match="model 'tiny', not 'other'"):
        load_trained(tmp_path / "best.pt", build=lambda ident: Other())


def test_corrupt_checkpoint_names_the_file(tmp_path):
    run(tmp_path, settings(steps=10))
    last = tmp_path / "last.pt"
    last.write_bytes(last.read_bytes()[:200])
    with pytest.raises(CheckpointCorrupt, match=str(last)):
        run(tmp_path, settings(steps=10))
    last.write_text("not a checkpoint")
    with pytest.raises(CheckpointCorrupt, match=str(last)):
        run(tmp_path, settings(steps=10))


def test_settings_validation():
    with pytest.raises(ValueError, match=r"unknown training settings \['bogus', 'lrr'\]"):
        TrainSettings.from_mapping({"steps": 3, "lrr": 1e-3, "bogus": 1})
    with pytest.raises(ValueError, match="optimizer"):
        TrainSettings(optimizer="sgd")
    with pytest.raises(ValueError, match="steps"):
        TrainSettings(steps=0)
    with pytest.raises(ValueError, match="amp"):
        TrainSettings.from_mapping({"amp": "yes"})
    s = TrainSettings.from_mapping({"lr": "1e-3", "betas": [0.5, 0.9]})
    assert s.lr == 1e-3 and s.betas == (0.5, 0.9)


def test_num_workers_gives_the_same_batches(tmp_path):
    """DataLoader workers assemble the same batches as the in-process path."""
    a, _ = run(tmp_path / "a", settings(steps=6, val_every=0, checkpoint_every=0))
    b, _ = run(tmp_path / "b", settings(steps=6, val_every=0, checkpoint_every=0,
                                        num_workers=1))
    for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y)


def test_identity_must_be_json(tmp_path):
    with pytest.raises(TypeError, match="JSON"):
        run(tmp_path, identity={**IDENTITY, "bad": object()})


@pytest.fixture(autouse=True)
def _torch_flags_restored():
    n, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    yield
    assert torch.get_num_threads() == n  # train() restores the global torch settings
    assert torch.are_deterministic_algorithms_enabled() == det


# ------------------------------------------------------------- byte-reproducible checkpoints


def _toy_state() -> dict:
    torch.manual_seed(0)
    model = TinyModel()
    opt = torch.optim.Adam(model.parameters())
    model(torch.rand(1, 1, 8, 8)).sum().backward()
    opt.step()
    return {"kind": "last", "identity": IDENTITY, "step": 3, "model": model.state_dict(),
            "optimizer": opt.state_dict(), "rng": torch.get_rng_state()}


def test_checkpoint_bytes_do_not_depend_on_the_path(tmp_path):
    """torch.save to a path named the zip's folder after the (random) temporary file."""
    import hashlib
    import zipfile

    from simart.train.checkpoint import save_checkpoint

    paths = [tmp_path / "a" / "best.pt", tmp_path / "b" / "other_name.pt"]
    for p in paths:
        save_checkpoint(p, _toy_state())
    a, b = (p.read_bytes() for p in paths)
    assert hashlib.sha256(a).hexdigest() == hashlib.sha256(b).hexdigest()
    names = zipfile.ZipFile(paths[0]).namelist()
    assert names and all(n.startswith("archive/") for n in names), names
    assert load_checkpoint(paths[1])["step"] == 3


def test_checkpoint_written_to_a_path_by_older_code_still_loads(tmp_path):
    from simart.train.checkpoint import FORMAT, FORMAT_VERSION

    old = tmp_path / ".best.pt.x1y2z3.tmp.pt"  # the old code's folder name in the zip
    torch.save({"format": FORMAT, "format_version": FORMAT_VERSION, **_toy_state()}, old)
    final = old.rename(tmp_path / "best.pt")
    ckpt = load_checkpoint(final)
    assert ckpt["step"] == 3 and torch.equal(ckpt["rng"], _toy_state()["rng"])


def test_two_identical_runs_give_sha256_identical_best_pt(tmp_path):
    import hashlib

    s = settings(steps=10, val_every=5, checkpoint_every=5)
    run(tmp_path / "a", s)
    run(tmp_path / "b", s)
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()
    assert digest(tmp_path / "a" / "best.pt") == digest(tmp_path / "b" / "best.pt")
