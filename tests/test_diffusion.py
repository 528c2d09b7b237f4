"""The shared diffusion core (simart.models.diffusion): schedules, the forward marginal,
Tweedie, DDPM / DDIM with a perfect epsilon-predictor, the DDIM / DDPM relations, the
guidance hook against autograd, sample statistics, and generator-only randomness."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from simart.models import diffusion as D

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def oracle(x0: torch.Tensor, sched: D.Schedule):
    """The perfect epsilon-predictor for a known clean image x0."""
    def eps_fn(x_t, t):
        return D.predict_eps(x_t, t, x0, sched)
    return eps_fn


def linear_eps(x_t, t):
    """A fixed, non-oracle epsilon model (depends on x_t and t)."""
    return 0.3 * x_t + 0.01 * t.to(x_t.dtype).view(-1, 1, 1, 1) / 100 + 0.1 * torch.sin(x_t)


# ------------------------------------------------------------------------- schedules

def test_cosine_schedule_matches_nichol_dhariwal():
    s = D.make_schedule("cosine", 1000)
    assert s.T == 1000 and s.betas.dtype == torch.float64
    f = lambda t: math.cos((t / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2
    for t in (0, 10, 500, 900):
        assert s.alpha_bar[t].item() == pytest.approx(f(t + 1) / f(0), rel=1e-9)
    assert (s.betas <= 0.999).all() and (s.betas > 0).all()
    assert (s.alpha_bar[1:] < s.alpha_bar[:-1]).all()
    assert torch.allclose(s.alpha_bar, torch.cumprod(1 - s.betas, 0))
    assert s.alpha_bar[-1] < 1e-6 and s.alpha_bar[0] > 0.999


def test_linear_schedule_and_errors():
    s = D.make_schedule("linear", 1000)
    assert s.betas[0].item() == pytest.approx(1e-4) and s.betas[-1].item() == pytest.approx(0.02)
    assert D.make_schedule("linear", 250).betas[-1].item() == pytest.approx(0.08)
    assert D.make_schedule("cosine", 200, s=8e-3).T == 200
    with pytest.raises(ValueError, match="unknown noise schedule"):
        D.make_schedule("sigmoid", 10)
    with pytest.raises(ValueError, match=">= 1"):
        D.make_schedule("cosine", 0)
    bt = s.beta_tilde()
    assert bt[0] == 0 and (bt[1:] < s.betas[1:]).all()


# ------------------------------------------------------------------ forward / Tweedie

@pytest.mark.parametrize("t", [0, 300, 700, 999])
def test_forward_marginal_is_gaussian_with_the_schedule_moments(t):
    sched = D.make_schedule("cosine", 1000)
    x0 = torch.tensor([-0.8, 0.0, 0.5, 1.0], dtype=torch.float64).view(1, 4, 1, 1)
    n = 40_000
    eps = torch.randn((n, 4, 1, 1), generator=gen(t), dtype=torch.float64)
    xt = D.q_sample(x0.expand(n, -1, -1, -1), t, eps, sched)
    ab = sched.alpha_bar[t].item()
    mean, var = xt.mean(0).flatten(), xt.var(0).flatten()
    se_mean = math.sqrt((1 - ab) / n)
    assert torch.allclose(mean, math.sqrt(ab) * x0.flatten(), atol=5 * se_mean + 1e-12)
    assert torch.allclose(var, torch.full_like(var, 1 - ab), rtol=0.04, atol=1e-9)
    # and the t-batch form equals the scalar form
    tb = torch.full((n,), t)
    assert torch.equal(D.q_sample(x0.expand(n, -1, -1, -1), tb, eps, sched), xt)


def test_tweedie_inverts_the_forward_process():
    sched = D.make_schedule("cosine", 100)
    x0 = torch.rand((3, 1, 8, 8), generator=gen(1), dtype=torch.float64) * 2 - 1
    eps = torch.randn(x0.shape, generator=gen(2), dtype=torch.float64)
    t = torch.tensor([0, 50, 99])
    xt = D.q_sample(x0, t, eps, sched)
    assert torch.allclose(D.predict_x0(xt, t, eps, sched), x0, atol=1e-6)
    assert torch.allclose(D.predict_eps(xt, t, x0, sched), eps, atol=1e-9)
    # posterior mean with the true x0 is a convex-like mix: at t = 0 it is x0 itself
    assert torch.allclose(D.posterior_mean(x0, xt, 0, sched), x0, atol=1e-12)


def test_timestep_embedding():
    e = D.timestep_embedding(torch.tensor([0, 5, 999]), 33)
    assert e.shape == (3, 33) and torch.isfinite(e).all()
    assert torch.allclose(e[0, :16], torch.ones(16)) and torch.allclose(e[0, 16:], torch.zeros(17))


# ------------------------------------------------------------------------- samplers

def test_ddim_timesteps():
    assert D.ddim_timesteps(1000, 1000) == list(range(1000))
    ts = D.ddim_timesteps(1000, 20)
    assert len(ts) == 20 and ts[0] == 0 and ts[-1] == 999 and ts == sorted(set(ts))
    ts = D.ddim_timesteps(1000, 10, t_min=300)
    assert len(ts) == 10 and ts[0] == 300 and ts[-1] == 999
    assert D.ddim_timesteps(200, 1) == [199]
    with pytest.raises(ValueError):
        D.ddim_timesteps(100, 101)
    with pytest.raises(ValueError):
        D.ddim_timesteps(100, 0)


@pytest.mark.parametrize("steps", [1, 7, 50])
def test_ddim_with_a_perfect_eps_predictor_recovers_x0(steps):
    sched = D.make_schedule("cosine", 50)
    x0 = torch.rand((2, 1, 6, 5), generator=gen(3), dtype=torch.float64) * 2 - 1
    out, x0_hat = D.ddim_sample(oracle(x0, sched), x0.shape, sched, gen(4), steps=steps,
                                dtype=torch.float64, device="cpu")
    assert torch.allclose(out, x0, atol=1e-8) and torch.allclose(x0_hat, x0, atol=1e-8)
    # stochastic DDIM too: the oracle's x0_hat is exact at every step
    out, _ = D.ddim_sample(oracle(x0, sched), x0.shape, sched, gen(4), steps=steps,
                           eta_ddim=1.0, dtype=torch.float64)
    assert torch.allclose(out, x0, atol=1e-8)


@pytest.mark.parametrize("variance", ["beta", "beta_tilde", "none"])
def test_ddpm_with_a_perfect_eps_predictor_recovers_x0(variance):
    sched = D.make_schedule("linear", 60)
    x0 = torch.rand((2, 1, 5, 7), generator=gen(5), dtype=torch.float64) * 2 - 1
    out, _ = D.ddpm_sample(oracle(x0, sched), x0.shape, sched, gen(6), variance=variance,
                           dtype=torch.float64)
    # the last update (t = 0) returns the posterior mean = x0 exactly
    assert torch.allclose(out, x0, atol=1e-8)


def test_ddim_all_steps_eta1_is_ddpm_with_posterior_variance():
    """With every timestep, DDIM (eta_ddim = 1) is DDPM with sigma_t^2 = beta_tilde_t, step
    for step and noise draw for noise draw, for any epsilon model."""
    sched = D.make_schedule("cosine", 40)
    shape = (2, 1, 4, 4)
    a, _ = D.ddim_sample(linear_eps, shape, sched, gen(7), eta_ddim=1.0, dtype=torch.float64)
    b, _ = D.ddpm_sample(linear_eps, shape, sched, gen(7), variance="beta_tilde",
                         dtype=torch.float64)
    assert torch.allclose(a, b, atol=1e-9)


def test_ddim_all_steps_eta0_and_ddpm_mean_path():
    """Deterministic DDIM over all T steps and DDPM's noiseless mean path both take a perfect
    predictor's x_T to exactly x0 (equal results). For an imperfect epsilon model they are
    NOT the same path: DDIM (eta 0) integrates the probability-flow ODE, whose epsilon
    coefficient per step is half of DDPM's (the reverse SDE drift) to first order in beta."""
    sched = D.make_schedule("cosine", 1000)
    x0 = torch.rand((1, 1, 4, 4), generator=gen(8), dtype=torch.float64) * 2 - 1
    x_t = D.randn(x0.shape, gen(9), dtype=torch.float64)
    a, _ = D.ddim_sample(oracle(x0, sched), x0.shape, sched, gen(10), x_start=x_t,
                         dtype=torch.float64)
    b, _ = D.ddpm_sample(oracle(x0, sched), x0.shape, sched, gen(10), x_start=x_t,
                         variance="none", dtype=torch.float64)
    assert torch.allclose(a, x0, atol=1e-7) and torch.allclose(b, x0, atol=1e-7)
    # one step of each from the same x_t with the same eps: coefficients of eps
    t = 500
    ab, abp = sched.alpha_bar[t].item(), sched.alpha_bar[t - 1].item()
    alpha, beta = sched.alphas[t].item(), sched.betas[t].item()
    c_ddim = math.sqrt(1 - abp) - math.sqrt(1 - ab) / math.sqrt(alpha)
    c_ddpm = -beta / (math.sqrt(alpha) * math.sqrt(1 - ab))
    assert c_ddim / c_ddpm == pytest.approx(0.5, abs=0.01)
    eps = torch.ones_like(x0)
    xs = x_t.clone()
    # the single-step updates the samplers use, split into x_t / sqrt(alpha) + c * eps
    ddim_step = math.sqrt(abp) * D.predict_x0(xs, t, eps, sched) + math.sqrt(1 - abp) * eps
    ddpm_step = (xs - beta / math.sqrt(1 - ab) * eps) / math.sqrt(alpha)
    assert torch.allclose(ddim_step - xs / math.sqrt(alpha), c_ddim * eps, atol=1e-12)
    assert torch.allclose(ddpm_step - xs / math.sqrt(alpha), c_ddpm * eps, atol=1e-12)


def test_stopping_early_returns_tweedie_at_that_step():
    sched = D.make_schedule("cosine", 100)
    x0 = torch.rand((1, 1, 4, 4), generator=gen(11), dtype=torch.float64)
    ts = D.ddim_timesteps(100, 5, t_min=40)
    out, x0_hat = D.ddim_sample(oracle(x0, sched), x0.shape, sched, gen(0), timesteps=ts,
                                dtype=torch.float64)
    assert torch.allclose(out, x0, atol=1e-9) and torch.equal(out, x0_hat)
    out, _ = D.ddpm_sample(oracle(x0, sched), x0.shape, sched, gen(0), t_stop=30,
                           dtype=torch.float64)
    assert torch.allclose(out, x0, atol=1e-9)
    seen = []
    D.ddpm_sample(lambda x, t: (seen.append(int(t[0])), torch.zeros_like(x))[1], x0.shape,
                  sched, gen(0), t_stop=95, dtype=torch.float64)
    assert seen == [99, 98, 97, 96, 95]


def test_samplers_draw_only_from_the_generator():
    sched = D.make_schedule("cosine", 30)
    state = torch.get_rng_state()
    a, _ = D.ddpm_sample(linear_eps, (1, 1, 4, 4), sched, gen(12))
    b, _ = D.ddpm_sample(linear_eps, (1, 1, 4, 4), sched, gen(12))
    c, _ = D.ddim_sample(linear_eps, (1, 1, 4, 4), sched, gen(12), steps=10, eta_ddim=0.5)
    d, _ = D.ddim_sample(linear_eps, (1, 1, 4, 4), sched, gen(12), steps=10, eta_ddim=0.5)
    assert torch.equal(a, b) and torch.equal(c, d)
    assert torch.equal(torch.get_rng_state(), state)
    e, _ = D.ddpm_sample(linear_eps, (1, 1, 4, 4), sched, gen(13))
    assert not torch.equal(a, e)


# ------------------------------------------------------------------------- guidance

class _TinyEps(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x, t):
        return torch.tanh(self.conv(x)) * (1 + t.float().view(-1, 1, 1, 1) / 100)


def _blur(x):
    k = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]], dtype=x.dtype) / 16
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), k.view(1, 1, 3, 3))


def _phys_loss(x0_hat, y, t):
    return (_blur(x0_hat) - y).abs().sum(dim=(1, 2, 3))


@pytest.mark.parametrize("inside_no_grad", [False, True])
def test_guidance_hook_is_the_autograd_gradient_of_the_physics_loss(inside_no_grad):
    sched = D.make_schedule("cosine", 100)
    net = _TinyEps()
    x = torch.randn((2, 1, 8, 8), generator=gen(14))
    y = torch.rand((2, 1, 8, 8), generator=gen(15))
    t = 60
    tb = torch.full((2,), t)
    # explicit: L(x0_hat(x_t)) through Tweedie and the network, autograd w.r.t. x_t
    xe = x.clone().requires_grad_(True)
    loss = _phys_loss(D.predict_x0(xe, t, net(xe, tb), sched), y, tb).sum()
    (g_ref,) = torch.autograd.grad(loss, xe)
    hook = D.loss_guidance(_phys_loss)
    ctx = torch.no_grad() if inside_no_grad else torch.enable_grad()
    with ctx:
        eps, shift = D._eps_and_guidance(net, x, t, sched, hook, 0.7, y, "score")
        with torch.enable_grad():
            xg = x.clone().requires_grad_(True)
            g_hook = hook(xg, D.predict_x0(xg, t, net(xg, tb), sched), tb, y)
    assert torch.allclose(g_hook, g_ref, atol=1e-6)
    assert shift is None
    ab = sched.alpha_bar[t].item()
    with torch.no_grad():
        eps_plain = net(x, tb)
    # score mode: s = -eps/sqrt(1-ab) becomes s - strength * g
    assert torch.allclose(eps, eps_plain + 0.7 * math.sqrt(1 - ab) * g_ref, atol=1e-6)
    # shift mode returns strength * g and leaves eps alone
    eps2, shift2 = D._eps_and_guidance(net, x, t, sched, hook, 0.7, y, "shift")
    assert torch.allclose(eps2, eps_plain, atol=1e-6)
    assert torch.allclose(shift2, 0.7 * g_ref, atol=1e-6)


def test_guidance_wrt_x0_and_shift_mode_in_a_sampler():
    sched = D.make_schedule("cosine", 50)
    x0 = torch.rand((1, 1, 6, 6), generator=gen(16), dtype=torch.float64)
    const = torch.full_like(x0, 0.25)
    hook = lambda x_t, x0_hat, t, m: const
    hook.through_model = False
    # one DDIM step from T-1 with the oracle gives x0; the shift is then subtracted
    out, _ = D.ddim_sample(oracle(x0, sched), x0.shape, sched, gen(0), steps=1,
                           guidance=hook, strength=2.0, guidance_mode="shift",
                           dtype=torch.float64)
    assert torch.allclose(out, x0 - 0.5, atol=1e-9)
    hook2 = D.loss_guidance(lambda x0h, m, t: (x0h ** 2).sum(dim=(1, 2, 3)), wrt_x0=True)
    xg = x0.clone().requires_grad_(True)
    assert torch.allclose(hook2(xg, xg * 3, None, None), 2 * (xg * 3).detach())
    with pytest.raises(ValueError, match="guidance mode"):
        D.ddim_sample(oracle(x0, sched), x0.shape, sched, gen(0), steps=1, guidance=hook,
                      strength=1.0, guidance_mode="bogus")


# ------------------------------------------------------------------------ statistics

def test_sample_stats_mean_std_entropy():
    s = torch.tensor([0.1, 0.1, 0.9, 0.9]).view(4, 1, 1, 1, 1).repeat(1, 1, 1, 2, 2)
    s[:, 0, 0, 0, 0] = 0.5                                   # one constant pixel
    st = D.sample_stats(s, entropy="histogram", bins=256)
    assert torch.allclose(st["mean"][0, 0, 1, 1], torch.tensor(0.5))
    assert torch.allclose(st["std"][0, 0, 1, 1], torch.tensor(0.4))
    assert st["std"][0, 0, 0, 0] == 0 and st["entropy"][0, 0, 0, 0] == 0
    assert st["entropy"][0, 0, 1, 1].item() == pytest.approx(math.log(2))
    g = D.sample_stats(s, entropy="gaussian")["entropy"]
    assert g[0, 0, 1, 1].item() == pytest.approx(0.5 * math.log(2 * math.pi * math.e * 0.16))
    assert torch.isfinite(g).all()
    distinct = torch.linspace(0, 1, 8).view(8, 1, 1, 1, 1)
    h = D.histogram_entropy(distinct, bins=256)
    assert h.item() == pytest.approx(math.log(8))
    with pytest.raises(ValueError):
        D.sample_stats(s, entropy="renyi")
    one = D.sample_stats(s[:1])
    assert (one["std"] == 0).all()


# ------------------------------------------------------- deterministic building blocks

def test_bilinear_upsampling_and_attention_match_torch():
    for shape in [(2, 3, 5, 7), (1, 1, 1, 1)]:
        x = torch.randn(shape, generator=gen(20), dtype=torch.float64)
        ref = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        assert torch.allclose(D.upsample_bilinear2x(x), ref, atol=1e-12)
    q, k, v = (torch.randn((2, 3, 10, 4), generator=gen(21 + i)) for i in range(3))
    explicit = torch.softmax(q @ k.transpose(-1, -2) / 2.0, dim=-1) @ v
    assert torch.allclose(D.attention(q, k, v), explicit, atol=1e-5)
