"""LPIPS without torchvision: a synthetic torchvision-format AlexNet checkpoint loads into our
extractor and gives the reference (torchmetrics' LPIPS code) value; wrong / missing files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from simart.metrics import MetricUnavailable, compute_metric_table
from simart.metrics import lpips as lp


def _torchvision_alexnet_features() -> nn.Sequential:
    """The layer list of torchvision.models.alexnet().features, written out independently."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2))


def _synthetic_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    state = {}
    for i, (cout, cin, k) in {0: (64, 3, 11), 3: (192, 64, 5), 6: (384, 192, 3),
                              8: (256, 384, 3), 10: (256, 256, 3)}.items():
        std = (2.0 / (cin * k * k)) ** 0.5
        state[f"features.{i}.weight"] = torch.randn(cout, cin, k, k, generator=g) * std
        state[f"features.{i}.bias"] = torch.randn(cout, generator=g) * 0.01
    state["classifier.6.weight"] = torch.zeros(10, 8)  # classifier keys are ignored
    state["classifier.6.bias"] = torch.zeros(10)
    return state


def _save_with_hash_name(state: dict, folder: Path) -> Path:
    tmp = folder / "alexnet-owt.tmp"
    torch.save(state, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    path = folder / f"alexnet-owt-{digest[:8]}.pth"
    tmp.rename(path)
    return path


@pytest.fixture(scope="module")
def backbone(tmp_path_factory) -> tuple[Path, dict]:
    state = _synthetic_state_dict()
    return _save_with_hash_name(state, tmp_path_factory.mktemp("hub")), state


def _images(n: int = 3, size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    ref = torch.rand(n, 1, size, size, generator=g)
    ref = torch.nn.functional.avg_pool2d(ref, 5, 1, 2)  # some structure
    x = (ref + 0.1 * torch.randn(ref.shape, generator=g)).clamp(0, 1)
    return x, ref


def test_synthetic_torchvision_checkpoint_gives_the_reference_lpips(backbone, monkeypatch):
    tm_lpips = pytest.importorskip("torchmetrics.functional.image.lpips")
    path, state = backbone
    reference_features = _torchvision_alexnet_features()
    reference_features.load_state_dict(
        {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")})
    monkeypatch.setattr(tm_lpips, "_get_tv_model_features",
                        lambda net, pretrained=False: reference_features)
    reference = tm_lpips._LPIPS(pretrained=True, net="alex").eval()  # heads from alex.pth
    x, ref = _images()
    with torch.no_grad():
        expected = reference(x.expand(-1, 3, -1, -1), ref.expand(-1, 3, -1, -1),
                             normalize=True).flatten()
    ours = lp.lpips(x, ref, lpips_backbone=path)
    assert expected.abs().min() > 1e-3  # a real, non-trivial distance
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=2e-5)
    ours64 = lp.lpips(x.double(), ref.double(), lpips_backbone=path)
    np.testing.assert_allclose(ours64.numpy(), expected.numpy(), rtol=2e-5)
    assert torch.allclose(lp.lpips(ref, ref, lpips_backbone=path), torch.zeros(3))


def test_heads_come_from_the_torchmetrics_wheel():
    heads = torch.load(lp.heads_path(), map_location="cpu", weights_only=True)
    assert sorted(heads) == [f"lin{i}.model.1.weight" for i in range(5)]


def test_a_different_file_under_the_right_name_is_rejected_by_the_hash(backbone, tmp_path):
    path, state = backbone
    tampered = dict(state)
    tampered["features.0.bias"] = state["features.0.bias"] + 1
    bad = tmp_path / path.name  # claims the hash of the good file
    torch.save(tampered, bad)
    with pytest.raises(lp.BackboneHashError, match=r"rejected: SHA-256 .* does not start with"):
        lp.load_alexnet_features(bad)
    table = compute_metric_table(*_images(), metrics=["lpips", "mae"], lpips_backbone=bad)
    assert table["lpips"].isna().all() and table["lpips_reason"].str.contains("rejected").all()
    assert table["mae"].notna().all()


def test_a_file_without_a_hash_in_its_name_cannot_be_verified(backbone, tmp_path):
    plain = tmp_path / "alexnet.pth"
    plain.write_bytes(backbone[0].read_bytes())
    with pytest.raises(lp.BackboneHashError, match="cannot be verified"):
        lp.verify_backbone(plain)


def test_a_wrong_layout_with_a_valid_hash_is_refused(tmp_path):
    state = _synthetic_state_dict()
    del state["features.10.weight"]
    path = _save_with_hash_name(state, tmp_path)
    with pytest.raises(MetricUnavailable, match="not a torchvision AlexNet state dict"):
        lp.load_alexnet_features(path)


def test_missing_backbone_gives_a_missing_column_not_a_crash_nor_a_number(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert lp.default_backbone_path() == tmp_path / "torch/hub/checkpoints/alexnet-owt-7be5be79.pth"
    with pytest.raises(MetricUnavailable, match="LPIPS backbone not found .*alexnet-owt-7be5be79"):
        lp.lpips(*_images())
    table = compute_metric_table(*_images(), metrics=["psnr", "lpips"])
    assert table["lpips"].isna().all() and table["psnr"].notna().all()
    assert table["lpips_reason"].str.contains("never computed with random weights").all()


def test_lpips_refuses_images_smaller_than_alexnet_needs(backbone):
    x = torch.rand(1, 1, 24, 24)
    with pytest.raises(MetricUnavailable, match="at least 31 px"):
        lp.lpips(x, x, lpips_backbone=backbone[0])
