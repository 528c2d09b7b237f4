"""benchmarks/bench_models.py measures representative models of each kind (CNN, Noise2Noise,
physics-guided diffusion with operator params, unpaired GAN) at tiny sizes: every number
positive and finite. Also the shared synthetic batch fills what each model reads."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench_models():
    return _load("bench_models")


pytestmark = pytest.mark.usefixtures("one_thread", "quiet_warnings")


@pytest.mark.parametrize("name", ["unet", "n2n", "pcsd", "cyclegan"])
def test_bench_model_numbers(bench_models, name):
    r = bench_models.bench_model(name, None, "cpu", batch=2, patch=16, steps=1, repeat=1,
                                 size=32, warmup=1)
    assert r["model"] == name and r["params"] > 0
    for key in ("step_ms", "train_images_per_s", "infer_s_per_image"):
        assert math.isfinite(r[key]) and r[key] > 0, (key, r[key])


def test_synthetic_batch_fills_what_each_model_reads(bench_models):
    timing = _load("_timing")
    from simart.models import MODEL_REGISTRY

    for name in ("n2n", "pcsd", "pi_ddpm", "pdanet", "cyclegan", "cond_ddpm"):
        cls = MODEL_REGISTRY[name]
        b = timing.synthetic_batch(cls, 4, 8)
        for field in ("x", "y2", "u", "xu", "params"):
            assert (getattr(b, field) is not None) == (field in cls.needs), (name, field)
    pcsd = timing.synthetic_batch(MODEL_REGISTRY["pcsd"], 4, 8)
    assert pcsd.subset.tolist() == [0, 1, 2, 3]   # one image per SIMART modality
    assert pcsd.params["operator_code"].tolist() == [0.0, 1.0, 2.0, 3.0]
    pi = timing.synthetic_batch(MODEL_REGISTRY["pi_ddpm"], 2, 8)
    assert pi.params["confocal"].tolist() == [0.0, 1.0] and "na" in pi.params
