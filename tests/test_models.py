"""CNN restoration models: registry, hyper-parameters, shapes, losses, N2V blind spot, and two
short training runs that must beat the noisy input."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from simart.models import MODEL_REGISTRY, Batch, build_model, n_parameters
from simart.models.n2v import blind_spot_mask
from simart.models.pinned import (
    brightness_loss,
    contrast_loss,
    spectral_fidelity_loss,
    tv_loss,
)
from simart.specs.hparams import DEFAULT_HPARAMS, PAPER_HPARAMS, resolve_hparams

NAMES = ["unet", "care", "dncnn", "n2n", "n2v", "pinned", "unet_rcan"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _batch(name: str, b: int = 2, size: int = 32, seed: int = 0) -> Batch:
    """A batch holding only what the model declares it needs (besides y)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((b, 1, size, size), generator=g)
    y = x + 0.1 * torch.randn(x.shape, generator=g)
    y2 = x + 0.1 * torch.randn(x.shape, generator=g)
    needs = MODEL_REGISTRY[name].needs
    return Batch(y=y, x=x if "x" in needs else None, y2=y2 if "y2" in needs else None)


# ---------------------------------------------------------------- registry and hparams

def test_every_learned_spec_builds_its_class_with_hyper_parameters():
    """The registry is built from simart.specs.models: each learned entry's class carries the
    entry's name and data needs, and has embedded and paper hyper-parameters."""
    from simart.specs.models import MODELS

    assert list(MODEL_REGISTRY)[:len(NAMES)] == NAMES
    learned = [n for n, m in MODELS.items() if m.learned]
    assert list(MODEL_REGISTRY) == learned
    assert set(learned) == set(DEFAULT_HPARAMS) == set(PAPER_HPARAMS)
    for name, cls in MODEL_REGISTRY.items():
        assert cls.name == name
        assert (cls.needs, cls.predict_needs) == (MODELS[name].needs, MODELS[name].predict_needs)


def test_build_model_unknown_name():
    with pytest.raises(ValueError, match="unknown model 'resnet'.*'unet'"):
        build_model("resnet")


def test_resolve_hparams_unknown_key_and_values():
    msg = "model 'unet': unknown hyper-parameter 'foo'; allowed: ["
    with pytest.raises(ValueError) as exc:
        resolve_hparams("unet", {"foo": 1})
    assert str(exc.value).startswith(msg) and "'depth'" in str(exc.value)
    with pytest.raises(ValueError, match="unknown model 'bar'"):
        resolve_hparams("bar", {})
    with pytest.raises(ValueError, match="'loss'"):
        resolve_hparams("unet", {"loss": "huber"})
    with pytest.raises(ValueError, match="odd"):
        resolve_hparams("care", {"kernel": 4})
    assert resolve_hparams("unet", {"width": 4})["width"] == 4
    assert resolve_hparams("unet", None) == DEFAULT_HPARAMS["unet"]
    for name in NAMES:   # the paper settings are valid hyper-parameters
        assert resolve_hparams(name, PAPER_HPARAMS[name]) == PAPER_HPARAMS[name]


def test_hparams_module_does_not_import_torch():
    code = "import sys, simart.specs.hparams; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_paper_parameter_counts():
    def count(name: str) -> int:
        with torch.device("meta"):
            return n_parameters(build_model(name, PAPER_HPARAMS[name]))

    c = 64   # DnCNN: conv(1->64)+bias, 15 x (bias-free conv 64->64 + BN), conv(64->1)+bias
    assert count("dncnn") == (9 * c + c) + 15 * (9 * c * c + 2 * c) + (9 * c + 1) == 556_097
    # Ronneberger U-Net, 1 in / 1 out: the PCSD paper Table 6 lists 31.0 M (U-Net and N2N)
    assert count("unet") == count("n2n")
    assert abs(count("unet") / 31.0e6 - 1) < 0.005
    # CSBDeep U-Net depth 2, 32 first filters, 5x5 (CARE defaults): 0.92 M
    k = 25
    care = sum(k * a * b + b for a, b in [(1, 32), (32, 32), (32, 64), (64, 64), (64, 128),
                                         (128, 64), (128, 64), (64, 32), (64, 32), (32, 32)])
    assert count("care") == care + 33
    assert 2e5 < count("n2v") < 5e5          # same plan, 3x3, BN
    assert 5e6 < count("pinned") < 2e7
    assert 5e6 < count("unet_rcan") < 3e7


def test_default_models_are_tiny():
    for name in NAMES:
        assert n_parameters(build_model(name)) < 60_000, name


# ---------------------------------------------------------------- every model

@pytest.mark.parametrize("name", NAMES)
def test_predict_keeps_odd_shapes(name):
    torch.manual_seed(0)
    model = build_model(name).eval()
    y = torch.rand((2, 1, 37, 50)) + 3.0          # outside [0, 1] on purpose
    with torch.no_grad():
        out = model.predict(y)
    assert out.shape == y.shape and out.dtype == torch.float32
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", NAMES)
def test_training_step_gives_gradients(name):
    torch.manual_seed(0)
    model = build_model(name).train()
    loss, logs = model.training_step(_batch(name), torch.Generator().manual_seed(1))
    assert loss.ndim == 0 and torch.isfinite(loss) and loss.requires_grad
    assert "loss" in logs and all(isinstance(v, float) for v in logs.values())
    assert logs["loss"] == pytest.approx(loss.item())
    loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values()), \
        [n for n, g in grads.items() if g is None]
    # zero-initialised output layers: the layer itself gets a gradient at the first step
    assert sum(float(g.abs().sum()) for g in grads.values()) > 0


@pytest.mark.parametrize("name", NAMES)
def test_construction_and_step_are_deterministic(name):
    def run():
        torch.manual_seed(3)
        model = build_model(name).train()
        loss, _ = model.training_step(_batch(name, seed=5), torch.Generator().manual_seed(7))
        return model.state_dict(), loss.item()

    (s1, l1), (s2, l2) = run(), run()
    assert l1 == l2
    assert all(torch.equal(s1[k], s2[k]) for k in s1)


def test_supervised_models_refuse_missing_target():
    with pytest.raises(ValueError, match="needs batch.x"):
        build_model("unet").training_step(Batch(y=torch.rand(1, 1, 8, 8)), torch.Generator())
    with pytest.raises(ValueError, match="needs batch.y2"):
        build_model("n2n").training_step(Batch(y=torch.rand(1, 1, 8, 8)), torch.Generator())


def test_n2n_never_reads_x():
    torch.manual_seed(0)
    model = build_model("n2n")
    b = _batch("n2n")
    assert b.x is None
    loss, _ = model.training_step(b, torch.Generator())
    assert loss.item() == pytest.approx(F.mse_loss(model(b.y), b.y2).item())


def test_dncnn_predicts_the_noise():
    torch.manual_seed(0)
    model = build_model("dncnn").eval()
    y = torch.rand(1, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(model(y), y - model.residual(y))


def test_unet_rcan_dropout_is_drawn_from_gen():
    torch.manual_seed(0)
    model = build_model("unet_rcan", {"dropout": 0.5}).train()
    b = _batch("unet_rcan")
    l1 = model.training_step(b, torch.Generator().manual_seed(1))[0].item()
    torch.manual_seed(123)                                  # global RNG must not matter
    l2 = model.training_step(b, torch.Generator().manual_seed(1))[0].item()
    l3 = model.training_step(b, torch.Generator().manual_seed(2))[0].item()
    assert l1 == l2 != l3


# ---------------------------------------------------------------- PINNED loss terms

def test_tv_loss_hand_values():
    h, w, a = 6, 8, 0.25
    ramp = (a * torch.arange(w, dtype=torch.float32)).expand(1, 1, h, w)
    assert tv_loss(ramp).item() == pytest.approx(a * h * (w - 1) / (h * w))
    step = torch.zeros(1, 1, h, w)
    step[..., w // 2:] = 1.0                      # one unit jump per row
    assert tv_loss(step).item() == pytest.approx(h / (h * w))
    both = torch.cat([ramp, step])                # batch mean
    assert tv_loss(both).item() == pytest.approx((a * (w - 1) / w + 1 / w) / 2)
    assert tv_loss(torch.full((2, 1, 5, 5), 3.0)).item() == 0.0


def test_spectral_fidelity_loss():
    g = torch.Generator().manual_seed(0)
    x = torch.rand((2, 1, 16, 16), generator=g)
    assert spectral_fidelity_loss(x, x).item() == 0.0
    # |F| is invariant under circular shifts
    assert spectral_fidelity_loss(torch.roll(x, (3, 5), (-2, -1)), x).item() < 1e-6
    assert spectral_fidelity_loss(x + 0.1 * torch.randn(x.shape, generator=g), x).item() > 0
    # hand value: unit impulse vs zeros, unitary DFT: |F| = 1/sqrt(N) at every frequency
    delta = torch.zeros(1, 1, 8, 8)
    delta[..., 0, 0] = 1.0
    assert spectral_fidelity_loss(delta, torch.zeros_like(delta)).item() == pytest.approx(1 / 8)


def test_brightness_and_contrast_losses():
    g = torch.Generator().manual_seed(0)
    x = torch.rand((3, 1, 10, 12), generator=g)
    assert brightness_loss(x + 0.2, x).item() == pytest.approx(0.2, abs=1e-6)
    assert brightness_loss(x - 0.2, x).item() == pytest.approx(0.2, abs=1e-6)
    assert contrast_loss(x + 0.2, x).item() == pytest.approx(0.0, abs=1e-6)
    sd = x.flatten(1).std(1, unbiased=False).mean().item()
    assert contrast_loss(2 * x, x).item() == pytest.approx(sd, rel=1e-5)
    const = torch.full((1, 1, 4, 4), 0.5, requires_grad=True)
    contrast_loss(const, x[:1]).backward()        # finite gradient for a flat prediction
    assert torch.isfinite(const.grad).all()


def test_pinned_total_loss_is_the_weighted_sum():
    torch.manual_seed(0)
    lam = {"lambda_tv": 0.3, "lambda_sf": 0.2, "lambda_b": 0.5, "lambda_c": 0.7}
    model = build_model("pinned", lam)
    loss, logs = model.training_step(_batch("pinned"), torch.Generator())
    want = (logs["mse"] + 0.3 * logs["tv"] + 0.2 * logs["sf"] + 0.5 * logs["brightness"]
            + 0.7 * logs["contrast"])
    assert loss.item() == pytest.approx(want, rel=1e-5)


# ---------------------------------------------------------------- N2V blind spot

def _unique_image(b: int, h: int, w: int) -> torch.Tensor:
    """Pixel value = its flat index: a value names its source pixel."""
    return torch.arange(b * h * w, dtype=torch.float32).reshape(b, 1, h, w)


@pytest.mark.parametrize("fraction,h,w,per_image", [(0.00198, 64, 64, 9), (0.02, 64, 64, 100),
                                                    (0.02, 37, 50, 6 * 8), (1e-4, 16, 16, 1)])
def test_blind_spot_mask_count_and_replacement(fraction, h, w, per_image):
    b, nb = 3, 5
    y = _unique_image(b, h, w)
    ym, mask = blind_spot_mask(y, fraction, nb, torch.Generator().manual_seed(0))
    assert mask.shape == y.shape and mask.dtype == torch.bool
    assert mask.flatten(1).sum(1).tolist() == [per_image] * b      # >= 1 per patch
    assert torch.equal(ym[~mask], y[~mask])                         # others untouched
    for bi, _, i, j in mask.nonzero().tolist():
        src = int(ym[bi, 0, i, j].item())
        sb, rest = divmod(src, h * w)
        si, sj = divmod(rest, w)
        assert sb == bi and (si, sj) != (i, j)                      # a neighbour, not itself
        assert abs(si - i) <= nb // 2 and abs(sj - j) <= nb // 2   # within the 5x5 window
        assert not mask[bi, 0, si, sj]                              # never a hidden value


def test_blind_spot_mask_is_deterministic_per_generator():
    y = torch.rand(2, 1, 32, 32)
    a = blind_spot_mask(y, 0.02, 5, torch.Generator().manual_seed(4))
    b = blind_spot_mask(y, 0.02, 5, torch.Generator().manual_seed(4))
    c = blind_spot_mask(y, 0.02, 5, torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])
    torch.manual_seed(0)                          # the global RNG plays no part
    d = blind_spot_mask(y, 0.02, 5, torch.Generator().manual_seed(4))
    assert torch.equal(a[1], d[1])


def test_n2v_network_never_sees_a_hidden_value():
    """d loss / d y at hidden pixels is exactly zero through the network input."""
    torch.manual_seed(0)
    model = build_model("n2v").train()
    y = torch.rand(2, 1, 32, 32)
    y_in = y.clone().requires_grad_(True)
    ym, mask = blind_spot_mask(y_in, 0.05, 5, torch.Generator().manual_seed(0))
    loss = (model(ym) - y)[mask].square().mean()   # target: original values, detached
    (grad,) = torch.autograd.grad(loss, y_in)
    assert mask.sum() > 0
    assert torch.count_nonzero(grad[mask]) == 0
    assert grad[~mask].abs().sum() > 0


def test_n2v_training_step_uses_only_y():
    torch.manual_seed(0)
    model = build_model("n2v")
    b = _batch("n2v")
    assert b.x is None and b.y2 is None and MODEL_REGISTRY["n2v"].needs == ()
    loss, logs = model.training_step(b, torch.Generator().manual_seed(0))
    assert torch.isfinite(loss) and 0 < logs["masked_fraction"] < 0.05


# ---------------------------------------------------------------- short training runs

def _smooth(n: int, size: int, g: torch.Generator) -> torch.Tensor:
    """Smooth random images in [0, 1]: white noise low-passed by a Gaussian (sigma 3 px)."""
    z = torch.fft.fft2(torch.randn((n, 1, size, size), generator=g))
    f = torch.fft.fftfreq(size)
    z = torch.fft.ifft2(z * torch.exp(-2 * (math.pi * 3.0) ** 2 * (f[:, None] ** 2 + f ** 2))).real
    lo, hi = z.amin((2, 3), keepdim=True), z.amax((2, 3), keepdim=True)
    return (z - lo) / (hi - lo)


def _train_psnr(name: str, blur: bool, steps: int = 150, hparams: dict | None = None
                ) -> tuple[float, float]:
    """(PSNR of the noisy input, PSNR of the estimate) on 8 held-out 32x32 images after
    ``steps`` Adam steps (lr 1e-3, batch 8) on 32 training images."""
    g = torch.Generator().manual_seed(0)
    x = _smooth(40, 32, g)
    xb = x
    if blur:   # Gaussian blur sigma 1.5 px
        k = torch.exp(-torch.arange(-4, 5.0) ** 2 / (2 * 1.5 ** 2))
        k = k / k.sum()
        xb = F.conv2d(F.pad(x, (4, 4, 4, 4), mode="reflect"), k.view(1, 1, 1, 9))
        xb = F.conv2d(xb, k.view(1, 1, 9, 1))
    y = xb + 0.05 * torch.randn(x.shape, generator=g)
    torch.manual_seed(0)
    model = build_model(name, hparams)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    for s in range(steps):
        i = torch.randint(0, 32, (8,), generator=g)
        loss, _ = model.training_step(Batch(y=y[i], x=x[i]), g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        est = model.predict(y[32:])

    def psnr(a: torch.Tensor) -> float:
        return 10 * math.log10(1.0 / F.mse_loss(a, x[32:]).item())

    return psnr(y[32:]), psnr(est)


def test_unet_beats_noisy_input_on_blur_and_noise():
    noisy, restored = _train_psnr("unet", blur=True)
    assert restored > noisy + 1.0, (noisy, restored)


def test_n2v_beats_noisy_input_on_pure_noise():
    noisy, restored = _train_psnr("n2v", blur=False, steps=200, hparams={"mask_fraction": 0.05})
    assert restored > noisy + 1.0, (noisy, restored)
