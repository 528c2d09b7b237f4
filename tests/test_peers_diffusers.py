"""The diffusion core (simart.models.diffusion) against diffusers' DDPM / DDIM schedulers
(diffusers, a test extra; the module is skipped without it).

What is compared, and how:

* Schedules: our float64 cosine / linear betas and ``alpha_bar`` against
  ``DDPMScheduler.betas`` / ``alphas_cumprod``, which diffusers stores in float32: the two
  agree to float32 rounding, with the bound derived per test.
* Update rules: to see differences in the formulas rather than float32 noise, the
  schedulers get our float64 schedule (:func:`use_our_schedule`; the schedules themselves
  are compared in the first tests), and the samples are float64. Both libraries draw their
  noise with ``torch.randn(shape, generator=gen, dtype=x.dtype)`` from a passed CPU
  generator, in the same order (one draw per step that adds noise), so equally seeded
  generators give the same noise and whole stochastic trajectories compare exactly.
  Our samplers' every step is read through their ``extra_step`` hook (a recorder that
  adds zero).

Conventions matched explicitly (and the deliberate differences asserted):

* x0 clipping: our samplers do not clip by default (``clip_x0=None``; the models' sampling
  option ``clip_x0: true`` passes 1.0), diffusers does (``clip_sample=True``,
  ``clip_sample_range=1.0``). With clipping, our DDIM re-derives ``eps_hat`` from the
  clipped ``x0_hat`` (diffusers' ``use_clipped_model_output=True``).
* DDIM's last update (``set_alpha_to_one=True``): ``abar_prev = 1``, i.e. it returns
  ``x0_hat``.
* :func:`ddim_timesteps` is diffusers' ``timestep_spacing="linspace"`` (rounded
  ``linspace(0, T-1, n)``, both ends visited) except for one step (ours ``[T-1]``,
  diffusers' ``[0]``) and for exact half-integer ties (only when ``n - 1`` is even): ours
  rounds them up, in integer arithmetic; diffusers rounds by the float64 error of numpy's
  ``linspace``.
* diffusers' ``DDIMScheduler.step`` takes the previous timestep as ``t - T // n``, not the
  next entry of its own ``timesteps``: its DDIM loop is the DDIM update between the
  visited timesteps only for evenly strided ones ("leading", or "trailing" with
  ``n | T``; "linspace" only with all T steps). Ours always steps to the next visited one;
  its "linspace" respacing is compared, stochastic (``eta_ddim = 1``), with
  ``DDPMScheduler`` on custom timesteps, which does step to the next entry.
"""

from __future__ import annotations

import inspect
import itertools
import math

import pytest
import torch

from simart.models import diffusion as D

pytest.importorskip("diffusers")
from diffusers import DDIMScheduler, DDPMScheduler

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

U32 = 2.0 ** -24  # float32 unit roundoff: |fl32(x) - x| <= U32 |x|
F64 = torch.float64
SHAPE = (2, 1, 6, 6)
DIFFUSERS_SCHEDULE = {"cosine": "squaredcos_cap_v2", "linear": "linear"}


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def normal(seed: int, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(SHAPE, generator=gen(seed), dtype=F64)


def eps_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """A fixed, nonlinear, time-dependent epsilon model (not an oracle: its ``x0_hat``
    leaves [-1, 1], so clipping is exercised)."""
    tt = t.to(x.dtype).view(-1, *([1] * (x.ndim - 1)))
    return 0.6 * torch.tanh(x) + 0.2 * torch.cos(0.01 * tt + x)


def tb(t) -> torch.Tensor:
    """The (B,) long timesteps our samplers hand ``eps_fn``, for the diffusers loops."""
    return torch.full((SHAPE[0],), int(t), dtype=torch.long)


def use_our_schedule(sched_d, sched: D.Schedule):
    """Replace a diffusers scheduler's float32 schedule by ours (float64; the two agree to
    float32 rounding, see the schedule tests), so that the update rules compare to float64
    rounding. ``step`` reads ``alphas_cumprod`` and ``one`` (DDPM) /
    ``final_alpha_cumprod`` (DDIM)."""
    sched_d.betas, sched_d.alphas, sched_d.alphas_cumprod = (sched.betas, sched.alphas,
                                                             sched.alpha_bar)
    sched_d.one = torch.tensor(1.0, dtype=F64)
    if hasattr(sched_d, "final_alpha_cumprod"):
        assert float(sched_d.final_alpha_cumprod) == 1.0  # set_alpha_to_one=True
        sched_d.final_alpha_cumprod = torch.tensor(1.0, dtype=F64)
    return sched_d


def assert_same(ours: torch.Tensor, theirs: torch.Tensor, rel: float = 1e-11) -> None:
    """Equal to float64 rounding, relative to the tensors' scale: the unclipped chains of a
    non-oracle model reach |x| ~ 1e4 (``1 / sqrt(abar)`` ~ 2e4 at the cosine schedule's
    last step), so an elementwise rtol would be too strict on small elements."""
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    err = (ours - theirs).abs().max().item()
    scale = 1.0 + theirs.abs().max().item()
    assert err <= rel * scale, f"max |ours - diffusers| = {err:.3e} at scale {scale:.3e}"


class Recorder:
    """``extra_step`` hook of our samplers: records each step's ``x_{t_prev}`` (and ``t``),
    adds nothing."""

    def __init__(self):
        self.steps: list[tuple[int, torch.Tensor]] = []

    def __call__(self, x_prev: torch.Tensor, x_t: torch.Tensor, t: int) -> torch.Tensor:
        self.steps.append((int(t), x_prev.clone()))
        return torch.zeros_like(x_prev)


# ------------------------------------------------------------------------- schedules

@pytest.mark.parametrize("T", [1000, 200, 10, 2, 1])
def test_cosine_betas_are_squaredcos_cap_v2(T):
    """Nichol & Dhariwal's cosine schedule: diffusers' ``squaredcos_cap_v2`` computes
    ``min(1 - abar(t+1) / abar(t), 0.999)`` in float64 and stores float32; ours is the same
    in float64 (``s = 0.008`` is diffusers' hard-coded offset; ours is a parameter), so the
    two differ by float32 rounding alone. Both clip ``beta`` at 0.999, which acts at the
    last step only (``abar(T) = cos(pi/2)^2 = 0`` would make it 1)."""
    ours = D.make_schedule("cosine", T)
    theirs = DDPMScheduler(num_train_timesteps=T, beta_schedule="squaredcos_cap_v2").betas
    assert theirs.dtype == torch.float32 and ours.betas.dtype == F64
    assert ((ours.betas - theirs.double()).abs() <= U32 * ours.betas).all()
    assert float(ours.betas[-1]) == 0.999 and float(theirs[-1]) == pytest.approx(0.999, rel=U32)
    assert (ours.betas[:-1] < 0.999).all() and (theirs[:-1] < 0.999).all()


def alpha_bar_bound(betas: torch.Tensor) -> torch.Tensor:
    """First-order bound of the relative error of diffusers' float32 ``alphas_cumprod``
    about the exact cumulative product of our betas: per step, beta's float32 rounding
    (``U32 beta / (1 - beta)`` relative in ``alpha``), the subtraction ``1 - beta`` and the
    product (``U32`` each); 1% over for the second-order terms. The clipped last cosine
    step (``alpha = 0.001``) contributes ~1e-5."""
    return 1.01 * U32 * torch.cumsum(betas / (1 - betas) + 2, 0)


@pytest.mark.parametrize("kind, T", [("cosine", 1000), ("cosine", 200), ("cosine", 10),
                                     ("linear", 1000)])
def test_alphas_cumprod_match(kind, T):
    ours = D.make_schedule(kind, T)
    theirs = DDPMScheduler(num_train_timesteps=T, beta_schedule=DIFFUSERS_SCHEDULE[kind])
    assert torch.equal(ours.alpha_bar, torch.cumprod(ours.alphas, 0))
    rel = (ours.alpha_bar - theirs.alphas_cumprod.double()).abs() / ours.alpha_bar
    assert (rel <= alpha_bar_bound(ours.betas)).all()
    assert ((ours.alphas - theirs.alphas.double()).abs()
            <= 1.01 * U32 * (ours.betas + ours.alphas)).all()


def test_linear_betas_and_their_scaling_with_T():
    """Ho et al.'s linear schedule. At T = 1000 ours is diffusers' default (1e-4 .. 0.02;
    diffusers' float32 ``linspace`` is within 3 float32 rounding units of ``beta_end``).
    By design ours scales both ends by ``1000 / T`` (Nichol & Dhariwal's code, the same
    noise path for another T) where diffusers keeps 1e-4 .. 0.02, so at T = 100 ours is
    exactly 10x diffusers' default; and ours caps ``beta_end`` at 0.999 (T < 21 would give
    ``beta > 1``, negative ``alpha``), which diffusers does not."""
    def close(a, b, end):
        return bool(((a - b.double()).abs() <= 3 * U32 * end).all())

    ours = D.make_schedule("linear", 1000).betas
    assert close(ours, DDPMScheduler(num_train_timesteps=1000).betas, 0.02)

    ours100 = D.make_schedule("linear", 100).betas
    default100 = DDPMScheduler(num_train_timesteps=100).betas
    assert close(ours100, 10 * default100.double(), 0.2)
    assert close(ours100, DDPMScheduler(num_train_timesteps=100, beta_start=1e-3,
                                        beta_end=0.2).betas, 0.2)

    ours10 = D.make_schedule("linear", 10).betas
    assert float(ours10[0]) == pytest.approx(0.01) and float(ours10[-1]) == 0.999
    assert close(ours10, DDPMScheduler(num_train_timesteps=10, beta_start=0.01,
                                       beta_end=0.999).betas, 0.999)
    uncapped = DDPMScheduler(num_train_timesteps=10, beta_start=0.01, beta_end=2.0)
    assert (uncapped.alphas < 0).any() and (1 - ours10 > 0).all()


def test_q_sample_is_add_noise():
    sched = D.make_schedule("cosine", 1000)
    sd = use_our_schedule(DDPMScheduler(beta_schedule="squaredcos_cap_v2"), sched)
    x0, noise, t = normal(1), normal(2), torch.tensor([3, 777])
    assert_same(D.q_sample(x0, t, noise, sched), sd.add_noise(x0, noise, t), rel=1e-15)


# ------------------------------------------------------------------------- DDPM

@pytest.mark.parametrize("variance, variance_type", [("beta_tilde", "fixed_small"),
                                                     ("beta", "fixed_large")])
@pytest.mark.parametrize("clip", [None, 1.0])
@pytest.mark.parametrize("t", [999, 500, 1, 0])
def test_ddpm_step(variance, variance_type, clip, t):
    """One reverse step ``DDPMScheduler.step`` vs ours. diffusers' noise is identified
    without reproducing its internals: two calls with generators seeded 11 and 12 differ by
    ``sd (z11 - z12)`` (``z`` = our ``randn`` from the same seeds), which gives its standard
    deviation ``sd`` and its mean ``prev_11 - sd z11``; these are compared with our
    posterior mean of the (clipped) ``x0_hat`` and ``sqrt(beta_tilde_t)`` (fixed_small) /
    ``sqrt(beta_t)`` (fixed_large). Then our sampler's step (``ddpm_sample`` from ``x_t``
    at ``t``, generator seeded 11) equals diffusers' prev sample."""
    sched = D.make_schedule("cosine", 1000)
    sd = use_our_schedule(DDPMScheduler(beta_schedule="squaredcos_cap_v2",
                                        variance_type=variance_type,
                                        clip_sample=clip is not None), sched)
    x_t, eps = normal(1), normal(2, 1.5)
    out11 = sd.step(eps, t, x_t, generator=gen(11))
    out12 = sd.step(eps, t, x_t, generator=gen(12))

    x0 = D.predict_x0(x_t, t, eps, sched)
    if clip is not None:
        assert (x0.abs() > clip).any()  # the clipping acts
        x0 = x0.clamp(-clip, clip)
    assert_same(out11.pred_original_sample, x0, rel=1e-14)
    mean = D.posterior_mean(x0, x_t, t, sched)
    var = float((sched.beta_tilde() if variance == "beta_tilde" else sched.betas)[t])
    if t == 0:  # no noise at the last step
        assert torch.equal(out11.prev_sample, out12.prev_sample)
        assert_same(out11.prev_sample, mean, rel=1e-14)
    else:
        z11, z12 = D.randn(SHAPE, gen(11), like=x_t), D.randn(SHAPE, gen(12), like=x_t)
        dz, dprev = z11 - z12, out11.prev_sample - out12.prev_sample
        sd_theirs = float((dprev * dz).sum() / (dz * dz).sum())
        assert_same(dprev, sd_theirs * dz, rel=1e-13)
        assert sd_theirs == pytest.approx(math.sqrt(var), rel=1e-12)
        assert_same(out11.prev_sample - sd_theirs * z11, mean, rel=1e-12)

    rec = Recorder()
    D.ddpm_sample(lambda x, tt: eps, SHAPE, sched, gen(11), x_start=x_t, t_start=t,
                  t_stop=max(t - 1, 0), variance=variance, clip_x0=clip, dtype=F64,
                  extra_step=rec)
    assert rec.steps[0][0] == t
    # unclipped, our sampler takes the mean in its eps form, diffusers in the x0_hat form:
    # their rounding differs by ~ 2^-53 / (1 - abar_t), ~5e-12 relative at t = 1
    assert_same(rec.steps[0][1], out11.prev_sample, rel=1e-10)


def test_clipping_defaults_differ():
    """diffusers clips ``x0_hat`` to [-1, 1] by default, our samplers do not (a model
    passes ``clip_x0=1.0`` for its sampling option ``clip_x0: true``): diffusers' default
    step is ours with ``clip_x0=1.0``, not ours by default."""
    for sampler in (D.ddpm_sample, D.ddim_sample):
        assert inspect.signature(sampler).parameters["clip_x0"].default is None
    for cls in (DDPMScheduler, DDIMScheduler):
        cfg = cls().config
        assert cfg.clip_sample is True and cfg.clip_sample_range == 1.0
    sched = D.make_schedule("cosine", 1000)
    sd = use_our_schedule(DDPMScheduler(beta_schedule="squaredcos_cap_v2"), sched)
    x_t, t = normal(1), 500
    theirs = sd.step(eps_fn(x_t, tb(t)), t, x_t, generator=gen(3)).prev_sample
    steps = {}
    for clip in (None, 1.0):
        rec = Recorder()
        D.ddpm_sample(eps_fn, SHAPE, sched, gen(3), x_start=x_t, t_start=t, t_stop=t - 1,
                      variance="beta_tilde", clip_x0=clip, dtype=F64, extra_step=rec)
        steps[clip] = rec.steps[0][1]
    assert_same(steps[1.0], theirs)
    assert (steps[None] - theirs).abs().max() > 0.01


def diffusers_loop(sched_d, x: torch.Tensor, **step_kw) -> tuple[list, torch.Tensor]:
    """Run ``sched_d.step`` over its ``timesteps`` from ``x``: (each step's (t, x_prev),
    the last ``pred_original_sample``)."""
    steps = []
    for t in sched_d.timesteps:
        out = sched_d.step(eps_fn(x, tb(t)), t, x, **step_kw)
        x = out.prev_sample
        steps.append((int(t), x))
    return steps, out.pred_original_sample


def assert_same_trajectory(rec: Recorder, theirs: list, x0_ours, x0_theirs, rel=1e-11):
    assert [t for t, _ in rec.steps] == [t for t, _ in theirs]
    for (_, a), (_, b) in zip(rec.steps, theirs, strict=True):
        assert_same(a, b, rel)
    assert_same(x0_ours, x0_theirs, rel)


@pytest.mark.parametrize("kind, T, variance, clip", [
    ("cosine", 1000, "beta_tilde", None), ("cosine", 200, "beta_tilde", 1.0),
    ("cosine", 200, "beta", None), ("linear", 100, "beta", 1.0)])
def test_ddpm_trajectory(kind, T, variance, clip):
    """The whole ancestral chain from the same ``x_T`` with equally seeded generators:
    every step of ``ddpm_sample`` equals a loop over ``DDPMScheduler.step`` (our
    unclipped update uses the ``eps`` form of the mean, diffusers the ``x0_hat`` form:
    equal up to float64 rounding). The unclipped chains of this non-oracle model grow to
    |x| ~ 1e4, hence the scale-relative comparison."""
    sched = D.make_schedule(kind, T)
    vt = {"beta_tilde": "fixed_small", "beta": "fixed_large"}[variance]
    sd = use_our_schedule(DDPMScheduler(num_train_timesteps=T,
                                        beta_schedule=DIFFUSERS_SCHEDULE[kind],
                                        variance_type=vt, clip_sample=clip is not None), sched)
    x_T = normal(1)
    theirs, x0_theirs = diffusers_loop(sd, x_T, generator=gen(5))
    rec = Recorder()
    x_0, x0_ours = D.ddpm_sample(eps_fn, SHAPE, sched, gen(5), x_start=x_T, variance=variance,
                                 clip_x0=clip, dtype=F64, extra_step=rec)
    assert len(theirs) == T
    assert_same_trajectory(rec, theirs, x0_ours, x0_theirs)
    assert torch.equal(x_0, rec.steps[-1][1])


# ------------------------------------------------------------------------- DDIM

def ddim_scheduler(T, n, spacing="linspace", offset=0, clip=None, alpha_to_one=True):
    """diffusers' DDIM with our conventions: ``set_alpha_to_one`` (the last update
    returns ``x0_hat``), ``clip_sample`` as ours; ``steps_offset`` only shifts "leading"."""
    sd = DDIMScheduler(num_train_timesteps=T, beta_schedule="squaredcos_cap_v2",
                       clip_sample=clip is not None, set_alpha_to_one=alpha_to_one,
                       steps_offset=offset, timestep_spacing=spacing)
    sd.set_timesteps(n)
    return sd


def tie_rounding(T: int, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For ``v_k = k (T-1) / (n-1)`` in exact integer arithmetic: (lower, upper) acceptable
    roundings -- both the nearest integer, or at an exact half-integer tie its two
    neighbours -- and which entries are ties."""
    num = 2 * (T - 1) * torch.arange(n, dtype=torch.long)  # 2 v_k (n - 1)
    tie = (num % (n - 1) == 0) & ((num // (n - 1)) % 2 == 1)
    up = (num + (n - 1)) // (2 * (n - 1))  # floor(v_k + 1/2)
    return torch.where(tie, up - 1, up), up, tie


@pytest.mark.parametrize("T", [10, 50, 100, 200, 1000])
def test_ddim_timesteps_are_linspace_spacing(T):
    """:func:`ddim_timesteps` is diffusers' ``timestep_spacing="linspace"``: every entry
    is the integer nearest ``k (T-1) / (n-1)`` in both, for every n in 2..T, except exact
    half-integer ties (possible only for even ``n - 1``): ours rounds them up (integer
    arithmetic, the same on every platform), diffusers by the float64 error of numpy's
    ``linspace``, which puts the value just below or above the half: there the two may
    differ by one. The project's settings (T = 1000; 250, 50, 20 steps: odd ``n - 1``)
    have no ties."""
    sd = DDIMScheduler(num_train_timesteps=T, timestep_spacing="linspace")
    for n in range(2, T + 1):
        sd.set_timesteps(n)
        theirs = sd.timesteps.flip(0)
        ours = torch.tensor(D.ddim_timesteps(T, n))
        lo, hi, tie = tie_rounding(T, n)
        assert torch.equal(ours[~tie], lo[~tie]) and torch.equal(theirs[~tie], lo[~tie])
        assert torch.equal(ours[tie], hi[tie])  # half up
        assert ((theirs[tie] == lo[tie]) | (theirs[tie] == hi[tie])).all()
        if (n - 1) % 2:
            assert not tie.any() and torch.equal(ours, theirs)
    if T == 1000:
        for n in (250, 50, 20):
            sd.set_timesteps(n)
            assert D.ddim_timesteps(T, n) == sd.timesteps.flip(0).tolist()


def test_ddim_timesteps_tie_and_other_spacings():
    """A tie (T = 30, n = 15, k = 7: 14.5, ours 15, half up); one step (ours ``[T-1]``: DDIM from pure noise;
    diffusers' linspace ``[0]``, its trailing ``[T-1]``); and "leading" / "trailing", which
    ours is not: at T = 1000, n = 50, leading never visits T-1 (the chain would start from
    N(0, I) at a noise level below pure noise) and trailing never visits 0."""
    sd = ddim_scheduler(30, 15)
    assert D.ddim_timesteps(30, 15)[7] == 15 and sd.timesteps.flip(0)[7] == 15
    assert D.ddim_timesteps(1000, 1) == [999]
    assert ddim_scheduler(1000, 1).timesteps.tolist() == [0]
    assert ddim_scheduler(1000, 1, "trailing").timesteps.tolist() == [999]
    ours = D.ddim_timesteps(1000, 50)
    assert ours[0] == 0 and ours[-1] == 999
    leading = ddim_scheduler(1000, 50, "leading").timesteps.flip(0).tolist()
    trailing = ddim_scheduler(1000, 50, "trailing").timesteps.flip(0).tolist()
    assert leading == list(range(0, 1000, 20)) and trailing == list(range(19, 1000, 20))
    assert ours not in (leading, trailing)


@pytest.mark.parametrize("T, n, spacing, offset", [
    (1000, 50, "leading", 0), (1000, 50, "leading", 1), (1000, 40, "trailing", 0),
    (200, 200, "linspace", 0)])
@pytest.mark.parametrize("clip", [None, 1.0])
def test_ddim_eta0_trajectory(T, n, spacing, offset, clip):
    """Deterministic DDIM (eta 0) from the same ``x_T`` on diffusers' timesteps (passed to
    ``ddim_sample`` as ``timesteps``): every step equals ``DDIMScheduler.step(eta=0)``,
    with ``set_alpha_to_one=True`` (our last update: ``abar_prev = 1``), ``clip_sample`` =
    ours and, when clipping, ``use_clipped_model_output=True`` (ours re-derives
    ``eps_hat`` from the clipped ``x0_hat``). The strided spacings are chosen so that
    diffusers' ``t - T // n`` is the next visited timestep (see the module docstring);
    with all T steps the "linspace" timesteps are :func:`ddim_timesteps`'."""
    sched = D.make_schedule("cosine", T)
    sd = use_our_schedule(ddim_scheduler(T, n, spacing, offset, clip), sched)
    desc = sd.timesteps.tolist()
    assert all(a - b == T // n for a, b in itertools.pairwise(desc))
    x_T = normal(1)
    theirs, x0_theirs = diffusers_loop(sd, x_T, eta=0.0,
                                       use_clipped_model_output=clip is not None)
    rec = Recorder()
    x_0, x0_ours = D.ddim_sample(eps_fn, SHAPE, sched, gen(0), timesteps=desc[::-1],
                                 eta_ddim=0.0, x_start=x_T, clip_x0=clip, dtype=F64,
                                 extra_step=rec)
    assert_same_trajectory(rec, theirs, x0_ours, x0_theirs)
    assert_same(x_0, x0_ours, rel=1e-14)  # the last update returns x0_hat
    if spacing == "linspace":
        assert D.ddim_timesteps(T, n) == desc[::-1]


def test_ddim_conventions_that_differ():
    """The two DDIM settings that ours does not follow, each asserted as diffusers'
    formula: ``use_clipped_model_output=False`` keeps the raw ``eps_hat`` beside the
    clipped ``x0_hat``; ``set_alpha_to_one=False`` makes the last update go to
    ``abar_0`` (``sqrt(abar_0) x0_hat + sqrt(1 - abar_0) eps_hat``) instead of returning
    ``x0_hat``."""
    T, n = 1000, 50
    sched = D.make_schedule("cosine", T)
    x_t, t, t_prev = normal(1), 500, 480
    eps = eps_fn(x_t, tb(t))
    x0 = D.predict_x0(x_t, t, eps, sched)
    assert (x0.abs() > 1).any()
    abp = float(sched.alpha_bar[t_prev])
    raw = use_our_schedule(ddim_scheduler(T, n, "leading", clip=1.0), sched).step(
        eps, t, x_t, eta=0.0, use_clipped_model_output=False).prev_sample
    assert_same(raw, math.sqrt(abp) * x0.clamp(-1, 1) + math.sqrt(1 - abp) * eps)
    rec = Recorder()
    D.ddim_sample(eps_fn, SHAPE, sched, gen(0), timesteps=[t_prev, t], x_start=x_t,
                  clip_x0=1.0, dtype=F64, extra_step=rec)
    assert (rec.steps[0][1] - raw).abs().max() > 0.01

    sd = DDIMScheduler(num_train_timesteps=T, beta_schedule="squaredcos_cap_v2",
                       clip_sample=False, set_alpha_to_one=False, timestep_spacing="leading")
    sd.set_timesteps(n)
    sd.betas, sd.alphas, sd.alphas_cumprod = sched.betas, sched.alphas, sched.alpha_bar
    sd.final_alpha_cumprod = sched.alpha_bar[0]
    x_1 = normal(2)
    eps0 = eps_fn(x_1, tb(0))
    last = sd.step(eps0, 0, x_1, eta=0.0)
    ab0 = float(sched.alpha_bar[0])
    assert_same(last.prev_sample, math.sqrt(ab0) * last.pred_original_sample
                + math.sqrt(1 - ab0) * eps0)
    x_0, _ = D.ddim_sample(eps_fn, SHAPE, sched, gen(0), timesteps=[0], x_start=x_1,
                           dtype=F64)
    assert_same(x_0, last.pred_original_sample)
    assert (x_0 - last.prev_sample).abs().max() > 1e-3


def test_ddim_linspace_step_uses_a_fixed_stride():
    """diffusers' DDIM step on its own "linspace" timesteps (T = 1000, n = 10: 999, 888,
    ...) goes from 999 to ``999 - 1000 // 10 = 899``, not to the next visited 888: its
    first update is our DDIM jump 999 -> 899, and not ours 999 -> 888."""
    T, n = 1000, 10
    sched = D.make_schedule("cosine", T)
    sd = use_our_schedule(ddim_scheduler(T, n, "linspace", clip=None), sched)
    assert sd.timesteps.tolist()[:2] == [999, 888]
    x_T = normal(1)
    first = sd.step(eps_fn(x_T, tb(999)), 999, x_T, eta=0.0).prev_sample
    jumps = {}
    for ts in ([899, 999], D.ddim_timesteps(T, n)):
        rec = Recorder()
        D.ddim_sample(eps_fn, SHAPE, sched, gen(0), timesteps=ts, x_start=x_T, dtype=F64,
                      extra_step=rec)
        jumps[ts[-2]] = rec.steps[0][1]
    assert_same(jumps[899], first)
    assert (jumps[888] - first).abs().max() > 0.01


@pytest.mark.parametrize("clip", [None, 1.0])
def test_ddim_stochastic_trajectory(clip):
    """DDIM with eta 0.5 (leading spacing, n = 25): equally seeded generators give the same
    noise, so the stochastic chains are equal too (diffusers also draws at its last step,
    whose ``sigma`` is 0: after our chain ends, it changes nothing)."""
    T, n = 1000, 25
    sched = D.make_schedule("cosine", T)
    sd = use_our_schedule(ddim_scheduler(T, n, "leading", clip=clip), sched)
    x_T = normal(1)
    theirs, x0_theirs = diffusers_loop(sd, x_T, eta=0.5, generator=gen(9),
                                       use_clipped_model_output=clip is not None)
    rec = Recorder()
    _, x0_ours = D.ddim_sample(eps_fn, SHAPE, sched, gen(9),
                               timesteps=sd.timesteps.flip(0).tolist(), eta_ddim=0.5,
                               x_start=x_T, clip_x0=clip, dtype=F64, extra_step=rec)
    assert_same_trajectory(rec, theirs, x0_ours, x0_theirs)


@pytest.mark.parametrize("clip", [None, 1.0])
def test_ddim_eta1_on_our_timesteps_is_respaced_ddpm(clip):
    """Our own spacing, stochastically: ``ddim_sample`` with eta 1 on
    ``ddim_timesteps(1000, 50)`` is the respaced DDPM (posterior variance between visited
    timesteps), i.e. ``DDPMScheduler`` (fixed_small) on the same custom timesteps, whose
    step goes to the next entry. With clipping both use the clipped ``x0_hat`` (ours
    through the re-derived ``eps_hat``, diffusers through the posterior mean: the same)."""
    T, n = 1000, 50
    sched = D.make_schedule("cosine", T)
    ts = D.ddim_timesteps(T, n)
    sd = use_our_schedule(DDPMScheduler(num_train_timesteps=T,
                                        beta_schedule="squaredcos_cap_v2",
                                        variance_type="fixed_small",
                                        clip_sample=clip is not None), sched)
    sd.set_timesteps(timesteps=ts[::-1])
    x_T = normal(1)
    theirs, x0_theirs = diffusers_loop(sd, x_T, generator=gen(4))
    rec = Recorder()
    _, x0_ours = D.ddim_sample(eps_fn, SHAPE, sched, gen(4), timesteps=ts, eta_ddim=1.0,
                               x_start=x_T, clip_x0=clip, dtype=F64, extra_step=rec)
    assert_same_trajectory(rec, theirs, x0_ours, x0_theirs)
