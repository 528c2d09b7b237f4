"""The shared diffusion core of the diffusion models (PCSD, PI-DDPM, the conditional DDPM).

Notation (Ho et al. 2020): ``T`` steps, ``beta_t``, ``alpha_t = 1 - beta_t``,
``alpha_bar_t = prod_{s <= t} alpha_s``; forward noising
``q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)``. Timesteps are 0-based
indices ``t = 0 .. T-1`` (index ``t`` is the papers' step ``t + 1``): ``alpha_bar[0]`` is the
first (smallest) noise level, ``alpha_bar[T-1]`` the last (~ pure noise). "Before step 0" is
the clean image (``alpha_bar_{-1} = 1``).

* :func:`make_schedule` -- cosine (Nichol & Dhariwal 2021, offset ``s``, ``beta`` clipped at
  0.999) or linear (Ho et al. 2020, ``beta`` from 1e-4 to 0.02 at T = 1000) schedules:
  a :class:`Schedule` (float64 tensors ``betas``, ``alphas``, ``alpha_bar``).
* :func:`q_sample` (``x_t`` from ``x_0`` and ``eps``), :func:`predict_x0` (Tweedie:
  ``x0_hat = (x_t - sqrt(1 - abar) eps_hat) / sqrt(abar)``), :func:`predict_eps`,
  :func:`posterior_mean` (mean of ``q(x_{t-1} | x_t, x_0)``).
* Samplers taking the epsilon model as a callable ``eps_fn(x_t, t_batch) -> eps_hat``
  (``t_batch``: (B,) long indices), so tests can pass an oracle: :func:`ddpm_sample`
  (ancestral sampling, variance ``beta_t`` or the posterior ``beta_tilde_t``) and
  :func:`ddim_sample` (Song et al. 2021; any increasing subsequence of the timesteps,
  :func:`ddim_timesteps`; ``eta_ddim`` 0 = deterministic, 1 = DDPM's posterior variance).
  Both can start from a given ``x_start`` at an intermediate timestep (``t_start``).
* Guidance: a callable ``guidance(x_t, x0_hat, t, measurement) -> g`` (a tensor like
  ``x_t``), applied with a ``strength`` in one of two ways (``guidance_mode``):
  ``"score"`` -- the score ``s = -eps_hat / sqrt(1 - abar_t)`` becomes ``s - strength * g``
  (``eps_hat += strength * sqrt(1 - abar_t) * g``; PCSD's Algorithm 2 step 6 with ``g`` the
  gradient of a loss, i.e. classifier guidance, Dhariwal & Nichol 2021); ``"shift"`` -- the
  update's result becomes ``x_{t-1} - strength * g`` (PI-DDPM's Algorithm 2; DPS).
  :func:`loss_guidance` builds the hook ``g = d loss(x0_hat, measurement, t) / d x_t`` by
  autograd (through the epsilon model: the sampler computes ``eps_hat`` with gradients when
  ``guidance.through_model`` is true, also inside ``torch.no_grad``).
* :func:`sample_stats` -- mean of N samples, pixelwise standard deviation and entropy
  (:func:`gaussian_entropy`, :func:`histogram_entropy`).

The model side: :class:`DiffusionModel` (the shared base of the three models: schedule,
sampling options / ``set_sampling``, the sampler run, the measurement preconditioning),
:func:`physics_forward` (each image's noiseless forward operator, the image's
``operator_code`` saying which), :func:`param_features` and :func:`subset_index` (conditioning).

All randomness comes from a passed ``torch.Generator`` (never torch's global generator).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from simart.models.base import RestorationModel
from simart.progress import ProgressReporter

__all__ = ["EpsFn", "Guidance", "Schedule", "ddim_sample", "ddim_timesteps", "ddpm_sample",
           "gaussian_entropy", "histogram_entropy", "loss_guidance", "make_schedule",
           "posterior_mean", "predict_eps", "predict_x0", "q_sample", "randn",
           "sample_stats", "timestep_embedding"]

EpsFn = Callable[[Tensor, Tensor], Tensor]
Guidance = Callable[[Tensor, Tensor, Tensor, Any], Tensor]
SCHEDULES = ("cosine", "linear")
GUIDANCE_MODES = ("score", "shift")
LOG = logging.getLogger(__name__)


# ------------------------------------------------------------------------- schedules

@dataclass(frozen=True)
class Schedule:
    """A noise schedule of ``T`` steps (float64 CPU tensors of length T)."""

    betas: Tensor
    alphas: Tensor
    alpha_bar: Tensor
    kind: str = "cosine"

    @property
    def T(self) -> int:
        return len(self.betas)

    def alpha_bar_prev(self) -> Tensor:
        """``alpha_bar_{t-1}`` per index t (1 before the first step)."""
        return torch.cat([torch.ones(1, dtype=self.alpha_bar.dtype), self.alpha_bar[:-1]])

    def beta_tilde(self) -> Tensor:
        """Posterior variance ``(1 - abar_{t-1}) / (1 - abar_t) * beta_t`` (0 at t = 0)."""
        return (1 - self.alpha_bar_prev()) / (1 - self.alpha_bar) * self.betas


def make_schedule(kind: str = "cosine", T: int = 1000, *, s: float = 0.008,
                  beta_start: float | None = None, beta_end: float | None = None,
                  max_beta: float = 0.999) -> Schedule:
    """The ``kind`` schedule of ``T`` steps.

    ``cosine`` (Nichol & Dhariwal 2021 eq. 17): ``abar(t) = f(t) / f(0)``,
    ``f(t) = cos(((t / T) + s) / (1 + s) * pi / 2)^2``, ``beta_t = 1 - abar(t) / abar(t-1)``
    clipped at ``max_beta`` (0.999, theirs), offset ``s`` (0.008 theirs; the conditional-DDPM paper uses 8e-3).
    ``linear`` (Ho et al. 2020): ``beta_t`` evenly from ``beta_start`` to ``beta_end``
    (1e-4 and 0.02, scaled by ``1000 / T`` so that other T keep the same path, as in
    Nichol & Dhariwal's code).
    """
    if T < 1:
        raise ValueError(f"the number of diffusion steps T = {T} must be >= 1")
    if kind == "cosine":
        steps = torch.arange(T + 1, dtype=torch.float64) / T
        f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
        abar = f / f[0]
        betas = (1 - abar[1:] / abar[:-1]).clamp(min=0.0, max=max_beta)
    elif kind == "linear":
        scale = 1000.0 / T
        b0 = beta_start if beta_start is not None else 1e-4 * scale
        b1 = beta_end if beta_end is not None else 0.02 * scale
        betas = torch.linspace(b0, min(b1, max_beta), T, dtype=torch.float64)
    else:
        raise ValueError(f"unknown noise schedule {kind!r}; allowed: {list(SCHEDULES)}")
    alphas = 1 - betas
    return Schedule(betas=betas, alphas=alphas, alpha_bar=torch.cumprod(alphas, 0), kind=kind)


def _at(values: Tensor, t: Tensor | int, like: Tensor) -> Tensor:
    """``values[t]`` broadcast to ``like``'s shape (B, 1, 1, 1), in ``like``'s dtype/device."""
    t = torch.as_tensor(t, device=values.device).long().reshape(-1)
    v = values[t].to(device=like.device, dtype=like.dtype)
    return v.reshape(-1, *([1] * (like.ndim - 1)))


# ------------------------------------------------------------- forward / Tweedie

def randn(shape: Sequence[int], gen: torch.Generator, like: Tensor | None = None,
          device: torch.device | str | None = None, dtype: torch.dtype | None = None
          ) -> Tensor:
    """Standard normal noise from ``gen`` (on the generator's device), as ``like``."""
    dev = gen.device
    out = torch.randn(tuple(shape), generator=gen, device=dev,
                      dtype=dtype or (like.dtype if like is not None else torch.float32))
    target = device if device is not None else (like.device if like is not None else dev)
    return out.to(target)


def q_sample(x0: Tensor, t: Tensor | int, noise: Tensor, sched: Schedule) -> Tensor:
    """``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`` (``t`` per image or one int)."""
    ab = _at(sched.alpha_bar, t, x0)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def predict_x0(x_t: Tensor, t: Tensor | int, eps: Tensor, sched: Schedule) -> Tensor:
    """Tweedie's estimate ``x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)``."""
    ab = _at(sched.alpha_bar, t, x_t)
    return (x_t - (1 - ab).sqrt() * eps) / ab.sqrt()


def predict_eps(x_t: Tensor, t: Tensor | int, x0: Tensor, sched: Schedule) -> Tensor:
    """The noise that takes ``x0`` to ``x_t``: ``(x_t - sqrt(abar_t) x0) / sqrt(1 - abar_t)``
    (the perfect epsilon-predictor's output when ``x0`` is the true clean image)."""
    ab = _at(sched.alpha_bar, t, x_t)
    return (x_t - ab.sqrt() * x0) / (1 - ab).sqrt()


def posterior_mean(x0: Tensor, x_t: Tensor, t: Tensor | int, sched: Schedule) -> Tensor:
    """Mean of ``q(x_{t-1} | x_t, x_0)``:
    ``sqrt(abar_{t-1}) beta_t / (1 - abar_t) x_0 + sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t) x_t``."""
    ab, abp = _at(sched.alpha_bar, t, x_t), _at(sched.alpha_bar_prev(), t, x_t)
    beta, alpha = _at(sched.betas, t, x_t), _at(sched.alphas, t, x_t)
    return (abp.sqrt() * beta / (1 - ab)) * x0 + (alpha.sqrt() * (1 - abp) / (1 - ab)) * x_t


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """Sinusoidal embedding (Vaswani et al. 2017; Ho et al. 2020) of (B,) timesteps:
    ``[cos(t f_k), sin(t f_k)]``, ``f_k = max_period^(-k / (dim/2))``; (B, dim) float32."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32,
                                                           device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=1)
    return emb


# ------------------------------------------------------------------------- guidance

def loss_guidance(loss_fn: Callable[[Tensor, Any, Tensor], Tensor], *,
                  through_model: bool = True, wrt_x0: bool = False) -> Guidance:
    """A guidance hook ``g = d loss_fn(x0_hat, measurement, t).sum() / d x_t``.

    ``through_model`` (default): the gradient flows through the epsilon model (x0_hat is a
    function of x_t through Tweedie and eps_hat(x_t); the sampler builds that graph).
    ``wrt_x0``: the gradient with respect to x0_hat instead (no backward through the model).
    ``loss_fn`` returns per-image losses (B,) or a scalar.
    """
    def hook(x_t: Tensor, x0_hat: Tensor, t: Tensor, measurement: Any) -> Tensor:
        with torch.enable_grad():
            target = x0_hat if wrt_x0 else x_t
            loss = loss_fn(x0_hat, measurement, t).sum()
            (g,) = torch.autograd.grad(loss, target)
        return g.detach()

    hook.through_model = through_model and not wrt_x0  # type: ignore[attr-defined]
    return hook


def _eps_and_guidance(eps_fn: EpsFn, x: Tensor, t: int, sched: Schedule,
                      guidance: Guidance | None, strength: float, measurement: Any,
                      mode: str) -> tuple[Tensor, Tensor | None]:
    """``eps_hat`` at ``x`` (index ``t``), with score guidance folded in (``mode`` "score"),
    and the shift ``strength * g`` (``mode`` "shift"; else None)."""
    tb = torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)
    if guidance is None or strength == 0:
        with torch.no_grad():
            return eps_fn(x, tb), None
    through = getattr(guidance, "through_model", True)
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        if through:
            eps = eps_fn(xg, tb)
        else:
            with torch.no_grad():
                eps = eps_fn(x, tb)
        x0 = predict_x0(xg, t, eps, sched)
        g = guidance(xg, x0, tb, measurement)
    eps = eps.detach()
    g = g.detach().to(x.dtype)
    if mode == "score":
        ab = float(sched.alpha_bar[t])
        return eps + strength * math.sqrt(1 - ab) * g, None
    return eps, strength * g


def _check_mode(mode: str) -> None:
    if mode not in GUIDANCE_MODES:
        raise ValueError(f"unknown guidance mode {mode!r}; allowed: {list(GUIDANCE_MODES)}")


# ------------------------------------------------------------------------- samplers

def _start(shape: Sequence[int], sched: Schedule, gen: torch.Generator,
           x_start: Tensor | None, t_start: int | None, device, dtype) -> tuple[Tensor, int]:
    t0 = sched.T - 1 if t_start is None else int(t_start)
    if not 0 <= t0 < sched.T:
        raise ValueError(f"t_start = {t0} outside 0..{sched.T - 1}")
    if x_start is None:
        return randn(shape, gen, device=device, dtype=dtype), t0
    return x_start.to(device=device, dtype=dtype), t0


def _guided(x_prev: Tensor, x: Tensor, t: int, shift: Tensor | None,
            extra_step: Callable | None) -> Tensor:
    """One sampler step's end: the measurement-consistency ``shift`` subtracted, then the
    ``extra_step(x_prev, x, t)`` correction added (both optional)."""
    if shift is not None:
        x_prev = x_prev - shift
    if extra_step is not None:
        x_prev = x_prev + extra_step(x_prev, x, t)
    return x_prev

def ddpm_sample(eps_fn: EpsFn, shape: Sequence[int], sched: Schedule, gen: torch.Generator,
                *, x_start: Tensor | None = None, t_start: int | None = None,
                variance: str = "beta", guidance: Guidance | None = None,
                strength: float = 0.0, measurement: Any = None, guidance_mode: str = "score",
                clip_x0: float | None = None, device: torch.device | str | None = None,
                dtype: torch.dtype = torch.float32,
                extra_step: Callable[[Tensor, Tensor, int], Tensor] | None = None,
                t_stop: int = 0, progress: ProgressReporter | None = None,
                ) -> tuple[Tensor, Tensor]:
    """Ancestral DDPM sampling (Ho et al. 2020 Algorithm 2): for t = t_start .. 0,
    ``x_{t-1} = (x_t - beta_t / sqrt(1 - abar_t) eps_hat) / sqrt(alpha_t) + sigma_t z``
    (``z = 0`` at the last step), ``sigma_t^2 = beta_t`` (``variance="beta"``),
    ``beta_tilde_t`` (``"beta_tilde"``, the posterior variance) or 0 (``"none"``: the mean
    path, deterministic).

    ``x_start``: the state at ``t_start`` (default: N(0, I) noise at T-1). ``clip_x0``:
    when given, the mean is computed from ``x0_hat`` clipped to ``[-clip_x0, clip_x0]``
    (through :func:`posterior_mean`; identical to the formula above without clipping).
    ``extra_step(x_prev, x_t, t)``: a further additive term of the update (PI-DDPM's
    regulariser), returned tensor added to ``x_{t-1}``.
    ``t_stop`` > 0: stop at that timestep and return Tweedie's ``x0_hat`` there (the
    posterior-mean estimate given ``x_{t_stop}``: smoother, less variance than a sample).
    ``progress``: told of each step (one epsilon evaluation; it only reads a clock and
    logs, so the samples are the same with or without it).
    Returns ``(x_0, x0_hat of the last step)``.
    """
    _check_mode(guidance_mode)
    if variance not in ("beta", "beta_tilde", "none"):
        raise ValueError(f"unknown DDPM variance {variance!r}; allowed: "
                         "['beta', 'beta_tilde', 'none']")
    dev = device if device is not None else gen.device
    x, t0 = _start(shape, sched, gen, x_start, t_start, dev, dtype)
    var = {"beta": sched.betas, "beta_tilde": sched.beta_tilde(),
           "none": torch.zeros_like(sched.betas)}[variance]
    if not 0 <= t_stop <= t0:
        raise ValueError(f"t_stop = {t_stop} outside 0..{t0}")
    x0 = x
    for t in range(t0, t_stop - 1, -1):
        eps, shift = _eps_and_guidance(eps_fn, x, t, sched, guidance, strength, measurement,
                                       guidance_mode)
        if progress is not None:
            progress.update(1)
        x0 = predict_x0(x, t, eps, sched)
        if clip_x0 is not None:
            x0 = x0.clamp(-clip_x0, clip_x0)
        if t_stop > 0 and t == t_stop:
            return x0, x0
        if clip_x0 is not None:
            mean = posterior_mean(x0, x, t, sched)
        else:
            beta, alpha = float(sched.betas[t]), float(sched.alphas[t])
            ab = float(sched.alpha_bar[t])
            mean = (x - beta / math.sqrt(1 - ab) * eps) / math.sqrt(alpha)
        x_prev = mean
        if t > 0 and float(var[t]) > 0:
            x_prev = x_prev + math.sqrt(float(var[t])) * randn(x.shape, gen, like=x)
        x = _guided(x_prev, x, t, shift, extra_step)
    return x, x0


def ddim_timesteps(T: int, steps: int, t_min: int = 0) -> list[int]:
    """``steps`` increasing timestep indices out of ``t_min``..T-1, evenly spaced, from
    ``t_min`` to T-1 (``steps == T``, ``t_min`` 0: all of them). Sampling visits them in
    reverse; DDIM's last update from ``t_min`` returns Tweedie's ``x0_hat`` there."""
    if not 0 <= t_min < T:
        raise ValueError(f"t_min = {t_min} outside 0..{T - 1}")
    if not 1 <= steps <= T - t_min:
        raise ValueError(f"number of sampling steps {steps} must be in 1..{T - t_min}")
    if steps == 1:
        return [T - 1]
    # t_min + k (T-1-t_min) / (steps-1) rounded half up, in integers: exact on every
    # platform (a float linspace rounds an exact .5 either way by its last bit)
    span, n = T - 1 - t_min, steps - 1
    return [t_min + (2 * span * k + n) // (2 * n) for k in range(steps)]


def ddim_sample(eps_fn: EpsFn, shape: Sequence[int], sched: Schedule, gen: torch.Generator,
                *, steps: int | None = None, timesteps: Sequence[int] | None = None,
                eta_ddim: float = 0.0, x_start: Tensor | None = None,
                guidance: Guidance | None = None, strength: float = 0.0,
                measurement: Any = None, guidance_mode: str = "score",
                clip_x0: float | None = None, device: torch.device | str | None = None,
                dtype: torch.dtype = torch.float32,
                extra_step: Callable[[Tensor, Tensor, int], Tensor] | None = None,
                progress: ProgressReporter | None = None) -> tuple[Tensor, Tensor]:
    """DDIM (Song et al. 2021 eq. 12) over ``timesteps`` (default :func:`ddim_timesteps`
    of ``steps``; all T when both are None), visited from the last to the first:

    ``x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) eps_hat + sigma z``,
    ``sigma = eta_ddim sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev)``,
    ``abar_prev`` the next visited (smaller) timestep's, 1 after the first index.
    ``eta_ddim`` 0: deterministic; 1 with every timestep: DDPM with the posterior variance.
    ``x_start``: the state at the largest visited timestep (default N(0, I)).
    ``progress``: told of each step, as for :func:`ddpm_sample`.
    Returns ``(x_0, x0_hat of the last step)``.
    """
    _check_mode(guidance_mode)
    if timesteps is None:
        timesteps = ddim_timesteps(sched.T, steps if steps is not None else sched.T)
    ts = sorted(int(t) for t in timesteps)
    if not ts or ts[0] < 0 or ts[-1] >= sched.T or len(set(ts)) != len(ts):
        raise ValueError(f"DDIM timesteps must be distinct indices in 0..{sched.T - 1}")
    dev = device if device is not None else gen.device
    x, _ = _start(shape, sched, gen, x_start, ts[-1], dev, dtype)
    x0 = x
    for k in range(len(ts) - 1, -1, -1):
        t = ts[k]
        ab = float(sched.alpha_bar[t])
        abp = float(sched.alpha_bar[ts[k - 1]]) if k > 0 else 1.0
        eps, shift = _eps_and_guidance(eps_fn, x, t, sched, guidance, strength, measurement,
                                       guidance_mode)
        if progress is not None:
            progress.update(1)
        x0 = predict_x0(x, t, eps, sched)
        if clip_x0 is not None:
            x0 = x0.clamp(-clip_x0, clip_x0)
            eps = predict_eps(x, t, x0, sched)
        sigma = eta_ddim * math.sqrt(max(0.0, (1 - abp) / (1 - ab) * (1 - ab / abp)))
        x_prev = math.sqrt(abp) * x0 + math.sqrt(max(0.0, 1 - abp - sigma ** 2)) * eps
        if sigma > 0 and k > 0:
            x_prev = x_prev + sigma * randn(x.shape, gen, like=x)
        x = _guided(x_prev, x, t, shift, extra_step)
    return x, x0


# ------------------------------------------------------------------ sample averaging

def gaussian_entropy(std: Tensor, floor: float = 1e-6) -> Tensor:
    """Differential entropy (nats) of a Gaussian of standard deviation ``std``:
    ``0.5 log(2 pi e sigma^2)``, ``sigma`` floored at ``floor`` (constant maps are finite)."""
    return 0.5 * torch.log(2 * math.pi * math.e * std.clamp_min(floor) ** 2)


def histogram_entropy(samples: Tensor, bins: int = 16, value_range: tuple[float, float] = (0, 1)
                      ) -> Tensor:
    """Per-pixel Shannon entropy (nats) of the N samples (N, ...) quantised into ``bins``
    equal bins of ``value_range`` (values outside clamp to the end bins): ``-sum p log p``
    over the bins; 0 when every sample falls in one bin, at most ``log(min(N, bins))``.
    Conditional-DDPM paper eq. 16 counts the distinct pixel values of 8-bit predictions (``bins=256``).
    Computed as ``-(1/N) sum_i log(count_i / N)`` with ``count_i`` the samples sharing sample
    i's bin (no scatter: deterministic on every device, memory O(N) images)."""
    lo, hi = value_range
    n = samples.shape[0]
    q = ((samples - lo) / (hi - lo) * bins).floor().clamp(0, bins - 1)
    out = torch.zeros(samples.shape[1:], dtype=torch.float32, device=samples.device)
    for i in range(n):
        count = (q == q[i]).sum(0).float()
        out = out - torch.log(count / n) / n
    return out


def sample_stats(samples: Tensor, *, entropy: str = "gaussian", bins: int = 16,
                 value_range: tuple[float, float] = (0.0, 1.0)) -> dict[str, Tensor]:
    """Statistics over the first dimension of ``samples`` (N, B, C, H, W): ``mean`` (the
    DDPM-avg estimate), ``std`` (pixelwise population standard deviation, the conditional-DDPM paper eq. 15
    without its 255 normalisation) and ``entropy`` (``"gaussian"``: :func:`gaussian_entropy`
    of ``std``; ``"histogram"``: :func:`histogram_entropy`)."""
    mean = samples.mean(0)
    std = samples.std(0, unbiased=False) if samples.shape[0] > 1 else torch.zeros_like(mean)
    if entropy == "gaussian":
        ent = gaussian_entropy(std)
    elif entropy == "histogram":
        ent = histogram_entropy(samples, bins, value_range)
    else:
        raise ValueError(f"unknown entropy {entropy!r}; allowed: ['gaussian', 'histogram']")
    return {"mean": mean, "std": std, "entropy": ent}


# ----------------------------------------------------------------- the model side

#: ``set_sampling`` options understood by :class:`DiffusionModel` (a model lists its own
#: subset in ``sampling_options``).
SAMPLING_CHOICES: dict[str, tuple[str, ...]] = {"sampler": ("ddpm", "ddim"),
                                                "variance": ("beta", "beta_tilde")}


def check_sampling_value(key: str, value: Any, T: int | None = None) -> None:
    """Raise ``ValueError`` for an invalid sampling option / its hparam default."""
    where = f"sampling option {key!r} = {value!r}"
    if key in SAMPLING_CHOICES:
        if value not in SAMPLING_CHOICES[key]:
            raise ValueError(f"{where}; allowed: {list(SAMPLING_CHOICES[key])}")
    elif key in ("steps", "n_samples"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{where} must be a positive integer")
        if key == "steps" and T is not None and value > T:
            raise ValueError(f"{where} exceeds the model's T = {T} diffusion steps")
    elif key == "start":
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not 0 < value <= 1:
            raise ValueError(f"{where} must be in (0, 1]")
    elif key == "stop":
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not 0 <= value < 1:
            raise ValueError(f"{where} must be in [0, 1)")
    elif key in ("eta", "eta_ddim"):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 \
                or not math.isfinite(value):
            raise ValueError(f"{where} must be a number >= 0")
    elif key == "clip_x0":
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false")
    else:
        raise ValueError(f"unknown sampling option {key!r}")


def to_model_space(x: Tensor) -> Tensor:
    """Images in [0, 1] (data units) -> [-1, 1] (the diffusion models' space)."""
    return 2.0 * x - 1.0


def to_data_space(z: Tensor) -> Tensor:
    """Inverse of :func:`to_model_space`."""
    return 0.5 * (z + 1.0)


def pad_to_multiple(y: Tensor, m: int) -> tuple[Tensor, tuple[int, int]]:
    """``y`` reflect-padded at the bottom / right to multiples of ``m`` (replicate where
    the image is too small to reflect); (padded, original (H, W))."""
    h, w = y.shape[-2:]
    ph, pw = (-h) % m, (-w) % m
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        y = torch.nn.functional.pad(y, (0, pw, 0, ph), mode=mode)
    return y, (h, w)


class DiffusionModel(RestorationModel):
    """Shared parts of the diffusion restoration models (a
    :class:`~simart.models.base.RestorationModel`):

    * the noise schedule from hparams ``schedule`` / ``T`` (:attr:`sched`);
    * the sampling options (:attr:`sampling`, defaults from the hparams of the same names,
      changed by :meth:`set_sampling`, which refuses unknown options and the ones not in
      ``sampling_options``): ``sampler`` (``ddpm``: ancestral over all T steps; ``ddim``:
      ``steps`` of them, stochasticity ``eta_ddim``), ``steps``, ``eta`` (physics guidance
      strength, models with guidance), ``n_samples`` (samples averaged into the estimate),
      ``variance`` (DDPM's ``beta`` / ``beta_tilde``), ``clip_x0`` (clip Tweedie's
      estimate to the clean images' range [-1, 1] at each step), ``stop`` (stop the chain
      at timestep ``stop * (T - 1)`` and return Tweedie's estimate there: 0 = a full
      sample, larger = closer to the posterior mean), ``start`` (1: from N(0, I) at T-1;
      < 1: from the noised measurement at ``start * (T - 1)``, :meth:`run_sampler`);
    * :meth:`run_sampler`: one sample of the chosen sampler;
    * :meth:`eps_from_output`: the epsilon-parameterisation (hparam ``precond``);
    * images are mapped from [0, 1] to [-1, 1] (:func:`to_model_space`) for the network;
      ``predict`` pads to the network's size multiple (reflect) and crops back.
    """

    needs = ("x",)
    predict_needs = ("gen",)
    sampling_options: tuple[str, ...] = ("sampler", "steps", "eta_ddim", "n_samples",
                                         "variance", "clip_x0")

    def __init__(self, **hparams):
        super().__init__(**hparams)
        h = self.hparams
        self.sched = make_schedule(h["schedule"], h["T"], s=h.get("cosine_s", 0.008))
        self.sampling = {k: h[k] for k in self.sampling_options}
        self._check_sampling(self.sampling)
        self._eval_sampling: dict[str, Any] | None = None  # set while validation sampling

    def validation_sampling(self) -> dict[str, Any]:
        """The sampling options validation predictions use over the evaluation ones:
        hparam ``val_steps`` k > 0 -> DDIM with ``min(k, T)`` steps, ``val_samples``
        n > 0 -> n samples; {} (both 0, or a model without them) = validate with the
        evaluation sampler. Why: the training loop validates with ``predict``, and a
        papers' sampler (T = 200 DDPM steps x 15 samples for the conditional DDPM) on every
        validation costs more than the training itself; a few deterministic DDIM steps
        rank checkpoints the same way at a small fraction of it."""
        h, out = self.hparams, {}
        if int(h.get("val_steps", 0)) > 0:
            out.update(sampler="ddim", steps=min(int(h["val_steps"]), self.sched.T))
        if int(h.get("val_samples", 0)) > 0 and "n_samples" in self.sampling_options:
            out["n_samples"] = int(h["val_samples"])
        return out

    def train(self, mode: bool = True) -> DiffusionModel:
        """``nn.Module.train``; switching to training mode also switches the sampling to
        :meth:`validation_sampling` (when not empty) until :meth:`set_sampling` is called:
        the training loop's validation (eval-mode ``predict`` between training steps) then
        samples cheaply, while the evaluation -- which builds the model anew and calls
        ``set_sampling`` -- samples with the evaluation options."""
        super().train(mode)
        val = self.validation_sampling() if mode else {}
        if val and getattr(self, "_eval_sampling", None) is None:
            saved = dict(self.sampling)
            self.set_sampling(**val)
            self._eval_sampling = saved
        return self

    def _check_sampling(self, opts: dict[str, Any]) -> None:
        for k, v in opts.items():
            check_sampling_value(k, v, self.sched.T)
        if opts.get("sampler") == "ddpm" and opts.get("steps", self.sched.T) != self.sched.T:
            raise ValueError(
                f"model {self.name!r}: sampler 'ddpm' runs all T = {self.sched.T} steps "
                f"(steps = {opts['steps']}); use sampler 'ddim' for fewer steps (eta_ddim 1 = "
                "the respaced stochastic DDPM)")

    def set_sampling(self, **options) -> None:
        """Change sampling options (see the class docstring); unknown ones raise
        ``ValueError``. ``sampler="ddpm"`` alone sets ``steps`` to T."""
        unknown = sorted(set(options) - set(self.sampling_options))
        if unknown:
            raise ValueError(f"model {self.name!r}: unknown sampling options {unknown}; "
                             f"allowed: {list(self.sampling_options)}")
        if getattr(self, "_eval_sampling", None) is not None:  # leave validation sampling
            self.sampling, self._eval_sampling = self._eval_sampling, None
        new = {**self.sampling, **options}
        if options.get("sampler") == "ddpm" and "steps" not in options:
            new["steps"] = self.sched.T
        self._check_sampling(new)
        self.sampling = new

    def run_sampler(self, eps_fn: EpsFn, shape: Sequence[int], gen: torch.Generator, *,
                    device, guidance: Guidance | None = None, strength: float = 0.0,
                    measurement: Any = None, guidance_mode: str = "score",
                    extra_step=None, y_start: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """One sample (model space) with the current sampling options: (x_0, last x0_hat).

        Sampling option ``start`` < 1 (and ``y_start``, the degraded image in model space,
        given): the chain starts at ``t_s = start * (T - 1)`` from
        ``x_{t_s} = sqrt(abar) y + sqrt(1 - abar) eps`` -- the conditional form of the PCSD paper's
        Algorithm 2 (``x_T = y``), SDEdit (Meng et al. 2022) -- instead of N(0, I) at T-1;
        the number of steps is then ``steps`` over ``t_stop .. t_s``.

        Progress: the steps of the ``n_samples`` chains of one prediction are logged as one
        job part (:meth:`steps_progress`; a line every ``SIMART_PROGRESS_SECONDS``, none for
        a prediction shorter than that), without changing the samples.
        """
        s = self.sampling
        clip = 1.0 if s["clip_x0"] else None
        common = {"guidance": guidance, "strength": strength, "measurement": measurement,
                  "guidance_mode": guidance_mode, "clip_x0": clip, "device": device,
                  "extra_step": extra_step}
        t_stop, t_top = self.t_stop(), self.sched.T - 1
        x_start = None
        if y_start is not None and float(s.get("start", 1.0)) < 1.0:
            t_top = max(t_stop, round(float(s["start"]) * (self.sched.T - 1)))
            x_start = q_sample(y_start, t_top, randn(shape, gen, like=y_start), self.sched)
        try:
            if s["sampler"] == "ddpm":
                common["progress"] = self.steps_progress(shape, t_top - t_stop + 1)
                return ddpm_sample(eps_fn, shape, self.sched, gen, variance=s["variance"],
                                   t_stop=t_stop, x_start=x_start, t_start=t_top, **common)
            n = min(s["steps"], t_top - t_stop + 1)
            ts = ddim_timesteps(t_top + 1, n, t_stop)
            common["progress"] = self.steps_progress(shape, len(ts))
            return ddim_sample(eps_fn, shape, self.sched, gen, timesteps=ts, x_start=x_start,
                               eta_ddim=float(s["eta_ddim"]), **common)
        except BaseException:
            self._steps_progress = None  # an interrupted prediction: the next starts afresh
            raise

    def steps_progress(self, shape: Sequence[int], chain_steps: int) -> ProgressReporter:
        """The reporter of this chain's steps: the one of the prediction under way (its
        ``n_samples`` chains of ``chain_steps`` steps on a batch of ``shape``) or, when
        that one is complete or was for other shapes / options, a new one."""
        n_samples = int(self.sampling.get("n_samples", 1))
        key = (tuple(shape), chain_steps, n_samples)
        held = getattr(self, "_steps_progress", None)
        if held is None or held[0] != key or held[1].finished:
            label = (f"{self.name} sampling {shape[0]} images ({n_samples} sample"
                     f"{'s' if n_samples > 1 else ''} x {chain_steps} steps)")
            held = (key, ProgressReporter(chain_steps * n_samples, "steps", label, logger=LOG,
                                          bar=False, always_end=False))
            self._steps_progress = held
        return held[1]

    def t_stop(self) -> int:
        """The timestep where sampling stops (sampling option ``stop`` x (T - 1))."""
        return round(float(self.sampling.get("stop", 0.0)) * (self.sched.T - 1))

    def eps_from_output(self, out: Tensor, x_t: Tensor, y_m: Tensor, abar: Tensor) -> Tensor:
        """eps_hat from the network output ``out`` (hparam ``precond``):

        ``none``: ``out`` is eps_hat (the papers' epsilon-network). ``measurement``: EDM-style
        preconditioning (Karras et al. 2022) around the degraded image ``y`` -- with
        ``sigma^2 = (1 - abar) / abar``, ``z = x_t / sqrt(abar) = x_0 + sigma eps`` and
        ``s_d`` = ``sigma_data``: ``x0_hat = y + c_skip (z - y) + c_out out``,
        ``c_skip = s_d^2 / (sigma^2 + s_d^2)``, ``c_out = sigma s_d / sqrt(sigma^2 + s_d^2)``
        (``out = 0`` is the Bayes estimate under a N(y, s_d^2) prior) and
        ``eps_hat = (z - x0_hat) / sigma``. The network is still trained on the epsilon loss;
        the skip only makes it start from the measurement (and keeps x0_hat well
        conditioned at every noise level), which a few hundred CPU steps need.
        """
        if self.hparams.get("precond", "none") == "none":
            return out
        ab = abar.to(x_t.device, torch.float32).view(-1, 1, 1, 1)
        sigma = ((1 - ab) / ab).sqrt()
        sd = float(self.hparams["sigma_data"])
        z = x_t / ab.sqrt()
        c_skip = sd ** 2 / (sigma ** 2 + sd ** 2)
        c_out = sigma * sd / (sigma ** 2 + sd ** 2).sqrt()
        x0 = y_m + c_skip * (z - y_m) + c_out * out
        return (z - x0) / sigma

    @staticmethod
    def default_generator(device: torch.device) -> torch.Generator:
        """The generator ``predict`` uses when none is passed (seed 0; no global RNG)."""
        return torch.Generator(device=device).manual_seed(0)


# ------------------------------------------------------------- physics of a batch

def subset_index(params: dict[str, Tensor] | None, subset: Tensor | None, b: int,
                 device) -> Tensor:
    """(B,) long: each image's position among its dataset's operators (SIMART AFM / TEM /
    SEM / STEM = 0..3, lm widefield / confocal = 0..1), read from its ``operator_code``;
    without parameters the batch's ``subset`` (zeros when None)."""
    if params is not None:
        from simart.physics.dataset_ops import operator_codes
        from simart.specs.operators import operator_at, subset_position

        idx = [subset_position(operator_at(c).name) for c in operator_codes(params, b).tolist()]
        return torch.tensor(idx, dtype=torch.long, device=device)
    if subset is not None:
        return subset.to(device).long()
    return torch.zeros(b, dtype=torch.long, device=device)


def physics_forward(x: Tensor, params: dict[str, Tensor], *, afm_mode: str = "exact"
                    ) -> Tensor:
    """The noiseless forward operator of each image (data units, (B, 1, H, W)) with its own
    parameters, the operator of every image its ``operator_code``
    (:func:`simart.physics.dataset_ops.forward_batch`, in float32). Differentiable in x."""
    from simart.physics.dataset_ops import forward_batch

    with fp32(x.device):
        return forward_batch(x.float(), params, afm_mode=afm_mode).to(x.dtype)


def fp32(device: torch.device) -> torch.autocast:
    """Autocast off on ``device``: the operators run in float32 inside a bf16/fp16 training
    step or prediction (their blur convolutions would otherwise be autocast, and the
    physics losses and guidance compare small residuals). No effect where autocast is off."""
    return torch.autocast(device.type, enabled=False)


def attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """``softmax(q k^T / sqrt(d)) v`` over the last two dims ((..., N, d) tensors):
    :func:`torch.nn.functional.scaled_dot_product_attention`, or the explicit product on
    CUDA when deterministic algorithms are on (the fused kernels' backward may not be)."""
    if q.is_cuda and torch.are_deterministic_algorithms_enabled():
        w = torch.softmax((q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1]), dim=-1)
        return w @ v
    return torch.nn.functional.scaled_dot_product_attention(q, k, v)


def upsample_bilinear2x(x: Tensor) -> Tensor:
    """2x bilinear up-sampling, equal to ``F.interpolate(x, scale_factor=2, mode="bilinear",
    align_corners=False)``, as a fixed depthwise transposed convolution after a one-pixel
    replicate pad (both deterministic on CUDA, unlike interpolate's backward)."""
    c = x.shape[1]
    k1 = torch.tensor([0.25, 0.75, 0.75, 0.25], dtype=x.dtype, device=x.device)
    k = (k1[:, None] * k1[None, :]).expand(c, 1, 4, 4).contiguous()
    y = torch.nn.functional.conv_transpose2d(
        torch.nn.functional.pad(x, (1, 1, 1, 1), mode="replicate"), k, stride=2, groups=c)
    return y[..., 3:-3, 3:-3]


def forward_operator(params: dict[str, Tensor], shape: tuple[int, int], device, *,
                     afm_mode: str = "exact") -> Callable[[Tensor], Tensor]:
    """``P`` for images of ``shape`` with fixed per-image ``params`` as a callable (data
    units, differentiable): fluorescence batches use
    :class:`simart.physics.lm.LMOperator` (the transfer functions computed once, not at
    every call: samplers apply P at every step), others :func:`physics_forward`."""
    from simart.physics.dataset_ops import operator_codes
    from simart.specs.operators import operator_at

    b = len(next(iter(params.values())))
    if all(operator_at(c).dataset == "lm" for c in operator_codes(params, b).tolist()):
        from simart.physics.lm import LMOperator

        op = LMOperator({k: v.detach().cpu() for k, v in params.items()},
                        (int(shape[0]), int(shape[1])), batch=b).to(device)

        def apply(x: Tensor) -> Tensor:
            with fp32(x.device):
                return op(x.float()).to(x.dtype)

        return apply
    return lambda x: physics_forward(x, params, afm_mode=afm_mode)


def param_features(params: dict[str, Tensor] | None, b: int, device, size: int = 12
                   ) -> Tensor:
    """(B, ``size``) conditioning vector of the images' physical parameters: each
    parameter that is drawn from a range (simart: ``DEFAULT_PARAM_SPECS`` of the image's
    modality + the noise; lm: ``LM_PARAM_SPECS``, log-uniform ones in log, plus
    ``confocal``) mapped linearly from its default range to [-1, 1], in the spec's order;
    zeros for missing values, and all zeros without parameters."""
    out = torch.zeros(b, size, device=device)
    if params is None:
        return out
    from simart.physics.dataset_ops import operator_codes
    from simart.specs.lm import LM_LOG_UNIFORM, LM_PARAM_SPECS
    from simart.specs.modalities import DEFAULT_PARAM_SPECS
    from simart.specs.operators import operator_at

    for i, c in enumerate(operator_codes(params, b).tolist()):
        spec_op = operator_at(c)
        if spec_op.dataset == "simart":
            specs = {**DEFAULT_PARAM_SPECS[spec_op.name], **DEFAULT_PARAM_SPECS["noise"]}
            logs: tuple[str, ...] = ()
        else:
            specs, logs = {**LM_PARAM_SPECS, "confocal": [0.0, 1.0]}, LM_LOG_UNIFORM
        j = 0
        for k, spec in specs.items():
            if not isinstance(spec, list) or j >= size:
                continue
            lo, hi = float(spec[0]), float(spec[1])
            v = float(params[k][i]) if k in params else math.nan
            if k in logs and lo > 0 and v > 0:
                lo, hi, v = math.log(lo), math.log(hi), math.log(v)
            if math.isfinite(v) and hi > lo:
                out[i, j] = 2 * (v - lo) / (hi - lo) - 1
            j += 1
    return out
