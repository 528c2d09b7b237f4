"""Adversarial models (CycleGAN, pix2pix, PDA-Net and its ablation variants): generator /
discriminator architectures, weight sharing, feature alignment, the order of the
optimiser-group updates, routing at prediction, short trainings that beat the input, and
training through the loop with a bit-exact resume after SIGKILL (CPU, one thread).

Also the worker of the kill/resume test: ``python tests/test_gan_models.py OUT_DIR KILL_AT``.
"""

from __future__ import annotations

import copy
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

from simart.models import MODEL_REGISTRY, Batch, build_model, n_parameters
from simart.models.gan import (
    FeatureDiscriminator,
    PatchDiscriminator,
    ResnetGenerator,
    UnetGenerator,
    pad_to_multiple,
    reflect_pad,
)
from simart.specs.hparams import DEFAULT_HPARAMS, PAPER_HPARAMS, resolve_hparams

GAN_MODELS = ("cyclegan", "pix2pix", "pdanet_da", "pdanet_da_ws", "pdanet")
PDA_MODELS = ("pdanet_da", "pdanet_da_ws", "pdanet")
# smallest networks: fast mechanics tests
SMALL = {"ngf": 4, "n_blocks": 1, "ndf": 4, "n_layers_d": 1, "outer_kernel": 3}


@pytest.fixture(autouse=True)
def _one_thread():
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)


def small(name: str, **extra) -> dict:
    hp = {k: v for k, v in SMALL.items() if k in DEFAULT_HPARAMS[name]}
    if name == "pdanet":
        hp["ndf_fa"] = 4
    if name == "cyclegan":
        hp["lambda_identity"] = 0.5  # exercise CycleGAN's identity loss (tiny default: off)
    return {**hp, **extra}


def make(name: str, seed: int = 0, **extra):
    torch.manual_seed(seed)
    return build_model(name, small(name, **extra))


def random_batch(n: int = 2, size: int = 16, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    r = lambda: torch.rand((n, 1, size, size), generator=g)
    return Batch(y=r(), x=r(), xu=r(), u=r(), subset=torch.ones(n, dtype=torch.long))


def adam_update(model, lr: float = 1e-3):
    """An ``update(group, loss)`` like the loop's: one Adam per group, records the order."""
    opts = {g: torch.optim.Adam(p, lr=lr, betas=(0.5, 0.999))
            for g, p in model.optimizer_groups().items()}
    calls: list[str] = []

    def update(group: str, loss: torch.Tensor) -> None:
        calls.append(group)
        opts[group].zero_grad(set_to_none=True)
        loss.backward()
        opts[group].step()

    update.calls = calls  # type: ignore[attr-defined]
    return update


def snapshot(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters(remove_duplicate=False)}


def changed(model, before) -> set[str]:
    return {n for n, p in model.named_parameters(remove_duplicate=False)
            if not torch.equal(p, before[n])}


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((10 * torch.log10(1 / ((a - b) ** 2).mean((1, 2, 3)))).mean())


# ------------------------------------------------------------------------ architecture

def test_registry_and_hparams():
    for name in GAN_MODELS:
        assert MODEL_REGISTRY[name].name == name
        assert name in DEFAULT_HPARAMS and name in PAPER_HPARAMS
        assert set(PAPER_HPARAMS[name]) == set(DEFAULT_HPARAMS[name])
        resolve_hparams(name, PAPER_HPARAMS[name])  # paper values validate
    assert MODEL_REGISTRY["cyclegan"].needs == ("xu",)
    assert MODEL_REGISTRY["pix2pix"].needs == ("x",)
    for name in PDA_MODELS:
        assert MODEL_REGISTRY[name].needs == ("xu", "u")
    # the paper's weights (the PDA-Net paper §IV-C)
    for name in PDA_MODELS:
        h = PAPER_HPARAMS[name]
        assert h["lambda_d"] == h["lambda_b"] == h["lambda_cyc"] == h["lambda_da"] == 1.0
        assert h["n_blocks"] == 9 and h["outer_kernel"] == 7
    assert PAPER_HPARAMS["pdanet"]["lambda_fa"] == 0.1
    assert "lambda_fa" not in DEFAULT_HPARAMS["pdanet_da_ws"]
    assert PAPER_HPARAMS["pix2pix"]["lambda_l1"] == 100.0
    for bad in ({"gan_loss": "wgan"}, {"ngf": 0}, {"outer_kernel": 4}, {"lambda_cyc": -1},
                {"gan_norm": "group"}, {"target_subset": -1}, {"n_blocks": 0}):
        with pytest.raises(ValueError):
            resolve_hparams("pdanet", bad)
    with pytest.raises(ValueError, match="unknown hyper-parameter"):
        resolve_hparams("cyclegan", {"lambda_fa": 0.1})


def test_paper_architectures_match_the_reference_parameter_counts():
    """CycleGAN resnet_9blocks / 70x70 PatchGAN (instance norm) / pix2pix unet_256 (batch
    norm) of the reference code (junyanz/pytorch-CycleGAN-and-pix2pix, which prints 11.378 M
    / 2.765 M / 54.414 M for RGB: 11,378,179 / 2,764,737 / 54,413,955 parameters), here
    with one input and one output channel (fewer weights in the first and last layers)."""
    torch.manual_seed(0)
    rgb_extra = 2 * 64 * 49 * 2 + 2  # 7x7 first conv (3 -> 1 in) and last conv (3 -> 1 out)
    assert n_parameters(ResnetGenerator(ngf=64, n_blocks=9)) == 11_378_179 - rgb_extra
    assert n_parameters(PatchDiscriminator(1, 64, 3)) == 2_764_737 - 2 * 16 * 64
    rgb_extra = 2 * 16 * 64 + 2 * 16 * 128 + 2  # 4x4 first conv, 4x4 last transposed conv
    assert n_parameters(UnetGenerator(64, 8, "batch")) == 54_413_955 - rgb_extra


def test_reflect_pad_equals_torch():
    x = torch.randn(2, 3, 7, 9)
    for pads in ((3, 3, 3, 3), (1, 0, 0, 2), (0, 5, 6, 0)):
        assert torch.equal(reflect_pad(x, *pads),
                           torch.nn.functional.pad(x, pads, mode="reflect"))
    # padding to a multiple larger than the image (unet_256 on 128 px), 1-px sides
    for shape, m in (((1, 1, 128, 128), 256), ((2, 1, 37, 53), 4), ((1, 1, 1, 5), 8)):
        x = torch.randn(shape)
        out, h, w = pad_to_multiple(x, m)
        assert out.shape[-2] % m == 0 and out.shape[-1] % m == 0 and (h, w) == shape[-2:]
        assert torch.equal(out[..., :h, :w], x)


@pytest.mark.parametrize("size", [(37, 53), (16, 16), (5, 7)])
def test_generators_keep_any_shape(size):
    torch.manual_seed(0)
    y = torch.rand(2, 1, *size)
    for g in (ResnetGenerator(ngf=4, n_blocks=1), ResnetGenerator(4, 1, output="residual"),
              UnetGenerator(ngf=4, downs=4)):
        g.eval()
        assert g(y).shape == y.shape
    out, feats = ResnetGenerator(ngf=4, n_blocks=1).forward_features(y)
    h4, w4 = math.ceil(size[0] / 4), math.ceil(size[1] / 4)
    assert out.shape == y.shape and feats.shape == (2, 16, h4, w4)
    # residual output starts as the identity
    assert torch.allclose(ResnetGenerator(4, 1, output="residual")(y), y, atol=1e-6)


def test_models_predict_odd_sizes():
    y = torch.rand(3, 1, 37, 53)
    for name in GAN_MODELS:
        m = make(name).eval()
        with torch.no_grad():
            assert m.predict(y, torch.tensor([1, 2, 1])).shape == y.shape


def test_patchgan_receptive_field():
    """n_layers 3 = the 70x70 PatchGAN: one output logit depends on a 70x70 input window."""
    d = PatchDiscriminator(1, 4, 3, norm="none")
    y = torch.zeros(1, 1, 140, 140, requires_grad=True)
    out = d(y)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = torch.nonzero(y.grad[0, 0].abs().sum(1)).flatten()
    cols = torch.nonzero(y.grad[0, 0].abs().sum(0)).flatten()
    assert int(rows[-1] - rows[0] + 1) == 70 and int(cols[-1] - cols[0] + 1) == 70


# ----------------------------------------------------------------------- weight sharing

@pytest.mark.parametrize("name", PDA_MODELS)
def test_weight_sharing(name):
    m = make(name)
    shared = m.g_da.up is m.g_d.up
    assert shared == (name != "pdanet_da")
    up_d = {id(p) for p in m.g_d.up.parameters()}
    assert ({id(p) for p in m.g_da.up.parameters()} == up_d) == shared
    # down path and residual blocks are never shared (domain-specific, §III-C1)
    down = {id(p) for p in [*m.g_d.down.parameters(), *m.g_d.blocks.parameters()]}
    assert not down & {id(p) for p in [*m.g_da.down.parameters(), *m.g_da.blocks.parameters()]}
    # every parameter in exactly one optimiser group, shared ones once
    groups = m.optimizer_groups()
    ids = [id(p) for ps in groups.values() for p in ps]
    assert len(ids) == len(set(ids)) == len(list(m.parameters()))
    assert set(groups) == {"generators", "discriminators"}
    if not shared:
        return
    # a gradient step through G_DA alone changes G_D's up path (one tensor, both generators)
    m2 = copy.deepcopy(m)
    assert m2.g_da.up is m2.g_d.up  # deepcopy / channels-last conversion keep the sharing
    m2.to(memory_format=torch.channels_last)
    assert m2.g_da.up is m2.g_d.up
    y = torch.rand(2, 1, 16, 16)
    before = snapshot(m)
    opt = torch.optim.SGD(m.optimizer_groups()["generators"], lr=0.1)
    (m.g_da(y) - 1).square().mean().backward()
    opt.step()
    moved = changed(m, before)
    assert moved and all(n.startswith(("g_da.", "g_d.up.")) for n in moved)
    assert any(n.startswith("g_d.up.") for n in moved)
    assert not any(n.startswith(("g_d.down.", "g_d.blocks.")) for n in moved)
    # ... and a step through G_D alone changes G_DA's up path
    before = snapshot(m)
    opt.zero_grad()
    (m.g_d(y) - 1).square().mean().backward()
    opt.step()
    assert any(n.startswith("g_da.up.") for n in changed(m, before))
    # the state dict round trip keeps one tensor
    m3 = make(name, seed=1)
    m3.load_state_dict(m.state_dict())
    assert m3.g_da.up is m3.g_d.up
    assert torch.equal(m3.g_da.up.last.weight, m.g_d.up.last.weight)


# -------------------------------------------------------------------- feature alignment

def test_feature_alignment_sees_the_bottleneck_features():
    m = make("pdanet")
    assert isinstance(m.d_fa, FeatureDiscriminator)
    assert not hasattr(make("pdanet_da_ws"), "d_fa")
    seen, bottleneck = [], {}
    m.d_fa.register_forward_hook(lambda mod, inp, out: seen.append(inp[0]))
    for tag, g in (("d", m.g_d), ("da", m.g_da)):
        g.blocks.register_forward_hook(
            lambda mod, inp, out, tag=tag: bottleneck.setdefault(tag, out))
    b = random_batch(n=2, size=20)
    m.training_step(b, torch.Generator().manual_seed(0), adam_update(m))
    # D step (detached real = phi_DA(I_E), fake = phi_D(I_BS)), then the generators' step
    assert len(seen) == 4
    c = m.g_d.feature_channels
    for t in seen:
        assert t.shape == (2, c, 5, 5)  # 20 px / 4
    assert seen[0].data_ptr() == bottleneck["da"].data_ptr() and not seen[0].requires_grad
    assert seen[1].data_ptr() == bottleneck["d"].data_ptr() and not seen[1].requires_grad
    assert seen[2] is bottleneck["da"] and seen[3] is bottleneck["d"]
    assert seen[2].requires_grad and seen[3].requires_grad  # the generators align them
    # the features come from the generators' own down path + residual blocks
    with torch.no_grad():
        assert torch.equal(m.g_da.encode(b.u)[1], m.g_da.blocks(m.g_da.down(2 * b.u - 1)))


def test_feature_alignment_loss_reaches_only_the_feature_extractors():
    m = make("pdanet", lambda_d=0.0, lambda_b=0.0, lambda_da=0.0, lambda_cyc=0.0)
    before = snapshot(m)
    update = adam_update(m)
    m.training_step(random_batch(), torch.Generator().manual_seed(0), update)
    moved_g = {n for n in changed(m, before) if n.startswith("g_")}
    assert moved_g and all(n.startswith(("g_d.down", "g_d.blocks", "g_da.down", "g_da.blocks"))
                           for n in moved_g)


# ------------------------------------------------------------------- training mechanics

def group_of(model, name: str) -> str:
    groups = model.optimizer_groups()
    p = dict(model.named_parameters(remove_duplicate=False))[name]
    return next(g for g, ps in groups.items() if any(q is p for q in ps))


@pytest.mark.parametrize("name", GAN_MODELS)
def test_update_order_and_what_each_update_changes(name):
    m = make(name, output="tanh")  # residual: only the zero-initialised last conv has grads
    opts = {g: torch.optim.Adam(p, lr=1e-3, betas=(0.5, 0.999))
            for g, p in m.optimizer_groups().items()}
    calls, moved = [], {}
    state = {"before": snapshot(m)}

    def update(group, loss):
        calls.append(group)
        opts[group].zero_grad(set_to_none=True)
        loss.backward()
        opts[group].step()
        moved[group] = changed(m, state["before"])
        state["before"] = snapshot(m)

    loss, _ = m.training_step(random_batch(), torch.Generator().manual_seed(0), update)
    expected = {"cyclegan": ["generators", "discriminators"],
                "pix2pix": ["discriminators", "generators"]}.get(
                    name, ["discriminators", "generators"])  # PDA-Net: Algorithm 1
    assert calls == expected == list(m.update_order)
    for group in calls:
        assert moved[group], group
        assert {group_of(m, n) for n in moved[group]} == {group}
    # every parameter of each group moved (the G_B / cycle / FA paths all get gradients)
    for group, params in m.optimizer_groups().items():
        names = {n for n, p in m.named_parameters(remove_duplicate=False)
                 if any(p is q for q in params)}
        assert names == moved[group], (group, names - moved[group])
    assert math.isfinite(float(loss))


EXPECTED_LOGS = {
    "cyclegan": {"g_adv_x", "g_adv_y", "cyc", "idt", "d_x", "d_y", "loss_g"},
    "pix2pix": {"d", "g_adv", "l1", "loss_g"},
    "pdanet_da": {"d_d", "d_b", "d_da", "g_d", "g_b", "g_da", "cyc_f", "cyc_b", "loss_d",
                  "loss_g"},
}
EXPECTED_LOGS["pdanet_da_ws"] = EXPECTED_LOGS["pdanet_da"]
EXPECTED_LOGS["pdanet"] = EXPECTED_LOGS["pdanet_da"] | {"d_fa", "g_fa"}


@pytest.mark.parametrize("name", GAN_MODELS)
def test_training_step_finite_with_logs(name):
    for gan_loss in ("lsgan", "bce"):
        m = make(name, gan_loss=gan_loss)
        loss, logs = m.training_step(random_batch(size=24), torch.Generator().manual_seed(0),
                                     adam_update(m))
        assert loss.ndim == 0 and math.isfinite(float(loss)) and not loss.requires_grad
        assert set(logs) == EXPECTED_LOGS[name]
        assert all(isinstance(v, float) and math.isfinite(v) for v in logs.values())
    # evaluation without updates: no parameter moves
    before = snapshot(m)
    with torch.no_grad():
        m.training_step(random_batch(size=24), torch.Generator().manual_seed(0),
                        lambda group, loss: None)
        m.training_step(random_batch(size=24), torch.Generator().manual_seed(0))
    assert not changed(m, before)
    # the discriminators are trainable again after the frozen generator loss
    assert all(p.requires_grad for p in m.parameters())


def test_pix2pix_with_the_unet_generator():
    m = make("pix2pix", gen_arch="unet", unet_downs=6, dropout=0.5, output="tanh")
    assert any(isinstance(mod, torch.nn.Dropout) for mod in m.g.modules())
    loss, logs = m.training_step(random_batch(size=16), torch.Generator().manual_seed(0),
                                 adam_update(m))
    assert math.isfinite(float(loss)) and set(logs) == EXPECTED_LOGS["pix2pix"]
    m.eval()
    y = torch.rand(2, 1, 37, 53)
    with torch.no_grad():  # no dropout at prediction: deterministic
        assert torch.equal(m.predict(y), m.predict(y)) and m.predict(y).shape == y.shape


@pytest.mark.parametrize("name", ["cyclegan", "pdanet"])
def test_optional_paired_term(name):
    """``lambda_paired`` > 0 (not in the papers): an L1 term on the paired clean image; the
    instance then also needs ``x``."""
    assert "x" not in make(name).needs
    m = make(name, lambda_paired=10.0)
    assert m.needs[0] == "x" and set(type(m).needs) <= set(m.needs)
    _, logs = m.training_step(random_batch(), torch.Generator().manual_seed(0), adam_update(m))
    assert "paired_l1" in logs
    b = random_batch()
    with pytest.raises(ValueError, match="batch.x"):
        m.training_step(Batch(y=b.y, xu=b.xu, u=b.u), torch.Generator())


def test_missing_unpaired_field_is_a_clear_error():
    b = random_batch()
    with pytest.raises(ValueError, match="batch.u"):
        make("pdanet").training_step(Batch(y=b.y, x=b.x, xu=b.xu), torch.Generator())
    with pytest.raises(ValueError, match="batch.xu"):
        make("cyclegan").training_step(Batch(y=b.y, x=b.x), torch.Generator())


def test_pdanet_never_reads_the_paired_clean_image():
    """Unpaired training (the PDA-Net paper §III-A): the loss does not depend on batch.x."""
    b = random_batch()
    m = make("pdanet")
    g = lambda: torch.Generator().manual_seed(0)
    with torch.no_grad():
        l1 = m.training_step(b, g())[1]
        l2 = m.training_step(Batch(y=b.y, x=None, xu=b.xu, u=b.u, subset=b.subset), g())[1]
    assert l1 == l2


@pytest.mark.parametrize("name", PDA_MODELS)
def test_predict_routes_the_target_domain_through_g_da(name):
    m = make(name, output="tanh").eval()
    # make G_D and G_DA clearly different
    with torch.no_grad():
        for p in m.g_da.down.parameters():
            p.add_(0.3)
        if m.g_da.up is not m.g_d.up:
            m.g_da.up.last.bias.add_(0.2)
    y = torch.rand(4, 1, 21, 19)
    with torch.no_grad():
        out = m.predict(y, torch.tensor([1, 2, 1, 2]))
        d, da = m.g_d(y), m.g_da(y)
        assert not torch.allclose(d, da)
        assert torch.allclose(out[[0, 2]], d[[0, 2]], atol=1e-6)
        assert torch.allclose(out[[1, 3]], da[[1, 3]], atol=1e-6)
        assert torch.allclose(m.predict(y), d, atol=1e-6)
        assert torch.allclose(m.predict(y, torch.full((4,), 2)), da, atol=1e-6)
        assert torch.allclose(m(y), d, atol=1e-6)
        other = make(name, output="tanh", target_subset=0).eval()
        other.load_state_dict(m.state_dict())
        assert torch.allclose(other.predict(y, torch.tensor([0, 1, 0, 1]))[[0, 2]],
                              da[[0, 2]], atol=1e-6)


# ---------------------------------------------------------------- does it learn at all

def _blobs(n: int, size: int, rng) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    out = np.zeros((n, size, size), np.float32)
    for i in range(n):
        for _ in range(rng.integers(3, 7)):
            cy, cx = rng.uniform(0, size, 2)
            s = rng.uniform(1.5, 4.0)
            out[i] += rng.uniform(0.3, 1.0) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2)
                                                    / (2 * s * s))
        out[i] /= out[i].max()
    return out


def _degrade(x: np.ndarray, rng, contrast: float, offset: float, noise: float) -> np.ndarray:
    blurred = np.stack([ndi.gaussian_filter(a, 1.0) for a in x])
    return (contrast * blurred + offset + noise * rng.standard_normal(x.shape)).astype(
        np.float32)


def synthetic_task(n: int = 48, size: int = 24, seed: int = 0) -> dict[str, np.ndarray]:
    """Gaussian-blob images; 'simulated' degradation: blur, contrast 0.6, offset 0.2, noise
    0.05; 'target' domain: blur, contrast 0.5, offset 0.3, noise 0.08; unpaired pools."""
    rng = np.random.default_rng(seed)
    x = _blobs(n, size, rng)
    return {"x": x, "y": _degrade(x, rng, 0.6, 0.2, 0.05), "xu": _blobs(n, size, rng),
            "u": _degrade(_blobs(n, size, rng), rng, 0.5, 0.3, 0.08),
            "x_test": (xt := _blobs(12, 32, rng)), "y_test": _degrade(xt, rng, 0.6, 0.2, 0.05),
            "ux_test": (ut := _blobs(12, 32, rng)),
            "u_test": _degrade(ut, rng, 0.5, 0.3, 0.08)}


LEARN = {"ngf": 4, "n_blocks": 1, "ndf": 8, "n_layers_d": 2, "outer_kernel": 3}


# measured gains (dB): pix2pix 9.0 (150 steps), cyclegan 6.7 (150), pdanet ~6 (G_D) and
# ~4 (G_DA, target domain) after 100-120 steps
@pytest.mark.parametrize("name,steps,min_gain", [("pix2pix", 150, 3.0), ("cyclegan", 150, 2.0),
                                                 ("pdanet", 120, 1.5)])
def test_short_training_beats_the_input(name, steps, min_gain):
    d = synthetic_task()
    hp = {k: v for k, v in LEARN.items() if k in DEFAULT_HPARAMS[name]}
    if name == "pdanet":
        hp["ndf_fa"] = 8
    torch.manual_seed(0)
    m = build_model(name, hp).to(memory_format=torch.channels_last)
    update = adam_update(m, lr=1e-3)
    rng = np.random.default_rng(1)
    t = lambda a: torch.from_numpy(a)[:, None]
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        i = rng.integers(0, len(d["y"]), 8)
        b = Batch(y=t(d["y"][i]), x=t(d["x"][i]), xu=t(d["xu"][rng.integers(0, 48, 8)]),
                  u=t(d["u"][rng.integers(0, 48, 8)]), subset=torch.ones(8, dtype=torch.long))
        m.training_step(b.to("cpu"), gen, update)
    m.eval()
    with torch.no_grad():
        y, x = t(d["y_test"]), t(d["x_test"])
        gain = psnr(m.predict(y, torch.ones(12, dtype=torch.long)), x) - psnr(y, x)
        assert gain > min_gain, gain
        if name == "pdanet":  # the target domain through G_DA
            u, ux = t(d["u_test"]), t(d["ux_test"])
            gain_u = psnr(m.predict(u, torch.full((12,), 2)), ux) - psnr(u, ux)
            assert gain_u > min_gain, gain_u


# ---------------------------------------------------------- through the training loop

def loop_problem():
    from simart.train.data import ArrayTrainData

    d = synthetic_task(n=16, size=24)
    train = ArrayTrainData(d["y"], d["x"], subset=np.ones(16, np.int64),
                           subsets=["clean", "blurry", "experimental"], u=d["u"], xu=d["xu"])
    val = ArrayTrainData(d["y_test"][:4], d["x_test"][:4], subset=np.ones(4, np.int64),
                         subsets=["clean", "blurry", "experimental"])
    return train, val


def loop_run(out_dir: Path, callback=None, steps: int = 6):
    from simart.train.loop import TrainSettings, train

    torch.manual_seed(0)
    model = build_model("pdanet", small("pdanet"))
    settings = TrainSettings(steps=steps, batch_size=4, patch_size=16, lr=2e-4,
                             betas=(0.5, 0.999), checkpoint_every=2, val_every=3,
                             val_images=4, log_every=1, threads=1)
    tr, va = loop_problem()
    summary = train(model, tr, va, settings, out_dir,
                    identity={"model": "pdanet", "hparams": model.hparams}, callback=callback)
    return model, summary


def _loop_ready() -> bool:
    from simart.train import loop

    return hasattr(loop, "optimizer_groups")


@pytest.mark.skipif(not _loop_ready(), reason="training loop without optimiser groups")
def test_training_loop_and_bit_exact_resume_after_sigkill(tmp_path):
    import csv

    from simart.train.checkpoint import load_checkpoint

    ref, summary = loop_run(tmp_path / "ref")
    assert summary["steps"] == 6
    with open(tmp_path / "ref" / "log.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {"d_fa", "g_fa", "cyc_f", "loss_g"} <= set(rows[0])
    assert summary["best_metric"] == "val_psnr"
    killed = tmp_path / "killed"
    proc = subprocess.run([sys.executable, __file__, str(killed), "5"],
                          check=False, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert load_checkpoint(killed / "last.pt")["step"] == 4  # killed after step 5
    resumed, summary2 = loop_run(killed)
    assert summary2["resumed"] and summary2["steps"] == 6
    a, b = ref.state_dict(), resumed.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert resumed.g_da.up is resumed.g_d.up


def _worker(out_dir: str, kill_at: int) -> None:
    def callback(step: int) -> None:
        if step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    torch.set_num_threads(1)
    loop_run(Path(out_dir), callback=callback)
    raise SystemExit("not killed: kill_at is past the last step")


if __name__ == "__main__":
    _worker(sys.argv[1], int(sys.argv[2]))


# ------------------------------------------------- stochastic degradation generator

def test_scan_noise_families_have_their_physics():
    """White: per-pixel std = amplitude; line: one offset per scan line; pink: power ~ 1/f
    along the raster scan (log-log slope -1); the sum's variance adds up."""
    from simart.models.gan import scan_noise

    shape = (4, 1, 64, 64)
    g = lambda: torch.Generator().manual_seed(3)
    white = scan_noise(shape, {"white": 0.05}, g(), "cpu")
    assert abs(float(white.std()) - 0.05) < 0.002
    line = scan_noise(shape, {"line": 0.02}, g(), "cpu")
    assert torch.equal(line, line[..., :1].expand(shape))           # constant along a row
    assert abs(float(line[..., 0].std()) - 0.02) < 0.004
    pink = scan_noise(shape, {"pink": 0.03}, g(), "cpu")
    assert torch.allclose(pink.flatten(1).std(1), torch.full((4,), 0.03), atol=1e-5)
    spec = (torch.fft.rfft(pink.flatten(1).double(), dim=-1).abs() ** 2).mean(0)[1:]
    f = torch.fft.rfftfreq(64 * 64)[1:].double()
    slope = np.polyfit(np.log(f.numpy()), np.log(spec.numpy()), 1)[0]
    assert -1.1 < slope < -0.9, slope
    both = scan_noise((64, 1, 64, 64), {"white": 0.03, "line": 0.04}, g(), "cpu")
    assert abs(float(both.std()) - 0.05) < 0.003


def test_scan_noise_zero_draws_nothing_and_unknown_family_is_an_error():
    from simart.models.gan import scan_noise

    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    assert not scan_noise((1, 1, 8, 8), {"white": 0.0}, g, "cpu").any()
    assert torch.equal(g.get_state(), state)
    with pytest.raises(ValueError, match="unknown scan-noise families.*'blue'"):
        scan_noise((1, 1, 8, 8), {"blue": 0.1}, g, "cpu")


@pytest.mark.parametrize("name", ["cyclegan", *PDA_MODELS])
def test_degradation_noise_only_in_training(name):
    """With deg_noise_* > 0 a training step draws the degradation generator's noise from
    the step's generator (so the same seed gives the same step); prediction is G_D alone,
    deterministic, identical to the model without the noise."""
    noise = {"deg_noise_white": 0.03, "deg_noise_pink": 0.03, "deg_noise_line": 0.02}
    zero = dict.fromkeys(noise, 0.0)
    b = random_batch()
    losses = {}
    for tag, hp in (("noise", noise), ("none", zero)):
        m = make(name, **hp)
        g = torch.Generator().manual_seed(0)
        state = g.get_state()
        losses[tag] = m.training_step(b, g)[1]
        assert torch.equal(g.get_state(), state) == (tag == "none")
    assert losses["noise"]["loss_g"] != losses["none"]["loss_g"]
    a, c = make(name, **noise), make(name, **zero)
    with torch.no_grad():
        assert torch.equal(a.predict(b.y, b.subset), c.predict(b.y, b.subset))
    from simart.models.cyclegan import degrade
    from simart.specs.hparams_gan import degradation_noise

    x = torch.rand((2, 1, 32, 32))
    g = torch.Generator().manual_seed(1)
    net = a.f if name == "cyclegan" else a.g_b
    with torch.no_grad():
        d = degrade(net, x, degradation_noise(a.hparams), g) - net(x)
    assert 0.03 < float(d.std()) < 0.06  # sqrt(0.03^2 + 0.03^2 + 0.02^2) = 0.047


def test_degradation_noise_defaults():
    """Embedded: on for the PDA-Net variants (stm_cu111 only), off for CycleGAN (set per
    dataset in config.yaml); the papers' presets: off everywhere."""
    for name in PDA_MODELS:
        assert resolve_hparams(name)["deg_noise_white"] > 0
    for name in ("cyclegan", *PDA_MODELS):
        assert all(PAPER_HPARAMS[name][k] == 0 for k in
                   ("deg_noise_white", "deg_noise_pink", "deg_noise_line"))
    assert resolve_hparams("cyclegan")["deg_noise_pink"] == 0
    with pytest.raises(ValueError, match="deg_noise_line"):
        resolve_hparams("pdanet", {"deg_noise_line": 2.0})
