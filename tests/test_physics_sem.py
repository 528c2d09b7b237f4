"""SEM: Gaussian beam kernel, charging term, linearised OTF, Kanaya-Okayama range."""

import numpy as np
import pytest
import torch

from simart import physics

SEM = {"sigma_b_nm": 3.0, "sigma_c_fov": 0.3, "charging_strength": 0.2, "pixel_size_nm": 1.0}


def test_kanaya_okayama_range_of_copper_at_20_kev():
    assert physics.kanaya_okayama_range_um(63.55, 29, 20.0, 8.96) == pytest.approx(1.46, abs=0.01)
    # scales as E0^1.67
    r10 = physics.kanaya_okayama_range_um(63.55, 29, 10.0, 8.96)
    assert physics.kanaya_okayama_range_um(63.55, 29, 20.0, 8.96) / r10 == pytest.approx(2**1.67)
    with pytest.raises(ValueError, match="density"):
        physics.kanaya_okayama_range_um(63.55, 29, 20.0, 0.0)


@pytest.mark.parametrize(("sigma_nm", "px"), [(3.0, 1.0), (2.0, 0.5), (1.5, 0.75)])
def test_beam_kernel_sums_to_one_and_has_sigma_b_over_pixel_size(sigma_nm, px):
    k = physics.sem_beam_kernel(sigma_nm, px, (96, 96))
    assert k.sum() == pytest.approx(1.0, abs=1e-12)
    c = np.arange(96) - 48
    var_y = (k.sum(axis=1) * c**2).sum()
    var_x = (k.sum(axis=0) * c**2).sum()
    assert np.sqrt(var_y) == pytest.approx(sigma_nm / px, rel=1e-6)
    assert np.sqrt(var_x) == pytest.approx(sigma_nm / px, rel=1e-6)
    assert (k * c[:, None]).sum() == pytest.approx(0.0, abs=1e-8)  # centred


def test_constant_image_stays_constant_without_charging_and_shifts_by_tanh_with_it():
    x = torch.full((1, 1, 24, 32), 0.4, dtype=torch.float64)
    y0 = physics.forward("SEM", x, {**SEM, "charging_strength": 0.0})
    torch.testing.assert_close(y0, x, rtol=0, atol=1e-12)
    y = physics.forward("SEM", x, SEM)
    torch.testing.assert_close(y, x + 0.2 * np.tanh(0.4), rtol=0, atol=1e-12)


def test_linear_otf_reproduces_forward_for_zero_charging_and_linearises_it():
    torch.manual_seed(1)
    x = torch.rand(1, 1, 30, 44, dtype=torch.float64)
    shape = physics.fft_padded_shape(x.shape[-2:])
    xp = np.pad(x[0, 0].numpy(), physics.fft_pad_width(x.shape[-2:]), mode="symmetric")

    def apply(otf):
        return physics.crop_fft(np.fft.ifft2(np.fft.fft2(xp) * otf).real, x.shape[-2:])

    p0 = {**SEM, "charging_strength": 0.0}
    np.testing.assert_allclose(physics.forward("SEM", x, p0)[0, 0].numpy(),
                               apply(physics.linear_otf("SEM", p0, shape)), atol=1e-12)
    # small lambda_c: G_b + lambda_c G_c is the first-order (tanh z ~ z) approximation
    p = {**SEM, "charging_strength": 1e-3}
    lin = apply(physics.linear_otf("SEM", p, shape))
    diff = np.abs(physics.forward("SEM", x, p)[0, 0].numpy() - lin).max()
    assert diff < 1e-3 * 0.15  # |tanh z - z| <= z^3 / 3 with z <= 1


def test_charging_width_is_a_fraction_of_the_field_of_view():
    # the charging blur of an image scales with the image, not with pixels
    x = torch.zeros(1, 1, 64, 64, dtype=torch.float64)
    x[..., 28:36, 28:36] = 1.0
    p = {"sigma_b_nm": 0.0, "sigma_c_fov": 0.25, "charging_strength": 1.0, "pixel_size_nm": 1.0}
    y = physics.forward("SEM", x, p) - x  # = tanh(x * G_c)
    prof = y[0, 0, 32].numpy()
    # Gaussian of sigma = 16 px blurring an 8 px square: very wide compared to the square
    assert prof[0] > 0.01 and np.argmax(prof) in (31, 32)


def test_sem_is_differentiable():
    x = torch.rand(2, 1, 16, 16, dtype=torch.float64, requires_grad=True)
    physics.forward("SEM", x, SEM).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
