"""The forward operators' contract: every registered operator, one set of checks.

Shape, dtype and device kept; differentiable in x; a batch with per-image parameters equals
the images one by one; parameters drawn from a seeded generator replay exactly (and so do
the seeded random parts, STEM's scan distortion); the transfer function exists exactly for
the linear operators, with T(0) = 1 where the operator passes the mean; the operator_code
round-trips.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from simart import physics
from simart.physics.dataset_ops import forward_batch, image_params, param_names, stack_params
from simart.physics.operators import Operator, operator, operator_of_code
from simart.specs.operators import OPERATORS, operator_at, operator_code, operator_names

NAMES = list(OPERATORS)


def _draw(op: Operator, rng: np.random.Generator) -> dict[str, float | int]:
    """One image's physical parameters from the operator's table, with its seeds."""
    p: dict[str, float | int] = physics.sample_params(op.param_table, rng)
    for name in op.seed_params:
        p[name] = int(rng.integers(2**31))
    return p


def _images(b: int, size: int = 24, dtype=torch.float64, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((b, 1, size, size), generator=g, dtype=torch.float64)
    return torch.nn.functional.avg_pool2d(x, 3, 1, 1).to(dtype)  # smooth, in [0, 1]


def _batched(rows: list[dict]) -> dict[str, torch.Tensor]:
    return {k: torch.tensor([r[k] for r in rows],
                            dtype=torch.int64 if k.endswith("_seed") else torch.float64)
            for k in rows[0]}


def test_the_registry_is_the_operators_home():
    assert operator_names("simart") == physics.MODALITIES == ("AFM", "TEM", "SEM", "STEM")
    assert operator_names("lm") == ("widefield", "confocal")
    for i, name in enumerate(NAMES):
        op = operator(name)
        assert op.name == name and op.code == i == operator_code(name)
        assert operator_at(i).name == name and operator_of_code(i) is op
    with pytest.raises(ValueError, match="unknown modality 'XRD'; allowed"):
        operator("XRD")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_dtype_device(name, dtype):
    op = operator(name)
    x = _images(2, dtype=dtype)
    rows = [_draw(op, np.random.default_rng(s)) for s in (1, 2)]
    y = op.A(x, _batched(rows))
    assert y.shape == x.shape and y.dtype == dtype and y.device == x.device
    assert torch.isfinite(y).all()
    if torch.cuda.is_available():  # the GPU check script runs this on a device machine
        yc = op.A(x.cuda(), {k: v.cuda() for k, v in _batched(rows).items()})
        assert yc.device.type == "cuda" and yc.dtype == dtype
        torch.testing.assert_close(yc.cpu(), y, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_differentiable_in_x(name):
    op = operator(name)
    x = _images(2).requires_grad_(True)
    y = op.A(x, _batched([_draw(op, np.random.default_rng(s)) for s in (3, 4)]))
    (y * torch.linspace(0, 1, y.numel(), dtype=y.dtype).view_as(y)).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert float(x.grad.abs().sum()) > 0


@pytest.mark.parametrize("name", NAMES)
def test_batched_equals_looped(name):
    op = operator(name)
    x = _images(3, seed=5)
    rows = [_draw(op, np.random.default_rng(s)) for s in (5, 6, 7)]
    y = op.A(x, _batched(rows))
    for i, row in enumerate(rows):
        yi = op.A(x[i:i + 1], _batched([row]))
        torch.testing.assert_close(y[i:i + 1], yi, atol=1e-12, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_seeded_parameters_replay(name):
    op = operator(name)
    x = _images(1, seed=8)
    a = _draw(op, np.random.default_rng(11))
    b = _draw(op, np.random.default_rng(11))
    assert a == b
    torch.testing.assert_close(op.A(x, _batched([a])), op.A(x, _batched([b])), atol=0, rtol=0)
    if op.seed_params:  # a seeded random part: same seed, same image; another, another
        other = dict(a, **{k: int(a[k]) + 1 for k in op.seed_params})
        assert not torch.equal(op.A(x, _batched([a])), op.A(x, _batched([other])))


@pytest.mark.parametrize("name", NAMES)
def test_transfer_exists_exactly_for_linear_operators(name):
    op = operator(name)
    p = _draw(op, np.random.default_rng(12))
    shape = physics.fft_padded_shape((24, 24))
    t = op.transfer(p, shape)
    if not op.linear:
        assert t is None and op.nonlinear_reason
        with pytest.raises(physics.NonLinearOperatorError, match="non-linear"):
            physics.linear_otf(name, p, shape)
        return
    assert t.shape == shape and t.dtype == np.complex128
    assert t[0, 0].real == pytest.approx(1.0 + (p.get("charging_strength", 0.0)), rel=1e-9)
    np.testing.assert_array_equal(physics.linear_otf(name, p, shape), t)


@pytest.mark.parametrize("name", NAMES)
def test_blur_px_is_positive_and_finite(name):
    op = operator(name)
    p = _draw(op, np.random.default_rng(13))
    b = op.blur_px(p, 64)
    assert np.isfinite(b) and b > 0 and op.blur_label


@pytest.mark.parametrize("name", NAMES)
def test_the_operator_code_travels_with_the_image(name):
    """forward_batch reads the image's own operator from its operator_code: a batch mixing
    every operator equals each operator applied alone."""
    op = operator(name)
    dataset = op.dataset
    row = {k: v for k, v in _draw(op, np.random.default_rng(14)).items()}
    if dataset == "simart":
        row.update(poisson_counts=1e4, gaussian_sigma=0.01)
    else:
        row["confocal"] = float(name == "confocal")
    p = image_params(dataset, name, row)
    assert set(param_names(dataset, name)) <= set(p) and p["operator_code"] == op.code
    x = _images(1, seed=15)
    got = forward_batch(x, stack_params([p]))
    want = op.A(x, _batched([{k: v for k, v in p.items() if k != "operator_code"}]))
    torch.testing.assert_close(got, want, atol=0, rtol=0)


def test_a_mixed_batch_applies_each_images_operator():
    rows, want = [], []
    x = _images(len(NAMES), seed=16)
    for i, name in enumerate(NAMES):
        op = operator(name)
        row = _draw(op, np.random.default_rng(20 + i))
        want.append(op.A(x[i:i + 1], _batched([row])))
        rows.append({**row, "operator_code": float(op.code)})
    got = forward_batch(x, stack_params(rows))
    torch.testing.assert_close(got, torch.cat(want), atol=1e-12, rtol=0)
