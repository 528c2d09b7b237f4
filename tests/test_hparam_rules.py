"""The table-driven hyper-parameter checker: every default key has a rule its default and
paper values pass, and the messages keep their form."""

from __future__ import annotations

import pytest

from simart.models.hparam_rules import Bool, Choice, Int, IntList, Number, Str
from simart.models.hparams import (
    DEFAULT_HPARAMS,
    PAPER_HPARAMS,
    check_value,
    resolve_hparams,
    rule_for,
)


def test_every_default_key_has_a_rule_its_values_pass():
    missing = [(m, k) for m, h in DEFAULT_HPARAMS.items() for k in h if rule_for(m, k) is None]
    assert not missing, f"hyper-parameters without a rule: {missing}"
    for table in (DEFAULT_HPARAMS, PAPER_HPARAMS):
        for model, h in table.items():
            for key, value in h.items():
                assert rule_for(model, key).problem(value) is None, (model, key, value)


@pytest.mark.parametrize(("model", "given", "message"), [
    ("unet", {"kernel": 4}, "model 'unet': hyper-parameter 'kernel' = 4 must be odd"),
    ("unet", {"loss": "huber"},
     "model 'unet': hyper-parameter 'loss' = 'huber'; allowed: ['mse', 'mae']"),
    ("unet", {"width": 0},
     "model 'unet': hyper-parameter 'width' = 0 must be a positive integer"),
    ("unet", {"width": True}, "hyper-parameter 'width' = True must be a positive integer"),
    ("unet", {"residual": 1}, "hyper-parameter 'residual' = 1 must be true or false"),
    ("n2v", {"mask_fraction": 0.5}, "'mask_fraction' = 0.5 must be in (0, 0.25]"),
    ("n2v", {"neighbourhood": 4}, "'neighbourhood' = 4 must be odd"),
    ("n2v", {"neighbourhood": 1}, "'neighbourhood' = 1 must be an integer >= 3"),
    ("unet_rcan", {"dropout": 1.0}, "'dropout' = 1.0 must be in [0, 1)"),
    ("pinned", {"lambda_tv": -1}, "'lambda_tv' = -1 must be a number >= 0"),
    ("dncnn", {"depth": 2}, ("model 'dncnn': hyper-parameter 'depth' = 2 must be an integer"
                             " >= 3 (first conv, >= 1 conv+BN, last conv)")),
    ("pcsd", {"stem": 3}, "'stem' = 3; allowed: [1, 2]"),
    ("pcsd", {"stem": True}, "'stem' = True; allowed: [1, 2]"),
    ("pcsd", {"mults": []}, "'mults' = [] must be a non-empty list of positive integers"),
    ("pcsd", {"width": 0}, "model 'pcsd': hyper-parameter 'width' = 0 must be a positive"),
    ("pcsd", {"eta": float("inf")}, "'eta' = inf must be a number >= 0"),
    ("pcsd", {"sigma_data": 0}, "'sigma_data' = 0 must be a number > 0"),
    ("pcsd", {"stop": 1.0}, "'stop' = 1.0 must be in [0, 1)"),
    ("pcsd", {"vgg_weights": None}, "'vgg_weights' = None must be a path string"),
    ("cond_ddpm", {"cosine_s": 1}, "'cosine_s' = 1 must be in (0, 1)"),
    ("cond_ddpm", {"attn_levels": [-1]},
     "'attn_levels' = [-1] must be a list of level indices >= 0"),
    ("pdanet", {"target_subset": -1},
     "'target_subset' = -1 must be an integer >= 0 (a subset index)"),
    ("pix2pix", {"unet_downs": 11}, "'unet_downs' = 11 must be an integer in [2, 10]"),
    ("cyclegan", {"n_layers_d": 7}, "'n_layers_d' = 7 must be an integer in [1, 6]"),
    ("cyclegan", {"outer_kernel": 4}, "'outer_kernel' = 4 must be odd"),
    ("cyclegan", {"dropout": -0.1}, "'dropout' = -0.1 must be in [0, 1)"),
])
def test_messages(model, given, message):
    with pytest.raises(ValueError) as exc:
        resolve_hparams(model, given)
    assert message in str(exc.value)


def test_rules_alone():
    assert Int(min=1, odd=True).problem(3) is None
    assert Int(min=2, max=10).describe() == "an integer in [2, 10]"
    assert Number(min=0, max=1, open_max=True).describe() == "in [0, 1)"
    assert Number(min=0, open_min=True).problem(0.0) == " must be a number > 0"
    assert Number().problem(float("nan")) == " must be a finite number"
    assert Bool().problem(False) is None and Str().problem("") is None
    assert IntList(min=0).problem((0, 3)) is None and IntList(min=0).problem([1.0]) is not None
    assert Choice("a", 2).problem(2) is None and Choice("a", 2).problem(2.0) is not None
    check_value("unet", "not_a_key", object())  # no rule: nothing to check
