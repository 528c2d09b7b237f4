"""The optional parts of the model contract the training loop and prediction serve:
operator parameters in batches, unpaired fields, several optimiser groups, extra outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from simart.models.base import Batch, RestorationModel, run_predict
from simart.physics.dataset_ops import forward_batch, param_names, stack_params
from simart.train.batches import batch_arrays, make_batch
from simart.train.data import ArrayTrainData
from simart.train.loop import TrainSettings, load_trained, train


def _data(n=6, size=16, **kw):
    rng = np.random.default_rng(0)
    x = rng.random((n, size, size)).astype(np.float32)
    return ArrayTrainData(x + 0.1 * rng.standard_normal(x.shape).astype(np.float32), x, **kw)


def test_unpaired_fields_do_not_change_the_other_fields():
    data = _data(u=np.full((3, 16, 16), 7.0, np.float32))
    kw = {"seed": 3, "batch_size": 4, "patch_size": 8, "augment": "dihedral"}
    plain = batch_arrays(data, 5, want=("y", "x"), **kw)
    more = batch_arrays(data, 5, want=("y", "x", "u", "xu"), **kw)
    for f in ("y", "x", "subset"):
        np.testing.assert_array_equal(plain[f], more[f])
    assert more["u"].shape == (4, 1, 8, 8) and np.all(more["u"] == 7.0)
    # xu defaults to clean images of the data (unpaired draws from the pool)
    assert more["xu"].shape == (4, 1, 8, 8)
    assert np.array_equal(batch_arrays(data, 5, want=("y", "xu"), **kw)["xu"], more["xu"])


def test_params_are_stacked_per_image_with_missing_names_marked():
    p = stack_params([{"a": 1.0, "s_seed": 5}, {"b": 2.0}])
    assert p["a"].dtype == torch.float64 and torch.isnan(p["a"][1])
    assert p["s_seed"].tolist() == [5, -1] and p["b"][1] == 2.0
    rows = [{"k": float(i)} for i in range(6)]
    b = make_batch(_data(params=rows), 0, TrainSettings(batch_size=3, patch_size=8),
                   ("y", "params"))
    assert set(b.params) == {"k"} and b.params["k"].shape == (3,)


def test_forward_batch_applies_each_images_own_operator():
    from simart import physics
    from simart.physics.operators import operator

    x = torch.rand(3, 1, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    rows = [{"sigma_b_nm": 1.0, "sigma_c_fov": 0.3, "charging_strength": 0.1,
             "pixel_size_nm": 0.5, "poisson_counts": 1e4, "gaussian_sigma": 0.01},
            {"defocus_nm": 50.0, "cs_mm": 1.0, "voltage_kv": 200.0, "focal_spread_nm": 3.0,
             "amplitude_contrast": 0.1,
             "convergence_mrad": 0.1, "pixel_size_nm": 0.1, "poisson_counts": 1e4,
             "gaussian_sigma": 0.01}]
    rows.append(dict(rows[0], sigma_b_nm=2.0))
    params = stack_params([dict(r, operator_code=float(operator(m).code))
                           for r, m in zip(rows, ("SEM", "TEM", "SEM"), strict=True)])
    out = forward_batch(x, params)
    for i, (mod, row) in enumerate([("SEM", rows[0]), ("TEM", rows[1]), ("SEM", rows[2])]):
        tp = {k: torch.tensor([v], dtype=torch.float64) for k, v in row.items()}
        ref = physics.forward(mod, x[i:i + 1], tp)
        torch.testing.assert_close(out[i:i + 1], ref)
    assert set(param_names("simart", "SEM")) <= set(rows[0])
    # the operator is the image's operator_code, never guessed from its parameter names
    with pytest.raises(ValueError, match="carry no 'operator_code'"):
        forward_batch(x, stack_params(rows))


class _TwoGroups(RestorationModel):
    """A toy 'GAN': group a is updated first, then group b; records the order."""

    name = "unet"  # a registered name, so load_trained can build it
    needs = ("x", "xu")

    def __init__(self):
        nn.Module.__init__(self)
        self.hparams = {}
        self.a = nn.Conv2d(1, 1, 3, padding=1)
        self.b = nn.Conv2d(1, 1, 1)
        self.order: list[str] = []

    def forward(self, y):
        return self.a(y)

    def optimizer_groups(self):
        return {"a": list(self.a.parameters()), "b": list(self.b.parameters())}

    def training_step(self, batch: Batch, gen, update):
        la = ((self.a(batch.y) - batch.x) ** 2).mean()
        update("a", la)
        self.order.append("a")
        lb = ((self.b(batch.xu) - batch.xu) ** 2).mean()
        update("b", lb)
        self.order.append("b")
        return la + lb, {"la": la.detach(), "lb": lb.detach()}


def test_two_optimiser_groups_are_updated_in_the_models_order_and_resumed(tmp_path):
    settings = TrainSettings(steps=6, batch_size=2, patch_size=8, checkpoint_every=3,
                             val_every=3, val_images=2, log_every=1, seed=1)
    torch.manual_seed(0)
    m = _TwoGroups()
    a0, b0 = m.a.weight.detach().clone(), m.b.weight.detach().clone()
    summary = train(m, _data(), _data(), settings, tmp_path / "full", identity={"model": "t"})
    assert m.order == ["a", "b"] * 6 and summary["steps"] == 6
    assert not torch.equal(a0, m.a.weight) and not torch.equal(b0, m.b.weight)
    # interrupted after step 3, resumed: same weights (two optimisers' states restored)
    torch.manual_seed(0)
    m2 = _TwoGroups()

    class Stop(Exception):
        pass

    def stop(step):
        if step == 3:
            raise Stop

    with pytest.raises(Stop):
        train(m2, _data(), _data(), settings, tmp_path / "cut", identity={"model": "t"},
              callback=stop)
    torch.manual_seed(0)
    m3 = _TwoGroups()
    train(m3, _data(), _data(), settings, tmp_path / "cut", identity={"model": "t"})
    for k, v in m.state_dict().items():
        assert torch.equal(v, m3.state_dict()[k]), k


def test_update_must_cover_each_group_once(tmp_path):
    class Lazy(_TwoGroups):
        def training_step(self, batch, gen, update):
            loss = ((self.a(batch.y) - batch.x) ** 2).mean()
            update("a", loss)
            return loss, {}

    with pytest.raises(ValueError, match="not every group"):
        train(Lazy(), _data(), None, TrainSettings(steps=1, batch_size=2, patch_size=8),
              tmp_path, identity={"model": "t"})


def test_run_predict_passes_declared_arguments_and_splits_extra_outputs():
    class Sampler(RestorationModel):
        name = "unet"
        predict_needs = ("params", "gen")
        extra_outputs = ("std",)

        def __init__(self):
            nn.Module.__init__(self)
            self.hparams = {}

        def predict(self, y, subset=None, *, params, gen):
            noise = torch.randn(y.shape, generator=gen)
            return {"prediction": y + params["k"].view(-1, 1, 1, 1), "std": noise.abs()}

    y = torch.zeros(2, 1, 4, 4)
    pred, extra = run_predict(Sampler(), y, params={"k": torch.tensor([1.0, 2.0])},
                              gen=torch.Generator().manual_seed(0))
    assert pred[1].max() == 2.0 and set(extra) == {"std"}
    with pytest.raises(ValueError, match="needs 'params'"):
        run_predict(Sampler(), y, gen=torch.Generator())
    with pytest.raises(ValueError, match="no sampling options"):
        _TwoGroups().set_sampling(steps=3)
    assert load_trained  # the loader builds registered models (used by the predict rule)
