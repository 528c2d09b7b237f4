"""Typed hyper-parameters (simart.specs.hparams): every preset validates through its model's
pydantic family class, every kind of constraint refuses a bad value naming the model, the
key, the value and what is allowed, and resolve_hparams returns the presets unchanged."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Literal, get_args, get_origin

import pytest
from pydantic import BaseModel, ValidationError

from simart.specs.hparam_types import HParams, describe
from simart.specs.hparams import (
    DEFAULT_HPARAMS,
    PAPER_HPARAMS,
    DnCNNHParams,
    N2VHParams,
    PINNEDHParams,
    UNetHParams,
    UNetRCANHParams,
    hparams_class,
    resolve_hparams,
    validate_hparams,
)
from simart.specs.hparams_diffusion import (
    CondDDPMHParams,
    PCSDHParams,
    PIDDPMHParams,
)
from simart.specs.hparams_gan import (
    CycleGANHParams,
    PDANetDAHParams,
    PDANetHParams,
    Pix2PixHParams,
)
from simart.specs.models import MODELS

LEARNED = [n for n, m in MODELS.items() if m.learned]
FAMILIES = {
    UNetHParams: ["unet", "care", "n2n"], N2VHParams: ["n2v"], DnCNNHParams: ["dncnn"],
    PINNEDHParams: ["pinned"], UNetRCANHParams: ["unet_rcan"],
    PCSDHParams: ["pcsd", "pcsd_no_physics", "pcsd_no_modality", "pcsd_no_cycle",
                  "pcsd_no_perceptual", "pcsd_no_tv", "pcsd_diffusion_only",
                  "pcsd_physics_only"],
    PIDDPMHParams: ["pi_ddpm", "pi_ddpm_l2", "pi_ddpm_plain"],
    CondDDPMHParams: ["cond_ddpm"], CycleGANHParams: ["cyclegan"],
    Pix2PixHParams: ["pix2pix"], PDANetDAHParams: ["pdanet_da", "pdanet_da_ws"],
    PDANetHParams: ["pdanet"],
}


def _refused(model: str, given: dict) -> str:
    with pytest.raises(ValueError) as exc:
        resolve_hparams(model, given)
    return str(exc.value)


# --------------------------------------------------------------- classes and presets

def test_every_learned_model_names_its_family_class():
    assert sorted(LEARNED) == sorted(DEFAULT_HPARAMS) == sorted(PAPER_HPARAMS)
    assert sorted(n for names in FAMILIES.values() for n in names) == sorted(LEARNED)
    for cls, names in FAMILIES.items():
        for name in names:
            assert hparams_class(name) is cls, name
            assert MODELS[name].hparams == cls.__name__
    for cls in FAMILIES:
        assert issubclass(cls, HParams)
        assert cls.model_config["extra"] == "forbid" and cls.model_config["frozen"]
        assert cls.model_config["strict"]


@pytest.mark.parametrize("table", [DEFAULT_HPARAMS, PAPER_HPARAMS], ids=["default", "paper"])
def test_every_preset_validates_and_has_exactly_the_class_fields(table):
    for name, preset in table.items():
        cls = hparams_class(name)
        assert set(preset) == set(cls.model_fields), name
        h = validate_hparams(name, preset)
        assert isinstance(h, cls)
        for key, value in preset.items():        # the class keeps the values (ints as floats)
            assert getattr(h, key) == value, (name, key)
        cls.model_validate(preset)               # the preset alone, without the defaults


def test_resolve_hparams_returns_exactly_the_presets():
    for name in LEARNED:
        for given, expected in ((None, DEFAULT_HPARAMS[name]), ({}, DEFAULT_HPARAMS[name]),
                                (PAPER_HPARAMS[name], PAPER_HPARAMS[name])):
            out = resolve_hparams(name, given)
            assert out == expected and out is not expected
            assert list(out) == list(DEFAULT_HPARAMS[name])  # the defaults' key order
            assert [type(v) for v in out.values()] == [type(expected[k]) for k in out]
    # the given values as given: an int for a number stays an int, a tuple a tuple
    out = resolve_hparams("pcsd", {"lambda_tv": 0, "mults": (1, 2)})
    assert type(out["lambda_tv"]) is int and out["mults"] == (1, 2)
    assert resolve_hparams("unet", {"width": 4})["width"] == 4


def test_validated_hyper_parameters_are_frozen():
    h = validate_hparams("unet")
    with pytest.raises(ValidationError):
        h.width = 4


def test_every_field_has_a_description_of_what_is_allowed():
    for cls in FAMILIES:
        for key, field in cls.model_fields.items():
            text = describe(field)
            assert text and not text.startswith("a <"), (cls.__name__, key, text)


# ---------------------------------------------------------------- refused values

@pytest.mark.parametrize(("model", "given", "message"), [
    # UNet-like CNNs: choices, odd / positive integers, strict bools
    ("unet", {"kernel": 4}, "model 'unet': hyper-parameter 'kernel' = 4 must be odd"),
    ("care", {"kernel": 0}, ("model 'care': hyper-parameter 'kernel' = 0 must be a positive "
                            "integer")),
    ("unet", {"loss": "huber"},
     "model 'unet': hyper-parameter 'loss' = 'huber'; allowed: ['mse', 'mae']"),
    ("n2n", {"upsample": "cubic"},
     ("model 'n2n': hyper-parameter 'upsample' = 'cubic'; allowed: ['transpose', 'nearest', "
     "'bilinear']")),
    ("unet", {"width": 0}, "model 'unet': hyper-parameter 'width' = 0 must be a positive integer"),
    ("unet", {"width": 2.0}, "hyper-parameter 'width' = 2.0 must be a positive integer"),
    ("unet", {"width": "8"}, "hyper-parameter 'width' = '8' must be a positive integer"),
    ("unet", {"residual": 1}, ("model 'unet': hyper-parameter 'residual' = 1 must be true or "
                              "false")),
    ("unet", {"residual": "yes"}, "hyper-parameter 'residual' = 'yes' must be true or false"),
    # N2V: half-open number interval, odd integer with a lower bound
    ("n2v", {"mask_fraction": 0.5},
     "model 'n2v': hyper-parameter 'mask_fraction' = 0.5 must be in (0, 0.25]"),
    ("n2v", {"mask_fraction": 0}, "'mask_fraction' = 0 must be in (0, 0.25]"),
    ("n2v", {"neighbourhood": 4}, "model 'n2v': hyper-parameter 'neighbourhood' = 4 must be odd"),
    ("n2v", {"neighbourhood": 1}, "'neighbourhood' = 1 must be an integer >= 3"),
    # DnCNN: its stricter depth, with the reason
    ("dncnn", {"depth": 2}, ("model 'dncnn': hyper-parameter 'depth' = 2 must be an integer"
                            " >= 3 (first conv, >= 1 conv+BN, last conv)")),
    ("dncnn", {"norm": "group"}, "'norm' = 'group'; allowed: ['none', 'batch']"),
    # PINNED: numbers >= 0, finite
    ("pinned", {"lambda_tv": -1}, ("model 'pinned': hyper-parameter 'lambda_tv' = -1 must be a "
                                  "number >= 0")),
    ("pinned", {"leaky_slope": float("nan")}, "'leaky_slope' = nan must be a number >= 0"),
    ("pinned", {"skips": 0}, "'skips' = 0 must be true or false"),
    ("pinned", {"act": "gelu"}, "'act' = 'gelu'; allowed: ['relu', 'leaky_relu', 'silu']"),
    # UNet-RCAN: [0, 1)
    ("unet_rcan", {"dropout": 1.0}, ("model 'unet_rcan': hyper-parameter 'dropout' = 1.0 must "
                                    "be in [0, 1)")),
    ("unet_rcan", {"n_groups": 0}, "'n_groups' = 0 must be a positive integer"),
    # PCSD: integer choices of the same type, integer lists, strings, open bounds
    ("pcsd", {"stem": 3}, "model 'pcsd': hyper-parameter 'stem' = 3; allowed: [1, 2]"),
    ("pcsd", {"stem": True}, "'stem' = True; allowed: [1, 2]"),
    ("pcsd", {"stem": 1.0}, "'stem' = 1.0; allowed: [1, 2]"),
    ("pcsd", {"mults": []},
     "model 'pcsd': hyper-parameter 'mults' = [] must be a non-empty list of positive integers"),
    ("pcsd", {"mults": [1, 0]}, ("'mults' = [1, 0] must be a non-empty list of positive "
                                "integers")),
    ("pcsd", {"mults": [1, 2.0]}, "'mults' = [1, 2.0] must be a non-empty list"),
    ("pcsd", {"mults": "124"}, "'mults' = '124' must be a non-empty list"),
    ("pcsd", {"width": 0}, "model 'pcsd': hyper-parameter 'width' = 0 must be a positive"),
    ("pcsd", {"eta": float("inf")}, "'eta' = inf must be a number >= 0"),
    ("pcsd", {"sigma_data": 0}, "'sigma_data' = 0 must be a number > 0"),
    ("pcsd", {"stop": 1.0}, "'stop' = 1.0 must be in [0, 1)"),
    ("pcsd", {"start": 1.5}, "'start' = 1.5 must be in [0, 1]"),
    ("pcsd", {"vgg_weights": None}, ("model 'pcsd': hyper-parameter 'vgg_weights' = None must "
                                    "be a string (a path; '' = the default location)")),
    ("pcsd_no_tv", {"guide_wrt": "y"}, ("model 'pcsd_no_tv': hyper-parameter 'guide_wrt' = 'y';"
                                       " allowed: ['x_t', 'x0']")),
    # PI-DDPM
    ("pi_ddpm", {"reg": "tv"}, ("model 'pi_ddpm': hyper-parameter 'reg' = 'tv'; allowed: "
                               "['none', 'l1', 'l2']")),
    ("pi_ddpm_plain", {"physics": 1}, "'physics' = 1 must be true or false"),
    ("pi_ddpm_l2", {"T": 0}, "'T' = 0 must be a positive integer"),
    # conditional DDPM: open interval, lists of indices >= 0 (may be empty)
    ("cond_ddpm", {"cosine_s": 1}, ("model 'cond_ddpm': hyper-parameter 'cosine_s' = 1 must be "
                                   "in (0, 1)")),
    ("cond_ddpm", {"cosine_s": 0.0}, "'cosine_s' = 0.0 must be in (0, 1)"),
    ("cond_ddpm", {"attn_levels": [-1]},
     "'attn_levels' = [-1] must be a list of integers >= 0 (level indices)"),
    ("cond_ddpm", {"attn_levels": {1}}, "'attn_levels' = {1} must be a list of integers >= 0"),
    ("cond_ddpm", {"mp_lr_scale": 0}, "'mp_lr_scale' = 0 must be a number > 0"),
    ("cond_ddpm", {"entropy": "shannon"}, "allowed: ['histogram', 'gaussian']"),
    # GANs: bounded integers, odd kernels, reasons of bounds
    ("cyclegan", {"n_layers_d": 7}, ("model 'cyclegan': hyper-parameter 'n_layers_d' = 7 must be"
                                    " an integer in [1, 6]")),
    ("cyclegan", {"outer_kernel": 4}, "'outer_kernel' = 4 must be odd"),
    ("cyclegan", {"dropout": -0.1}, "'dropout' = -0.1 must be in [0, 1)"),
    ("cyclegan", {"deg_noise_line": -1},
     "'deg_noise_line' = -1 must be in [0, 1] (data units)"),
    ("cyclegan", {"gan_loss": "wgan"}, "'gan_loss' = 'wgan'; allowed: ['lsgan', 'bce']"),
    ("pix2pix", {"unet_downs": 11}, ("model 'pix2pix': hyper-parameter 'unet_downs' = 11 must "
                                    "be an integer in [2, 10]")),
    ("pix2pix", {"gen_arch": "vit"}, "'gen_arch' = 'vit'; allowed: ['resnet', 'unet']"),
    ("pdanet_da", {"target_subset": -1},
     ("model 'pdanet_da': hyper-parameter 'target_subset' = -1 must be an integer >= 0 "
     "(a subset index)")),
    ("pdanet", {"ndf_fa": 0}, ("model 'pdanet': hyper-parameter 'ndf_fa' = 0 must be a positive"
                              " integer")),
    ("pdanet", {"lambda_fa": -0.1}, "'lambda_fa' = -0.1 must be a number >= 0"),
])
def test_a_bad_value_is_refused_naming_model_key_value_and_what_is_allowed(model, given,
                                                                           message):
    assert message in _refused(model, given)


def test_bools_are_not_numbers_and_numbers_are_not_bools():
    for name in LEARNED:
        cls = hparams_class(name)
        for key, field in cls.model_fields.items():
            kind = field.annotation
            if kind in (int, float):
                bad = [True, False]
            elif kind is bool:
                bad = [1, 0, 1.0]
            elif get_origin(kind) is list:
                bad = [[True]]
            else:
                continue
            for value in bad:
                msg = _refused(name, {key: value})
                assert msg.startswith(f"model {name!r}: hyper-parameter {key!r} = {value!r} "
                                      "must be "), msg


def test_choices_refuse_equal_values_of_another_type():
    for name in LEARNED:
        for key, field in hparams_class(name).model_fields.items():
            if get_origin(field.annotation) is not Literal:
                continue
            options = list(get_args(field.annotation))
            for option in (o for o in options if isinstance(o, int)):
                for other in (float(option), *([True] if option == 1 else [])):
                    assert _refused(name, {key: other}).endswith(f"; allowed: {options}")


@pytest.mark.parametrize("name", LEARNED)
def test_an_unknown_key_is_refused_with_the_allowed_keys(name):
    msg = _refused(name, {"foo": 1})
    assert msg == (f"model {name!r}: unknown hyper-parameter 'foo'; "
                   f"allowed: {sorted(DEFAULT_HPARAMS[name])}")
    # a key of another family is unknown too
    assert "unknown hyper-parameter" in _refused("unet", {"mults": [1, 2]})


def test_unknown_model_and_several_problems():
    with pytest.raises(ValueError, match=r"unknown model 'bar'; allowed: \[.*'unet'"):
        resolve_hparams("bar", {})
    lines = _refused("unet", {"kernel": 2, "lr": 1e-3, "width": 0}).splitlines()
    assert lines == [
        "model 'unet': hyper-parameter 'kernel' = 2 must be odd",
        ("model 'unet': unknown hyper-parameter 'lr'; allowed: ['act', 'convs', 'depth', "
        "'kernel', 'loss', 'norm', 'residual', 'upsample', 'width']"),
        "model 'unet': hyper-parameter 'width' = 0 must be a positive integer",
    ]


def test_a_spec_may_name_its_class_by_dotted_path(monkeypatch):
    spec = MODELS["unet"]
    monkeypatch.setitem(MODELS, "unet", replace(spec, hparams="simart.specs.hparams.UNetHParams"))
    assert hparams_class("unet") is UNetHParams
    monkeypatch.setitem(MODELS, "unet", replace(spec, hparams="Field"))
    with pytest.raises(TypeError, match="'Field' is not an HParams class"):
        resolve_hparams("unet")
    monkeypatch.setitem(MODELS, "unet", replace(spec, hparams=""))
    with pytest.raises(ValueError, match="names no hyper-parameter class"):
        resolve_hparams("unet")


def test_a_family_class_alone_refuses_missing_and_extra_keys():
    with pytest.raises(ValidationError):
        UNetHParams.model_validate({k: v for k, v in DEFAULT_HPARAMS["unet"].items()
                                    if k != "depth"})
    with pytest.raises(ValidationError):
        UNetHParams.model_validate({**DEFAULT_HPARAMS["unet"], "foo": 1})
    assert issubclass(UNetHParams, BaseModel)
    assert math.isclose(N2VHParams.model_validate(DEFAULT_HPARAMS["n2v"]).mask_fraction, 0.02)
