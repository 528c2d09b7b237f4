"""LPIPS through the ``lpips`` package with a local torchvision-format AlexNet checkpoint.

The checkpoint is generated here (a seeded ``torchvision.models.alexnet(weights=None)``): our
:func:`simart.metrics.lpips.lpips` must equal ``lpips.LPIPS`` used directly and torchmetrics'
independent LPIPS code with the same backbone; absent, tampered, unverifiable and non-AlexNet
files give a missing column with the reason; nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from simart.metrics import MetricUnavailable, compute_metric_table
from simart.metrics import lpips as lp


def _save_with_hash_name(state: dict, folder: Path, stem: str = "alexnet-owt") -> Path:
    """Save ``state`` as ``<stem>-<first 8 hex of its SHA-256>.pth`` (torchvision's naming)."""
    tmp = folder / f"{stem}.tmp"
    torch.save(state, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    path = folder / f"{stem}-{digest[:8]}.pth"
    tmp.rename(path)
    return path


def _seeded_alexnet_state() -> dict[str, torch.Tensor]:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return torchvision.models.alexnet(weights=None).state_dict()


@pytest.fixture(scope="module")
def backbone(tmp_path_factory) -> tuple[Path, dict]:
    state = _seeded_alexnet_state()
    return _save_with_hash_name(state, tmp_path_factory.mktemp("hub")), state


def _images(n: int = 3, size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    ref = torch.rand(n, 1, size, size, generator=g)
    ref = torch.nn.functional.avg_pool2d(ref, 5, 1, 2)  # some structure
    x = (ref + 0.1 * torch.randn(ref.shape, generator=g)).clamp(0, 1)
    return x, ref


def _rgb_pm1(a: torch.Tensor) -> torch.Tensor:
    """Grey [0, 1] -> RGB [-1, 1], the input the lpips package documents."""
    return (2 * a - 1).expand(-1, 3, -1, -1)


@pytest.mark.filterwarnings("ignore:The parameter 'pretrained' is deprecated:UserWarning")
@pytest.mark.filterwarnings("ignore:Arguments other than a weight enum:UserWarning")
def test_equals_the_lpips_package_used_directly(backbone):
    import lpips as lpips_pkg

    path, state = backbone
    # the documented use, lpips.LPIPS(net="alex"), with its trunk set from the file through
    # its own state-dict names (slice1.0 ... slice5.10), not through our module copy
    direct = lpips_pkg.LPIPS(net="alex", version="0.1", pnet_rand=True, verbose=False)
    slice_of = {0: 1, 3: 2, 6: 3, 8: 4, 10: 5}
    direct.net.load_state_dict(
        {f"slice{slice_of[int(k.split('.')[1])]}.{k.removeprefix('features.')}": v
         for k, v in state.items() if k.startswith("features.")}, strict=True)
    x, ref = _images()
    with torch.no_grad():
        expected = direct(_rgb_pm1(x), _rgb_pm1(ref)).flatten()
    ours = lp.lpips(x, ref, lpips_backbone=path)
    assert expected.min() > 1e-3  # a real, non-trivial distance
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=1e-6)


def test_agrees_with_torchmetrics_lpips_code_with_the_same_backbone(backbone, monkeypatch):
    tm_lpips = pytest.importorskip("torchmetrics.functional.image.lpips")
    path, state = backbone
    tv = torchvision.models.alexnet(weights=None)
    tv.load_state_dict(state, strict=True)
    monkeypatch.setattr(tm_lpips, "_get_tv_model_features",
                        lambda net, pretrained=False: tv.features)
    reference = tm_lpips._LPIPS(pretrained=True, net="alex").eval()  # heads: its own alex.pth
    x, ref = _images()
    with torch.no_grad():
        expected = reference(x.expand(-1, 3, -1, -1), ref.expand(-1, 3, -1, -1),
                             normalize=True).flatten()
    ours = lp.lpips(x, ref, lpips_backbone=path)
    # torchmetrics normalises features by sqrt(Σf² + 1e-8), lpips by sqrt(Σf²) + 1e-10
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=2e-5)


def test_identical_images_give_zero_and_float64_in_gives_float64_out(backbone):
    path = backbone[0]
    x, ref = _images()
    assert torch.equal(lp.lpips(ref, ref, lpips_backbone=path), torch.zeros(3))
    ours32 = lp.lpips(x, ref, lpips_backbone=path)
    ours64 = lp.lpips(x.double(), ref.double(), lpips_backbone=path)
    assert ours32.dtype == torch.float32 and ours64.dtype == torch.float64
    np.testing.assert_allclose(ours64.numpy(), ours32.numpy(), rtol=1e-6)


def test_data_range_and_clamping(backbone):
    path = backbone[0]
    x, ref = _images()
    base = lp.lpips(x, ref, lpips_backbone=path)
    torch.testing.assert_close(lp.lpips(255 * x, 255 * ref, 255.0, lpips_backbone=path), base)
    # values outside [0, data_range] are clamped before the network
    torch.testing.assert_close(lp.lpips(x + (x > 0.99) * 0.5, ref, lpips_backbone=path), base)


def test_the_model_holds_the_file_backbone_and_the_lpips_wheel_heads(backbone):
    path, state = backbone
    model = lp.lpips_model(path)
    for i, name in {0: "slice1", 3: "slice2", 6: "slice3", 8: "slice4", 10: "slice5"}.items():
        conv = getattr(getattr(model.net, name), str(i))  # torchvision's features[i]
        assert torch.equal(conv.weight, state[f"features.{i}.weight"])
        assert torch.equal(conv.bias, state[f"features.{i}.bias"])
    heads_file = lp.heads_file()
    assert heads_file.parts[-4:] == ("lpips", "weights", "v0.1", "alex.pth")
    heads = torch.load(heads_file, map_location="cpu", weights_only=True)
    assert sorted(heads) == [f"lin{i}.model.1.weight" for i in range(5)]
    for i in range(5):
        assert torch.equal(model.lins[i].model[1].weight, heads[f"lin{i}.model.1.weight"])
    tm_lpips = pytest.importorskip("torchmetrics.functional.image.lpips")
    tm_heads = torch.load(Path(tm_lpips.__file__).parent / "lpips_models/alex.pth",
                          map_location="cpu", weights_only=True)
    for key, value in heads.items():
        assert torch.equal(value, tm_heads[key])  # the same published v0.1 heads


def test_a_different_file_under_the_right_name_is_rejected_by_the_hash(backbone, tmp_path):
    path, state = backbone
    tampered = dict(state)
    tampered["features.0.bias"] = state["features.0.bias"] + 1
    bad = tmp_path / path.name  # claims the hash of the good file
    torch.save(tampered, bad)
    with pytest.raises(lp.BackboneHashError, match=r"rejected: SHA-256 .* does not start with"):
        lp.lpips(*_images(), lpips_backbone=bad)
    table = compute_metric_table(*_images(), metrics=["lpips", "mae"], lpips_backbone=bad)
    assert table["lpips"].isna().all() and table["lpips_reason"].str.contains("rejected").all()
    assert table["mae"].notna().all()


def test_a_file_without_a_hash_in_its_name_cannot_be_verified(backbone, tmp_path):
    plain = tmp_path / "alexnet.pth"
    plain.write_bytes(backbone[0].read_bytes())
    with pytest.raises(lp.BackboneHashError, match="cannot be verified"):
        lp.verify_backbone(plain)
    table = compute_metric_table(*_images(), metrics=["lpips"], lpips_backbone=plain)
    assert table["lpips"].isna().all()
    assert table["lpips_reason"].str.contains("cannot be verified").all()


def test_a_state_dict_of_another_network_with_a_valid_hash_is_refused(tmp_path):
    other = torchvision.models.squeezenet1_1(weights=None).state_dict()  # small (5 MB)
    path = _save_with_hash_name(other, tmp_path, "squeezenet1_1")
    with pytest.raises(MetricUnavailable, match=r"not a torchvision AlexNet state dict: "
                                                r"missing keys \['classifier.4.bias'"):
        lp.lpips(*_images(), lpips_backbone=path)
    table = compute_metric_table(*_images(), metrics=["lpips", "psnr"], lpips_backbone=path)
    assert table["lpips"].isna().all() and table["psnr"].notna().all()
    reason = table["lpips_reason"].iloc[0]
    assert str(path) in reason and "unexpected keys ['features.10.expand1x1.bias'" in reason
    assert "(+40 more)" in reason  # 48 squeezenet-only keys, 8 of them listed
    assert "wrong shape or dtype ['classifier.1.bias', 'classifier.1.weight', 'features.0.weight']" \
        in reason


def test_an_incomplete_alexnet_is_refused_naming_the_missing_keys(backbone, tmp_path):
    """Only the ``features`` part (the classifier is not used by LPIPS, but a file without it
    is not torchvision's checkpoint), one of them deleted too."""
    state = {k: v for k, v in backbone[1].items()
             if k.startswith("features.") and k != "features.10.weight"}
    path = _save_with_hash_name(state, tmp_path)
    classifier = [f"classifier.{i}.{p}" for i in (1, 4, 6) for p in ("bias", "weight")]
    with pytest.raises(MetricUnavailable) as err:
        lp.lpips(*_images(), lpips_backbone=path)
    assert str(err.value) == (
        f"LPIPS backbone {path} is not a torchvision AlexNet state dict: missing keys "
        f"{[*classifier, 'features.10.weight']}, unexpected keys [], wrong shape or dtype []")


def test_missing_backbone_gives_a_missing_column_not_a_crash_nor_a_number(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert lp.default_backbone_path() == tmp_path / "torch/hub/checkpoints/alexnet-owt-7be5be79.pth"
    with pytest.raises(MetricUnavailable, match="LPIPS backbone not found .*alexnet-owt-7be5be79"):
        lp.lpips(*_images())
    table = compute_metric_table(*_images(), metrics=["psnr", "lpips"])
    assert table["lpips"].isna().all() and table["psnr"].notna().all()
    assert table["lpips_reason"].str.contains("never computed with random weights").all()


def test_nothing_is_downloaded(backbone, tmp_path, monkeypatch):
    import torchvision.models._api as tv_api

    class DownloadAttempted(AssertionError):
        pass

    def refuse(*args, **kwargs):
        raise DownloadAttempted(f"download attempted: {args} {kwargs}")

    for owner, name in [(torch.hub, "load_state_dict_from_url"),
                        (torch.hub, "download_url_to_file"), (torch.hub, "urlopen"),
                        (tv_api, "load_state_dict_from_url")]:
        monkeypatch.setattr(owner, name, refuse)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # an empty torch cache
    with pytest.raises(DownloadAttempted):  # the guard does catch torchvision's download
        torchvision.models.alexnet(weights="DEFAULT")

    lp._cached_model.cache_clear()  # build the model afresh under the guard
    path = backbone[0]
    x, ref = _images()
    assert torch.isfinite(lp.lpips(x, ref, lpips_backbone=path)).all()
    with pytest.raises(MetricUnavailable, match="LPIPS backbone not found"):
        lp.lpips(x, ref)  # default path, absent: a clean refusal, no download
    table = compute_metric_table(x, ref, metrics=["lpips"])
    assert table["lpips_reason"].str.contains("never computed with random weights").all()


def test_lpips_refuses_images_smaller_than_alexnet_needs(backbone):
    x = torch.rand(1, 1, 24, 24)
    with pytest.raises(MetricUnavailable, match="at least 31 px"):
        lp.lpips(x, x, lpips_backbone=backbone[0])
