"""The diffusion models (PCSD + ablations, PI-DDPM, conditional DDPM): registry and
hyper-parameters, shapes, loss terms, modality conditioning, ablations, PI-DDPM's nu_t,
DDPM-avg and uncertainty maps, sampling options, the perceptual term's weights, and short
training runs through the real loop that must beat the noisy input (CPU, 1 thread)."""

from __future__ import annotations

import hashlib
import logging
import math

import numpy as np
import pytest
import torch

from simart.models import MODEL_REGISTRY, Batch, build_model, n_parameters
from simart.models import diffusion as D
from simart.physics.dataset_ops import stack_params
from simart.specs.hparams import DEFAULT_HPARAMS, PAPER_HPARAMS, resolve_hparams
from simart.specs.hparams_diffusion import PCSD_ABLATIONS
from simart.specs.operators import operator_code

DIFFUSION = ["pcsd", *PCSD_ABLATIONS, "pi_ddpm", "pi_ddpm_plain", "cond_ddpm"]
MAIN = ["pcsd", "pi_ddpm", "cond_ddpm"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(autouse=True)
def _quiet():
    logging.getLogger("simart.models.pcsd").setLevel(logging.ERROR)
    yield


def simart_params(modality: str, b: int) -> dict[str, torch.Tensor]:
    """Mid-range parameters of the SIMART ``modality`` for ``b`` images."""
    from simart.physics import DEFAULT_PARAM_SPECS

    spec = {**DEFAULT_PARAM_SPECS[modality], **DEFAULT_PARAM_SPECS["noise"]}
    row = {k: (sum(v) / 2 if isinstance(v, list) else float(v)) for k, v in spec.items()}
    if modality == "STEM":
        row["scan_seed"] = 7
    row["operator_code"] = float(operator_code(modality))  # as the data carries it
    return stack_params([row] * b)


def lm_params(b: int, confocal: bool = False) -> dict[str, torch.Tensor]:
    from simart.specs.lm import LM_PARAM_SPECS

    row = {k: (sum(v) / 2 if isinstance(v, list) else float(v))
           for k, v in LM_PARAM_SPECS.items()}
    row["confocal"] = float(confocal)
    row["operator_code"] = float(operator_code("confocal" if confocal else "widefield"))
    return stack_params([row] * b)


def params_for(name: str, b: int) -> dict[str, torch.Tensor]:
    return lm_params(b) if name.startswith("pi_ddpm") else simart_params("SEM", b)


def batch_for(name: str, b: int = 2, size: int = 16, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((b, 1, size, size), generator=g)
    y = x + 0.05 * torch.randn(x.shape, generator=g)
    needs = MODEL_REGISTRY[name].needs
    return Batch(y=y, x=x, params=params_for(name, b) if "params" in needs else None,
                 subset=torch.zeros(b, dtype=torch.long))


def predict_kwargs(model, b: int, seed: int = 0) -> dict:
    kw = {"gen": torch.Generator().manual_seed(seed)}
    if "params" in model.predict_needs:
        kw["params"] = params_for(model.name, b)
    return kw


# ------------------------------------------------------------ registry and hparams

def test_registry_and_hparams():
    for name in DIFFUSION:
        assert MODEL_REGISTRY[name].name == name
        assert resolve_hparams(name, PAPER_HPARAMS[name]) == PAPER_HPARAMS[name]
    base = DEFAULT_HPARAMS["pcsd"]
    for name, change in PCSD_ABLATIONS.items():
        diff = {k for k in base if DEFAULT_HPARAMS[name][k] != base[k]}
        assert diff == {k for k in change if change[k] != base[k]}, name
    with pytest.raises(ValueError, match="unknown hyper-parameter"):
        resolve_hparams("pcsd", {"lambda_foo": 1.0})
    for bad in ({"schedule": "sigmoid"}, {"lambda_phys": -1.0}, {"mults": []},
                {"stem": 3}, {"guide_wrt": "y"}, {"precond": "edm"}, {"start": 1.5}):
        with pytest.raises(ValueError):
            resolve_hparams("pcsd", bad)
    with pytest.raises(ValueError, match="entropy"):
        resolve_hparams("cond_ddpm", {"entropy": "renyi"})
    with pytest.raises(ValueError, match="reg"):
        resolve_hparams("pi_ddpm", {"reg": "tv"})


def test_paper_parameter_counts():
    def count(name):
        with torch.device("meta"):
            return n_parameters(build_model(name, {**PAPER_HPARAMS[name], "lambda_perc": 0.0}
                                            if name.startswith("pcsd") else PAPER_HPARAMS[name]))

    # the PCSD paper Table 6: PCSD ~48.7 M parameters
    assert abs(count("pcsd") / 48.7e6 - 1) < 0.01
    assert count("pcsd_no_modality") == count("pcsd") - 4 * 128
    assert 5e6 < count("pi_ddpm") < 2e7
    assert 5e7 < count("cond_ddpm") < 1.5e8


def test_default_models_are_tiny():
    for name in MAIN:
        assert n_parameters(build_model(name)) < 250_000, name


# ---------------------------------------------------------------- every model

@pytest.mark.parametrize("name", MAIN)
def test_predict_keeps_odd_shapes(name):
    torch.manual_seed(0)
    model = build_model(name).eval()
    model.set_sampling(steps=3, n_samples=2)
    y = torch.rand((2, 1, 37, 50))
    with torch.no_grad():
        out = model.predict(y, **predict_kwargs(model, 2))
    extras = {}
    if isinstance(out, dict):
        extras = {k: v for k, v in out.items() if k != "prediction"}
        out = out["prediction"]
        assert set(extras) == set(model.extra_outputs)
    for t in (out, *extras.values()):
        assert t.shape == y.shape and t.dtype == torch.float32 and torch.isfinite(t).all()
    # without params / gen (the loop's inference timing) it still predicts
    with torch.no_grad():
        out2 = model.predict(y[:1, :, :9, :11])
    out2 = out2["prediction"] if isinstance(out2, dict) else out2
    assert out2.shape == (1, 1, 9, 11)


@pytest.mark.parametrize("name", DIFFUSION)
def test_training_step_is_finite_and_logs_every_term(name):
    torch.manual_seed(0)
    model = build_model(name).train()
    loss, logs = model.training_step(batch_for(name), torch.Generator().manual_seed(1))
    assert loss.ndim == 0 and torch.isfinite(loss) and loss.requires_grad
    assert logs["loss"] == pytest.approx(loss.item())
    assert all(isinstance(v, float) and math.isfinite(v) for v in logs.values())
    if name.startswith("pcsd"):
        assert set(model.LOSS_TERMS) | {"perceptual_available"} <= set(logs)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is None or torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads if g is not None) > 0


@pytest.mark.parametrize("name", MAIN)
def test_step_and_sampling_are_deterministic(name):
    def run():
        torch.manual_seed(3)
        model = build_model(name).train()
        loss, _ = model.training_step(batch_for(name, seed=5), torch.Generator().manual_seed(7))
        model.eval().set_sampling(steps=2, n_samples=1)
        with torch.no_grad():
            out = model.predict(torch.rand((1, 1, 16, 16), generator=torch.Generator()
                                           .manual_seed(1)), **predict_kwargs(model, 1, 9))
        out = out["prediction"] if isinstance(out, dict) else out
        return loss.item(), out

    (l1, o1), (l2, o2) = run(), run()
    assert l1 == l2 and torch.equal(o1, o2)


def test_predict_refuses_nothing_but_needs_are_declared():
    from simart.models.base import run_predict

    model = build_model("pcsd").eval()
    assert model.predict_needs == ("params", "gen") and "params" in model.needs
    with pytest.raises(ValueError, match="needs 'params'"):
        run_predict(model, torch.rand(1, 1, 8, 8), gen=torch.Generator())
    with pytest.raises(ValueError, match="needs batch.params"):
        model.train().training_step(Batch(y=torch.rand(1, 1, 8, 8), x=torch.rand(1, 1, 8, 8)),
                                    torch.Generator())


# ------------------------------------------------------------------------- PCSD

def test_pcsd_gradients_reach_the_modality_embedding_and_params_select_it():
    torch.manual_seed(0)
    model = build_model("pcsd").train()
    b = batch_for("pcsd", b=2)
    b.params = stack_params([{k: float(v[0]) for k, v in simart_params("SEM", 1).items()},
                             {k: float(v[0]) for k, v in simart_params("AFM", 1).items()}])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(6):  # zero-initialised output / AdaGN layers: give them a few steps
        opt.zero_grad()
        loss, _ = model.training_step(b, torch.Generator().manual_seed(step))
        loss.backward()
        if step < 5:
            opt.step()
    g = model.net.modality.weight.grad
    assert g is not None and float(g.abs().sum()) > 0
    # the modality of each image is read from its parameters (AFM = 0, SEM = 2)
    assert g[0].abs().sum() > 0 and g[2].abs().sum() > 0
    assert g[1].abs().sum() == 0 and g[3].abs().sum() == 0
    assert D.subset_index(b.params, None, 2, "cpu").tolist() == [2, 0]
    pf = D.param_features(b.params, 2, "cpu")
    assert pf.shape == (2, 12) and (pf.abs() <= 1).all()
    assert torch.allclose(pf[:, :6], torch.zeros(2, 6), atol=1e-9)  # mid-range -> 0
    assert (pf[:, 6:] == 0).all()  # SEM / AFM: 4 operator + 2 noise parameters


@pytest.mark.parametrize("name,term", [
    ("pcsd_no_physics", "physics"), ("pcsd_no_cycle", "cycle"),
    ("pcsd_no_perceptual", "perceptual"), ("pcsd_no_tv", "tv"),
    ("pcsd_diffusion_only", "physics"), ("pcsd_physics_only", "diffusion")])
def test_ablations_drop_their_term(name, term):
    torch.manual_seed(0)
    model = build_model(name).train()
    assert model.weights()[term] == 0
    _loss, logs = model.training_step(batch_for(name), torch.Generator().manual_seed(1))
    assert logs[term] == 0.0
    full = build_model("pcsd")
    if term != "perceptual":  # pcsd's perceptual weight is 0 here anyway (no VGG file)
        assert full.weights()[term] > 0
    if name == "pcsd_diffusion_only":
        assert all(logs[t] == 0 for t in ("physics", "cycle", "perceptual", "tv"))
        assert logs["loss"] == pytest.approx(logs["diffusion"])
        assert model.sampling["eta"] == 0
    if name == "pcsd_physics_only":
        assert logs["loss"] == pytest.approx(0.5 * logs["physics"], rel=1e-5)
        assert logs["physics"] > 0 and model.sampling["eta"] > 0
    if name == "pcsd_no_physics":
        assert model.sampling["eta"] == 0


def test_no_modality_ablation_has_no_embedding():
    assert build_model("pcsd_no_modality").net.modality is None
    assert build_model("pcsd").net.modality is not None


def test_pcsd_total_loss_is_the_weighted_sum():
    torch.manual_seed(0)
    model = build_model("pcsd", {"lambda_tv": 0.3}).train()
    _loss, logs = model.training_step(batch_for("pcsd"), torch.Generator().manual_seed(2))
    w = model.weights()
    assert logs["loss"] == pytest.approx(sum(w[k] * logs[k] for k in model.LOSS_TERMS),
                                         rel=1e-5)
    assert logs["physics"] > 0 and logs["cycle"] > 0 and logs["tv"] > 0


def test_guided_prediction_inside_no_grad_differs_from_unguided():
    torch.manual_seed(0)
    model = build_model("pcsd").eval()
    model.set_sampling(steps=3)
    y = torch.rand((1, 1, 16, 16), generator=torch.Generator().manual_seed(4))
    p = simart_params("SEM", 1)
    with torch.no_grad():
        a = model.predict(y, params=p, gen=torch.Generator().manual_seed(0))
        model.set_sampling(eta=0.0)
        b = model.predict(y, params=p, gen=torch.Generator().manual_seed(0))
    assert not torch.allclose(a, b)
    for wrt in ("x_t", "x0"):  # both guidance forms run inside no_grad
        m = build_model("pcsd", {"guide_wrt": wrt, "guide_min_abar": 0.0}).eval()
        m.set_sampling(steps=2, eta=0.5)
        with torch.no_grad():
            assert torch.isfinite(m.predict(y, params=p, gen=torch.Generator())).all()


def test_pcsd_x0_guidance_is_a_gradient_step_on_tweedie():
    """guide_wrt x0: in score mode eps_hat changes so that x0_hat moves by exactly
    -eta * grad_{x0_hat} L_guide."""
    torch.manual_seed(0)
    model = build_model("pcsd", {"guide_wrt": "x0", "guide_min_abar": 0.0}).eval()
    p = simart_params("TEM", 1)
    y = torch.rand((1, 1, 16, 16), generator=torch.Generator().manual_seed(5))
    x_t = torch.randn((1, 1, 16, 16), generator=torch.Generator().manual_seed(6))
    t, eta = 400, 0.7
    eps_fn = lambda x, tb: model(x, y, tb, params=p)
    hook = model.guidance(p)
    eps, _ = D._eps_and_guidance(eps_fn, x_t, t, model.sched, hook, eta, y, "score")
    with torch.no_grad():
        x0 = D.predict_x0(x_t, t, eps_fn(x_t, torch.tensor([t])), model.sched)
    x0r = x0.clone().requires_grad_(True)
    loss = model.guidance_loss(p)(x0r, y, torch.tensor([t])).sum()
    (g,) = torch.autograd.grad(loss, x0r)
    assert torch.allclose(D.predict_x0(x_t, t, eps, model.sched), x0 - eta * g, atol=1e-5)


# --------------------------------------------------------------- perceptual (VGG)

def test_perceptual_disabled_and_recorded_when_the_vgg_file_is_absent(tmp_path):
    model = build_model("pcsd", {"vgg_weights": str(tmp_path / "vgg19-dcbbe1d0.pth")})
    assert model.perceptual_available is False and "not found" in model.perceptual_reason
    assert model.weights()["perceptual"] == 0
    _, logs = model.training_step(batch_for("pcsd"), torch.Generator().manual_seed(0))
    assert logs["perceptual_available"] == 0.0 and logs["perceptual"] == 0.0
    # a file whose content does not match the hash in its name is refused at the first
    # training step (the hash is checked when the weights are loaded)
    bad = tmp_path / "vgg19-dcbbe1d0.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, bad)
    model = build_model("pcsd", {"vgg_weights": str(bad)})
    _, logs = model.training_step(batch_for("pcsd"), torch.Generator().manual_seed(0))
    assert model.perceptual_available is False and "SHA-256" in model.perceptual_reason
    assert logs["perceptual_available"] == 0.0 and logs["perceptual"] == 0.0


def test_perceptual_term_with_a_local_torchvision_format_file(tmp_path):
    from simart.models.pcsd import VGG19Features

    torch.manual_seed(0)
    state = {k: v for k, v in VGG19Features().state_dict().items()}
    tmp = tmp_path / "w.pth"
    torch.save(state, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    path = tmp_path / f"vgg19-{digest[:8]}.pth"
    tmp.rename(path)
    model = build_model("pcsd", {"vgg_weights": str(path)}).train()
    assert model.perceptual_available and model.weights()["perceptual"] == 0.1
    assert not any("vgg" in k.lower() or k.startswith("_") for k in model.state_dict())
    loss, logs = model.training_step(batch_for("pcsd", size=16), torch.Generator())
    assert logs["perceptual_available"] == 1.0 and logs["perceptual"] > 0
    loss.backward()


# --------------------------------------------------------------------- PI-DDPM

def test_pi_ddpm_nu_t_hand_computation():
    from simart.models.pi_ddpm import nu_t

    g = torch.tensor([3.0, 4.0, 0.0, 0.0]).view(1, 1, 2, 2)
    assert nu_t(g, torch.tensor([0.25]), 10.0).item() == pytest.approx(10 * 0.5 / 5)
    g2 = torch.randn((3, 1, 5, 5), generator=torch.Generator().manual_seed(0))
    gamma = torch.tensor([0.9, 0.5, 0.01])
    shift = nu_t(g2, gamma, 10.0) * g2
    # ||nu_t g|| = eta sqrt(gamma_t): the annealed term's norm does not depend on ||g||
    assert torch.allclose(shift.flatten(1).norm(dim=1), 10 * gamma.sqrt(), rtol=1e-5)


def test_pi_ddpm_physics_gradient_and_training_target():
    from simart.physics.lm import LMOperator

    torch.manual_seed(0)
    model = build_model("pi_ddpm", {"reg": "l2", "reg_weight": 0.5})
    p = lm_params(2)
    x_t = torch.randn((2, 1, 16, 16), generator=torch.Generator().manual_seed(1))
    tgt = torch.rand((2, 1, 16, 16), generator=torch.Generator().manual_seed(2))
    g = model.physics_gradient(x_t, tgt, p)
    k = LMOperator(p, (16, 16))
    # model space: K_m(x) = 2 K((x + 1) / 2) - 1 = K(x); grad ||K x - t||^2 = 2 K^T (K x - t);
    # R = l2 of the data-unit image (x + 1) / 2: grad = lambda * (x + 1) / 2
    ref = 2 * k.adjoint(k(x_t) - tgt) + 0.5 * (x_t + 1) / 2
    assert torch.allclose(g, ref, atol=1e-4)
    # the training step's physics shift has norm sigma_t^2 * eta * sqrt(gamma) > 0;
    # pi_ddpm_plain has none
    _, logs = model.training_step(batch_for("pi_ddpm"), torch.Generator().manual_seed(3))
    assert logs["physics_shift"] > 0
    _, logs = build_model("pi_ddpm_plain").training_step(batch_for("pi_ddpm_plain"),
                                                         torch.Generator().manual_seed(3))
    assert logs["physics_shift"] == 0 and logs["loss"] == pytest.approx(logs["diffusion"])


def test_cached_operator_equals_the_dataset_operator():
    x = torch.rand((2, 1, 20, 24), generator=torch.Generator().manual_seed(0))
    p = stack_params([{k: float(v[0]) for k, v in lm_params(1).items()},
                      {k: float(v[0]) for k, v in lm_params(1, confocal=True).items()}])
    op = D.forward_operator(p, (20, 24), "cpu")
    assert torch.allclose(op(x), D.physics_forward(x, p), atol=1e-5)
    ps = simart_params("TEM", 2)
    assert torch.equal(D.forward_operator(ps, (20, 24), "cpu")(x), D.physics_forward(x, ps))


def test_pi_ddpm_sampling_uses_the_physics_term():
    torch.manual_seed(0)
    model = build_model("pi_ddpm").eval()
    model.set_sampling(steps=3)
    y = torch.rand((1, 1, 16, 16), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        a = model.predict(y, params=lm_params(1), gen=torch.Generator().manual_seed(0))
        b = model.predict(y, gen=torch.Generator().manual_seed(0))
    assert not torch.allclose(a, b)


# ------------------------------------------------------------------ sampling options

def test_set_sampling_validates_options():
    m = build_model("pcsd")
    m.set_sampling(steps=5, eta=0.2, sampler="ddim", eta_ddim=0.5, n_samples=2, stop=0.1,
                   start=0.5)
    assert m.sampling["steps"] == 5 and m.sampling["eta"] == 0.2
    m.set_sampling(sampler="ddpm")
    assert m.sampling["steps"] == m.sched.T
    for bad in ({"foo": 1}, {"steps": 0}, {"steps": 5000}, {"eta": -1.0},
                {"sampler": "euler"}, {"n_samples": 0}, {"stop": 1.0}, {"start": 0.0}):
        with pytest.raises(ValueError):
            build_model("pcsd").set_sampling(**bad)
    with pytest.raises(ValueError, match="runs all T"):
        build_model("pcsd").set_sampling(sampler="ddpm", steps=50)
    with pytest.raises(ValueError, match="unknown sampling options"):
        build_model("cond_ddpm").set_sampling(eta=0.5)   # no guidance in the conditional-DDPM paper
    with pytest.raises(ValueError, match="no sampling options"):
        build_model("unet").set_sampling(steps=3)


def test_measurement_preconditioning_starts_from_the_measurement():
    """precond 'measurement' with a zero network output: x0_hat is the Bayes estimate under
    a N(y, sigma_data^2) prior; at t -> T it is y itself."""
    model = build_model("cond_ddpm")
    y = torch.rand((1, 1, 4, 4), generator=torch.Generator().manual_seed(0)) * 2 - 1
    x_t = torch.randn((1, 1, 4, 4), generator=torch.Generator().manual_seed(1))
    for t in (0, 100, 199):
        ab = model.sched.alpha_bar[t].float().view(1)
        eps = model.eps_from_output(torch.zeros_like(x_t), x_t, y, ab)
        x0 = D.predict_x0(x_t, t, eps, model.sched)
        s2 = (1 - ab) / ab
        z = x_t / ab.sqrt()
        expect = (0.25 * z + s2 * y) / (0.25 + s2)
        assert torch.allclose(x0, expect, atol=1e-4 * max(1, float(s2.sqrt())))
    # at t = T-1, x0 = (x_t - sqrt(1-ab) eps) / sqrt(ab) with sqrt(ab) ~ 2.5e-4: the float32
    # rounding of eps (a few ulp of |x_t|) is amplified 1/sqrt(ab) ~ 4000 times, so the
    # tolerance is that amplified rounding (~5e-3 here; 1e-3 failed on some CPUs by 2e-4)
    ab = model.sched.alpha_bar[199].float().view(1)
    atol = 4 * torch.finfo(torch.float32).eps * float(x_t.abs().max() + 1) / float(ab.sqrt())
    assert torch.allclose(D.predict_x0(x_t, 199, model.eps_from_output(
        torch.zeros_like(x_t), x_t, y, ab), model.sched), y, atol=atol)
    assert atol < 0.01   # still far below the distance from the naive x_t / sqrt(ab)


# ------------------------------------------------------------- conditional DDPM

def test_cond_ddpm_outputs_and_running_means():
    torch.manual_seed(0)
    model = build_model("cond_ddpm").eval()
    model.set_sampling(n_samples=5, steps=2)
    assert model.extra_outputs == ("std", "entropy", "sample_1", "mean_n1", "mean_n2",
                                   "mean_n4", "mean_n5")
    y = torch.rand((2, 1, 12, 12))
    with torch.no_grad():
        out = model.predict(y, gen=torch.Generator().manual_seed(0))
    assert torch.allclose(out["mean_n5"], out["prediction"], atol=1e-6)
    assert torch.equal(out["mean_n1"], out["sample_1"])
    assert (out["std"] >= 0).all() and (out["entropy"] >= 0).all()
    assert (out["entropy"] <= math.log(5) + 1e-5).all()
    model.set_sampling(n_samples=15)
    assert model.extra_outputs[-1] == "mean_n15" and "mean_n8" in model.extra_outputs


def test_ddpm_avg_has_lower_error_than_one_sample_on_a_toy_problem():
    """Untrained (zero-output) network = exact sampler of the N(y, s^2) posterior: with the
    clean image equal to y, one sample's MSE is ~s^2 and the mean of N ~s^2 / N."""
    torch.manual_seed(0)
    model = build_model("cond_ddpm", {"sigma_data": 0.25}).eval()
    model.set_sampling(n_samples=8, steps=50, clip_x0=False)  # DDIM ~exact at 50 steps
    x = torch.full((1, 1, 24, 24), 0.5)
    with torch.no_grad():
        out = model.predict(x, gen=torch.Generator().manual_seed(1))
    mse = lambda a: float(((a - x) ** 2).mean())
    s2 = (0.25 / 2) ** 2  # sigma_data in model space -> data units
    assert mse(out["sample_1"]) == pytest.approx(s2, rel=0.25)
    assert mse(out["prediction"]) == pytest.approx(s2 / 8, rel=0.35)
    assert mse(out["mean_n2"]) < mse(out["sample_1"])
    assert mse(out["prediction"]) < mse(out["mean_n4"]) < mse(out["mean_n2"])
    assert out["std"].mean().item() == pytest.approx(0.125, rel=0.2)


# ------------------------------------------------------ training through the real loop

def _toy_data(n: int, size: int, seed: int, modality: str | None):
    """Step edges (random vertical / horizontal boundaries) + smooth shading; degraded by
    the SIMART operator of ``modality`` (None: identity) and Gaussian noise."""
    from simart import physics
    from simart.train.data import ArrayTrainData

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    x = np.empty((n, size, size), np.float32)
    for i in range(n):
        a, b = rng.uniform(0.2, 0.8, 2)
        c = rng.uniform(0.25, 0.75)
        img = np.where((xx if i % 2 else yy) < c, a, b)
        x[i] = img + 0.1 * np.sin(2 * np.pi * (xx + yy) * rng.uniform(0.5, 1.5))
    params = None
    deg = torch.from_numpy(x)[:, None]
    if modality is not None:
        p = simart_params(modality, n)
        deg = physics.forward(modality, deg.double(), {k: v for k, v in p.items()}).float()
        params = [{k: float(v[i]) for k, v in p.items()} for i in range(n)]
    y = deg[:, 0].numpy() + 0.08 * rng.standard_normal(x.shape).astype(np.float32)
    return ArrayTrainData(y, x, params=params), x, y, params


def _psnr(a, b) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def _train(name, data, steps, tmp_path, hparams=None, lr=3e-3):
    from simart.train.loop import TrainSettings, train

    s = TrainSettings.from_mapping({
        "steps": steps, "batch_size": 8, "patch_size": 16, "lr": lr, "warmup_steps": 10,
        "checkpoint_every": 0, "val_every": 0, "val_images": 0, "log_every": 50, "seed": 0,
        "device": "cpu", "threads": 1, "deterministic": True})
    torch.manual_seed(0)
    model = build_model(name, hparams or {})
    train(model, data, None, s, tmp_path / name, identity={"model": name,
                                                          "hparams": model.hparams})
    return model.eval()


@pytest.mark.parametrize("name,steps,lr", [("pcsd", 100, 5e-3), ("cond_ddpm", 80, 3e-3)])
def test_short_training_beats_the_noisy_input(name, steps, lr, tmp_path):
    """The real loop, a tiny default model, ~100 steps of 8 x 16^2 crops of a synthetic set
    (pcsd: the SEM operator + noise, with physics; cond_ddpm: noise only)."""
    data, _, _, _ = _toy_data(24, 24, 0, "SEM" if name == "pcsd" else None)
    model = _train(name, data, steps, tmp_path, lr=lr)
    _, x, y, params = _toy_data(6, 24, 1, "SEM" if name == "pcsd" else None)
    kw = {"gen": torch.Generator().manual_seed(0)}
    if params is not None:
        kw["params"] = stack_params(params)
    with torch.no_grad():
        out = model.predict(torch.from_numpy(y)[:, None], **kw)
    pred = (out["prediction"] if isinstance(out, dict) else out)[:, 0].numpy()
    assert _psnr(pred, x) > _psnr(y, x) + 1.0, (_psnr(pred, x), _psnr(y, x))
    if isinstance(out, dict):  # the average beats a single sample
        assert _psnr(pred, x) > _psnr(out["sample_1"][:, 0].numpy(), x)


class _EdgePosteriorNet(torch.nn.Module):
    """A stand-in for a trained network that knows the toy posterior: per pixel
    x ~ N(y, v) with v large where y has an edge (|grad y| > 0.2) and small elsewhere. It
    returns the output ``F`` for which cond_ddpm's measurement preconditioning gives the
    exact posterior mean ``y + v / (sigma^2 + v) (z - y)``."""

    def __init__(self, sigma_data: float):
        super().__init__()
        self.sd = sigma_data

    def forward(self, x_t, y, a):
        a = a.view(-1, 1, 1, 1)
        s2 = (1 - a) / a
        z = x_t / a.sqrt()
        gy, gx = torch.gradient(y, dim=(2, 3))
        v = torch.where(torch.hypot(gx, gy) > 0.2, 0.3 ** 2, 0.02 ** 2)
        x0 = y + v / (s2 + v) * (z - y)
        base = y + self.sd ** 2 / (s2 + self.sd ** 2) * (z - y)
        c_out = s2.sqrt() * self.sd / (s2 + self.sd ** 2).sqrt()
        return (x0 - base) / c_out


def test_uncertainty_is_higher_on_edges_than_on_flat_areas():
    """The std map of cond_ddpm's samples follows the model's posterior spread: with a
    network whose posterior is wide on edges and narrow on flat areas (a blurred step
    image: where exactly the edge lies is ambiguous), std is higher on the edges."""
    model = build_model("cond_ddpm").eval()
    model.net = _EdgePosteriorNet(model.hparams["sigma_data"])
    model.set_sampling(n_samples=8, steps=50, clip_x0=False)
    x = torch.zeros((1, 1, 24, 24))
    x[..., :, 12:] = 0.8
    y = torch.from_numpy(__import__("scipy.ndimage", fromlist=["x"]).gaussian_filter(
        x.numpy(), (0, 0, 1.5, 1.5)))
    with torch.no_grad():
        out = model.predict(y, gen=torch.Generator().manual_seed(0))
    std, ent = out["std"][0, 0], out["entropy"][0, 0]
    edge = torch.zeros_like(std, dtype=torch.bool)
    edge[:, 10:14] = True
    assert std[edge].mean() > 5 * std[~edge].mean(), (std[edge].mean(), std[~edge].mean())
    assert ent[edge].mean() > ent[~edge].mean()
    assert std[edge].mean().item() == pytest.approx(0.15, rel=0.35)  # 0.3 / 2 in data units


def test_pi_ddpm_l2_differs_from_pi_ddpm_only_in_the_regulariser():
    for table in (DEFAULT_HPARAMS, PAPER_HPARAMS):
        a, b = table["pi_ddpm"], table["pi_ddpm_l2"]
        assert {k for k in a if a[k] != b[k]} == {"reg"} and b["reg"] == "l2"
