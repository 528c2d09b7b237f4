"""Data-parallel training (simart.train.distributed): 2 CPU processes (gloo) give the weights
of 1 process with the same global batch (a CNN and a two-group GAN), a 2-process run stopped
by a signal resumes bit-exactly on 2 processes and on 1, batches split exactly, and bad
process counts are refused by name."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from ddp_worker import MODELS, build, ddp_settings, identity, train_models
from test_train_loop import make_problem, read_log

from simart.train.batches import batch_arrays
from simart.train.checkpoint import load_checkpoint
from simart.train.data import ArrayTrainData
from simart.train.distributed import Preempted, World, launch
from simart.train.loop import train

TIMING = ("images_per_s", "elapsed_s")


def one_process(out: Path, name: str):
    """The reference: the same training in this process alone."""
    train_data, val_data = make_problem(n=8, size=16)
    model = build(name)
    train(model, train_data, val_data, ddp_settings(), out, identity=identity(name))
    return model.state_dict()


def weights(path: Path) -> dict:
    return load_checkpoint(path)["model"]


def assert_close(a: dict, b: dict, exact: bool = False) -> None:
    assert list(a) == list(b)
    for k, v in a.items():
        if exact:
            assert torch.equal(v, b[k]), k
        else:
            torch.testing.assert_close(v, b[k], rtol=1e-4, atol=1e-5, msg=k)


def strip(rows):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Uninterrupted runs: both models in 2 processes (one launch), and in 1."""
    root = tmp_path_factory.mktemp("ddp")
    summaries = launch(train_models, 2, device="cpu", kwargs={"out": str(root / "two")})
    ones = {name: one_process(root / "one" / name, name) for name in MODELS}
    return root, summaries, ones


@pytest.mark.parametrize("name", list(MODELS))
def test_two_processes_train_what_one_does(runs, name):
    root, summaries, ones = runs
    two = weights(root / "two" / name / "last.pt")
    assert_close(two, ones[name])
    # rank 0 logged the global batch's losses; the outputs are rank 0's only
    rows_two, rows_one = read_log(root / "two" / name / "log.csv"), read_log(
        root / "one" / name / "log.csv")
    assert [r["step"] for r in rows_two] == [r["step"] for r in rows_one]
    for r2, r1 in zip(rows_two, rows_one, strict=True):
        assert float(r2["loss"]) == pytest.approx(float(r1["loss"]), rel=1e-4)
    summary = summaries[name]
    assert summary["processes"] == 2 and summary["identity"] == identity(name)
    assert summary["settings"] == ddp_settings().to_dict()  # N is not part of the run's identity


def test_stopped_two_process_run_resumes_on_two_and_on_one(runs, tmp_path):
    root, _, ones = runs
    stopped = tmp_path / "stopped"
    with pytest.raises(Preempted, match="SIGUSR1"):
        launch(train_models, 2, device="cpu",
               kwargs={"out": str(stopped), "names": ("pix2pix",), "stop_after": 3})
    ckpt = load_checkpoint(stopped / "pix2pix" / "last.pt")
    assert 3 <= ckpt["step"] < 8  # the ranks agreed on a step (the signal arrives async)
    assert not any(k.startswith("module.") for k in ckpt["model"])  # no wrapper in keys
    shutil.copytree(stopped, tmp_path / "on_one")

    # resumed on 2: bit-identical to the uninterrupted 2-process run, log included
    launch(train_models, 2, device="cpu", kwargs={"out": str(stopped), "names": ("pix2pix",)})
    ref = root / "two" / "pix2pix"
    assert_close(weights(stopped / "pix2pix" / "last.pt"), weights(ref / "last.pt"), exact=True)
    assert strip(read_log(stopped / "pix2pix" / "log.csv")) == strip(read_log(ref / "log.csv"))
    assert load_checkpoint(stopped / "pix2pix" / "best.pt")["step"] == load_checkpoint(
        ref / "best.pt")["step"]

    # resumed on 1 process: what one process trains, up to float reduction order
    train_data, val_data = make_problem(n=8, size=16)
    model = build("pix2pix")
    summary = train(model, train_data, val_data, ddp_settings(), tmp_path / "on_one" / "pix2pix",
                    identity=identity("pix2pix"))
    assert summary["resumed"] and summary["processes"] == 1
    assert_close(model.state_dict(), ones["pix2pix"])


def test_batch_slices_of_the_ranks_make_the_global_batch():
    rng = np.random.default_rng(0)
    y = rng.random((5, 12, 12), dtype=np.float32)
    data = ArrayTrainData(y, 2 * y, -y, u=rng.random((3, 10, 10), dtype=np.float32))
    kw = {"seed": 3, "batch_size": 6, "patch_size": 8, "augment": "dihedral",
          "want": ("x", "y2", "u")}
    whole = batch_arrays(data, 7, **kw)
    parts = [batch_arrays(data, 7, rank=r, world=3, **kw) for r in range(3)]
    for f in ("y", "x", "y2", "u", "subset"):
        assert np.array_equal(np.concatenate([p[f] for p in parts]), whole[f]), f
        assert len(parts[0][f]) == 2


@pytest.mark.bad_input
def test_batch_that_does_not_split_is_refused():
    with pytest.raises(ValueError, match=r"batch_size 6 does not split over 4 processes"):
        World(0, 4).check_batch(6)
    train_data, val_data = make_problem(n=8, size=16)
    with pytest.raises(ValueError, match=r"multiple of 3"):
        train(build("unet"), train_data, val_data, ddp_settings(), "/nonexistent/never",
              identity=identity("unet"), world=World(0, 3))
    with pytest.raises(ValueError, match="processes must be >= 1"):
        launch(train_models, 0)


@pytest.mark.bad_input
def test_config_refuses_gpus_that_do_not_split_a_batch():
    from simart.config import ConfigError, validate_config

    assert validate_config({"train": {"gpus": 2}}).train.gpus == 2
    with pytest.raises(ConfigError, match=r"'train.defaults.batch_size' = 8 .* train.gpus = 3"):
        validate_config({"train": {"gpus": 3}})
    with pytest.raises(ConfigError, match=r"'train.models.care.batch_size' = 6"):
        validate_config({"train": {"gpus": 4, "models": {"care": {"batch_size": 6}}}})
    with pytest.raises(ConfigError, match="train.gpus"):
        validate_config({"train": {"gpus": 0}})
