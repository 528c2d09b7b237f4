"""AFM tip dilation: morphology laws, scipy equivalence, soft -> exact, gradients."""

import itertools
import math

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch

from simart import physics
from simart.physics.afm import tip_depth_nm, tip_footprint_radius_nm

PARAMS = {"tip_radius_nm": 8.0, "tip_half_angle_deg": 25.0, "pixel_size_nm": 2.0,
          "height_scale_nm": 10.0}


def _kernel(**kw):
    p = {**PARAMS, **kw}
    return physics.tip_kernel(p["tip_radius_nm"], p["tip_half_angle_deg"], p["pixel_size_nm"],
                              p["height_scale_nm"])


def _surface(h=48, w=40, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    x = ndi.gaussian_filter(rng.random((h, w)), 2.0)
    x = (x - x.min()) / (x.max() - x.min())
    x[10:14, 20:23] = 1.0  # a sharp plateau
    return x.astype(dtype)


def test_tip_profile_is_huber_parabola_blended_into_cone():
    r, alpha = 5.0, 20.0
    ta = math.tan(math.radians(alpha))
    rho = np.linspace(0, 60, 601)
    d = tip_depth_nm(rho, r, alpha)
    inner = rho <= r / ta
    np.testing.assert_allclose(d[inner], rho[inner] ** 2 / (2 * r))
    np.testing.assert_allclose(d[~inner], rho[~inner] / ta - r / (2 * ta**2))
    slope = np.gradient(d, rho)
    assert np.all(np.diff(slope) >= -1e-9)  # convex, C1 at the tangent point
    np.testing.assert_allclose(slope[-1], 1 / ta, rtol=1e-6)
    depth = 3.0
    assert tip_depth_nm(tip_footprint_radius_nm(r, alpha, depth), r, alpha) == pytest.approx(depth)


def test_tip_kernel_is_nonpositive_apex_zero_and_cropped_at_one_unit():
    k = _kernel()
    n = k.shape[0] // 2
    assert k.shape[0] == k.shape[1] and k[n, n] == 0.0 and not np.signbit(k[n, n])
    finite = np.isfinite(k)
    assert np.all(k[finite] <= 0) and np.all(k[finite] >= -1.0)
    assert np.array_equal(k, k[::-1, ::-1]) and np.array_equal(k, k.T)
    # the first pixel beyond the crop would lie deeper than one image unit
    rho_out = (n + 1) * PARAMS["pixel_size_nm"]
    assert tip_depth_nm(rho_out, 8.0, 25.0) / PARAMS["height_scale_nm"] > 1.0
    small = physics.tip_kernel(8.0, 25.0, 2.0, 10.0, max_radius_px=2)
    assert small.shape == (5, 5) and np.isinf(small[0, 0])


def test_flat_surface_is_unchanged():
    x = torch.full((2, 1, 20, 24), 0.37)
    for mode in ("exact", "soft"):
        y = physics.forward("AFM", x, PARAMS, afm_mode=mode)
        torch.testing.assert_close(y, x, rtol=0, atol=1e-6)


def test_dilation_is_extensive_and_equals_scipy_grey_dilation_bitwise():
    k = _kernel()
    for dtype in (np.float32, np.float64):
        x = _surface(dtype=dtype)
        y = physics.dilate_exact(x, k)
        assert y.dtype == dtype and np.all(y >= x)
        ref = ndi.grey_dilation(x, structure=k[::-1, ::-1].astype(dtype), mode="reflect")
        assert np.array_equal(y, ref)


def test_numba_and_torch_tap_loop_agree_exactly():
    k = _kernel(tip_radius_nm=3.0)
    x = torch.from_numpy(np.stack([_surface(seed=s) for s in range(3)]))[:, None]
    a = physics.dilate_exact(x, k, backend="numba")
    b = physics.dilate_exact(x, k, backend="torch")
    assert torch.equal(a, b)
    c = physics.erode_exact(x, k, backend="numba")
    assert torch.equal(c, physics.erode_exact(x, k, backend="torch"))
    # the autograd path (winning tap + gather), as used on GPU, gives the same values and
    # the same gradient as the numba-assisted CPU path
    grads = []
    for backend in ("numba", "torch"):
        xg = x.clone().requires_grad_(True)
        y = physics.dilate_exact(xg, k, backend=backend)
        assert torch.equal(y.detach(), a)
        (y * torch.linspace(0, 1, y.shape[-1])).sum().backward()
        grads.append(xg.grad)
    assert torch.equal(grads[0], grads[1])


def test_single_spike_images_as_inverted_tip():
    k = _kernel()
    n = k.shape[0] // 2
    x = np.zeros((41, 41), np.float64)
    x[20, 20] = 0.8
    y = physics.dilate_exact(x, k)
    window = y[20 - n:21 + n, 20 - n:21 + n]
    expected = np.maximum(0.8 + k, 0.0)  # spike height + K (the tip, inverted), floor 0
    np.testing.assert_array_equal(window, expected)


def test_erosion_is_antiextensive_and_closing_is_extensive():
    k = _kernel()
    x = _surface(dtype=np.float64)
    e = physics.erode_exact(x, k)
    assert np.all(e <= x)
    closing = physics.erode_exact(physics.dilate_exact(x, k), k)  # Villarrubia reconstruction
    assert np.all(closing >= x - 1e-12)
    opening = physics.dilate_exact(physics.erode_exact(x, k), k)
    assert np.all(opening <= x + 1e-12)
    # the reconstruction is the tightest surface giving the same image: dilating it again
    # reproduces the image (idempotence of the opening on a dilated image)
    img = physics.dilate_exact(x, k)
    np.testing.assert_allclose(physics.dilate_exact(physics.erode_exact(img, k), k), img,
                               atol=1e-12)
    ref = ndi.grey_erosion(img, structure=k, mode="reflect")
    np.testing.assert_array_equal(physics.erode_exact(img, k), ref)


def test_soft_dilation_converges_to_exact_as_tau_grows():
    k = _kernel()
    x = torch.from_numpy(_surface(dtype=np.float64))[None, None]
    exact = physics.dilate_exact(x, k)
    errs = [float((physics.dilate_soft(x, k, tau) - exact).abs().max())
            for tau in (10.0, 100.0, 1000.0, 10000.0)]
    assert all(a > b for a, b in itertools.pairwise(errs)), errs
    assert errs[-1] < 1e-3
    n_taps = np.isfinite(k).sum()
    assert errs[0] <= math.log(n_taps) / 10.0


def test_gradients_flow_through_exact_soft_and_eq12():
    k = _kernel(tip_radius_nm=4.0)
    x0 = torch.from_numpy(_surface(24, 20, dtype=np.float64))[None, None]
    for mode in ("exact", "soft", "eq12"):
        x = x0.clone().requires_grad_(True)
        y = physics.forward("AFM", x, {**PARAMS, "tip_radius_nm": 4.0}, afm_mode=mode)
        with torch.no_grad():
            ref = physics.forward("AFM", x0, {**PARAMS, "tip_radius_nm": 4.0}, afm_mode=mode)
        torch.testing.assert_close(y.detach(), ref, rtol=0, atol=1e-12)
        y.sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    # exact: every output pixel sends gradient 1 to exactly one source pixel
    x = x0.clone().requires_grad_(True)
    physics.dilate_exact(x, k).sum().backward()
    assert float(x.grad.sum()) == pytest.approx(x0.numel())


def test_soft_dilation_gradient_matches_finite_differences():
    k = _kernel(tip_radius_nm=4.0)
    x = torch.from_numpy(_surface(10, 9, dtype=np.float64))[None, None].requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: physics.dilate_soft(t, k, 30.0), (x,),
                                    eps=1e-6, atol=1e-5)


def test_eq12_is_the_morphological_gradient_not_the_image():
    k = _kernel()
    x = torch.full((1, 1, 16, 16), 0.5)
    y = physics.forward("AFM", x, PARAMS, afm_mode="eq12")
    assert float(y.abs().max()) == 0.0  # a flat surface has no edges
    step = torch.zeros(1, 1, 16, 16, dtype=torch.float64)
    step[..., 8:] = 1.0
    grad = physics.morphological_gradient_eq12(step, k)
    assert float(grad[0, 0, 0, 0]) == 0.0 and float(grad[0, 0, 0, 8]) > 0  # an edge map
    torch.testing.assert_close(grad, physics.dilate_exact(step, k) - physics.erode_exact(step, k))


def test_afm_has_no_linear_otf():
    with pytest.raises(physics.NonLinearOperatorError):
        physics.linear_otf("AFM", PARAMS, (32, 32))
