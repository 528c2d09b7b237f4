"""The cost model (simart.workflow.cost, python -m simart.plan_cost): FLOPs counted on the
real layers, training cost linear in steps, every family printed, the workstation preset
within one H100-day, bad GPU names refused by name."""

from __future__ import annotations

import logging

import pytest
import torch

from simart.config import validate_config
from simart.plan_cost import main
from simart.specs.hardware import GPUS, gpu
from simart.workflow import cost


@pytest.fixture(autouse=True)
def _quiet():
    logging.getLogger("simart.models.pcsd").setLevel(logging.ERROR)


def test_conv_flops_equal_the_analytic_count():
    conv = torch.nn.Conv2d(3, 8, 3, padding=1)
    x = torch.rand(2, 3, 16, 16)
    total, attention = cost.count_flops(lambda: conv(x))
    # 2 FLOPs (multiply + add) per weight per output pixel
    assert total == 2 * 2 * 8 * 16 * 16 * 3 * 3 * 3 and attention == 0


def test_cpu_attention_is_counted_and_fits_its_quadratic_growth():
    q = torch.rand(1, 2, 64, 8)
    total, attention = cost.count_flops(
        lambda: torch.nn.functional.scaled_dot_product_attention(q, q, q))
    assert total == attention == 2 * (2 * 64 * 64 * 8) * 2  # q k^T and (.) v, 2 heads


def _unet_only(steps: int) -> validate_config:
    raw = {"evaluate": {"models": ["noisy", "unet"], "datasets": ["simart"],
                        "metrics": ["psnr"]},
           "stem_lattice": {"enabled": False}, "stm_cu111": {"enabled": False},
           "lm": {"enabled": False}, "simart": {"modalities": ["SEM"]},
           "train": {"defaults": {"steps": steps, "val_images": 0}}}
    return validate_config(raw)


def test_training_cost_is_linear_in_steps_and_counted_on_the_real_model():
    rates = cost.stated_rates()
    lines = {}
    for steps in (100, 300):
        cfg = _unet_only(steps)
        lines[steps] = [x for x in cost.project(cfg, cost.FlopCounter(cfg), rates)
                        if x.family == "train"]
    assert len(lines[100]) == 1 and lines[100][0].gpu_flops > 0
    assert lines[300][0].gpu_flops == pytest.approx(3 * lines[100][0].gpu_flops, rel=1e-12)


def test_the_pixel_fit_predicts_a_direct_count():
    cfg = _unet_only(10)
    fc = cost.FlopCounter(cfg)
    fitted = fc.train_step("unet", "simart", "SEM", 2, 96)
    direct = fc._train_once("unet", "simart", "SEM", 2, 96)[0]
    assert fitted == pytest.approx(direct, rel=0.02)


def test_sampler_evaluations_follow_the_samplers():
    assert cost.sampler_evaluations({"sampler": "ddpm", "steps": 1000}, 1000) == 1000
    assert cost.sampler_evaluations({"sampler": "ddim", "steps": 50}, 1000) == 50
    # from the noised measurement at 0.3 T, stopped at 0.1 T: 5 of those timesteps
    assert cost.sampler_evaluations({"sampler": "ddim", "steps": 5, "start": 0.3,
                                     "stop": 0.1}, 1000) == 5
    assert cost.sampler_evaluations({"sampler": "ddpm", "steps": 200, "start": 0.5},
                                    200) == 101


def test_command_prints_every_family_for_the_embedded_config(capsys, tmp_path):
    out_json = tmp_path / "cost.json"
    assert main(["--configfile", "config.yaml", "--no-measure", "--json", str(out_json)]) == 0
    text = capsys.readouterr().out
    for family in cost.FAMILIES:
        assert f"\n{family} " in text, family
    assert "TOTAL" in text and "Per study" in text
    import json

    data = json.loads(out_json.read_text())
    assert set(data["by_family"]) == set(cost.FAMILIES) and data["gpu"] == "H100"


def test_workstation_preset_fits_one_h100_day():
    cfg = cost.load_config("configs/workstation.yaml")
    counter = cost.FlopCounter(cfg, cache_path=cost.FLOP_CACHE)
    lines = cost.project(cfg, counter, cost.stated_rates())
    total = cost.summarise(lines, gpu("H100"), 0.35, "stated").total
    assert 0 < total["gpu_h"] <= 24
    # every learned model of the benchmark is trained in it
    trained = {x.what.split()[1] for x in lines if x.family == "train"}
    assert trained == {n for n, m in cost.MODELS.items() if m.learned}


def test_bad_gpu_name_is_refused_naming_the_allowed_ones(capsys):
    assert main(["--gpu", "V100", "--no-measure"]) == 2
    err = capsys.readouterr().err
    assert "V100" in err and all(name in err for name in GPUS)
    assert main(["--efficiency", "1.5", "--no-measure"]) == 2
    assert "efficiency" in capsys.readouterr().err
