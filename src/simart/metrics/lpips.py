"""LPIPS (Zhang et al. 2018, AlexNet variant, v0.1 linear heads) without torchvision.

* **Backbone**: our own AlexNet feature extractor (:class:`AlexNetFeatures`), the exact layer
  layout of ``torchvision.models.alexnet().features``, so torchvision's ImageNet checkpoint
  ``alexnet-owt-7be5be79.pth`` loads into it key for key. It is looked up at
  ``evaluate.lpips_backbone`` or, by default, ``$TORCH_HOME/hub/checkpoints/`` (torch's own
  cache folder, :func:`default_backbone_path`). Its SHA-256 must start with the hash in the
  file name (torchvision's ``<name>-<sha256 prefix>.pth`` convention): a different file is
  rejected (:class:`BackboneHashError`). Nothing is downloaded.
* **Linear heads**: ``lpips_models/alex.pth`` shipped inside the ``torchmetrics`` wheel (the
  original LPIPS v0.1 weights, a few KB).
* Formula (as ``lpips``/torchmetrics): images in [-1, 1] (ours: ``2·clamp(x/data_range, 0, 1)-1``,
  grey replicated to RGB), the LPIPS scaling layer, features after ReLU 1-5, each unit-
  normalised over channels (``f / sqrt(Σ_c f² + 1e-8)``), squared difference, 1×1 linear
  head, spatial mean, sum over the 5 layers. Lower is better; identical images give 0.

Never with random weights: an absent or rejected backbone raises :class:`MetricUnavailable`
(the evaluation tables then record LPIPS as missing with this reason).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import re
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from simart.metrics._checks import MetricUnavailable, check_min_size, check_pair

BACKBONE_FILE = "alexnet-owt-7be5be79.pth"
LPIPS_MIN_SIZE = 31  # conv1 (11/4, pad 2) -> 7, pool -> 3, pool -> 1
_CHANNELS = (64, 192, 384, 256, 256)
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


class BackboneHashError(MetricUnavailable):
    """The backbone file's SHA-256 does not start with the hash its name declares."""


def default_backbone_path() -> Path:
    """``$TORCH_HOME/hub/checkpoints/alexnet-owt-7be5be79.pth`` (TORCH_HOME default
    ``$XDG_CACHE_HOME/torch``, i.e. ``~/.cache/torch``), where torchvision itself looks."""
    return Path(torch.hub.get_dir()) / "checkpoints" / BACKBONE_FILE


def heads_path() -> Path:
    """The LPIPS v0.1 AlexNet linear heads shipped in the torchmetrics wheel."""
    spec = importlib.util.find_spec("torchmetrics")
    if spec is None or not spec.submodule_search_locations:
        raise MetricUnavailable("LPIPS linear heads not found: the torchmetrics package "
                                "(which ships lpips_models/alex.pth) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "functional/image/lpips_models/alex.pth"
    if not path.is_file():
        raise MetricUnavailable(f"LPIPS linear heads not found at {path}")
    return path


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_backbone(path: str | os.PathLike) -> Path:
    """Check that ``path`` exists and its SHA-256 starts with the hash in its name.

    torchvision names checkpoints ``<name>-<first hex digits of SHA-256>.pth``; a file
    whose name carries no such hash cannot be verified and is rejected too.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise MetricUnavailable(
            f"LPIPS backbone not found at {path}: place torchvision's ImageNet AlexNet "
            f"checkpoint {BACKBONE_FILE} there (or set evaluate.lpips_backbone); it cannot be "
            f"downloaded here, and LPIPS is never computed with random weights")
    m = re.search(r"-([0-9a-f]{6,64})\.[A-Za-z0-9]+$", path.name)
    if m is None:
        raise BackboneHashError(
            f"LPIPS backbone {path}: its name has no '-<sha256 prefix>.pth' suffix "
            f"(torchvision's naming, e.g. {BACKBONE_FILE}), so its content cannot be verified")
    digest = sha256_of(path)
    if not digest.startswith(m.group(1)):
        raise BackboneHashError(
            f"LPIPS backbone {path} rejected: SHA-256 {digest[:16]}… does not start with "
            f"{m.group(1)} as its name declares (a different or corrupted file)")
    return path


class AlexNetFeatures(nn.Module):
    """``torchvision.models.alexnet().features`` rebuilt (same module indices, same state-dict
    keys ``features.{0,3,6,8,10}.{weight,bias}``), returning the five ReLU outputs LPIPS taps."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        )
        self._taps = (1, 4, 7, 9, 11)

    def forward(self, x: Tensor) -> list[Tensor]:
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self._taps:
                out.append(x)
        return out


def load_alexnet_features(path: str | os.PathLike) -> AlexNetFeatures:
    """Verify (:func:`verify_backbone`) and load a torchvision-format AlexNet checkpoint."""
    path = verify_backbone(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise MetricUnavailable(f"LPIPS backbone {path}: not a state dict")
    net = AlexNetFeatures()
    want = net.state_dict()
    feats = {k: v for k, v in state.items() if k.startswith("features.")}
    missing = sorted(set(want) - set(feats))
    wrong = sorted(k for k in want if k in feats and feats[k].shape != want[k].shape)
    if missing or wrong or set(feats) - set(want):
        raise MetricUnavailable(
            f"LPIPS backbone {path} is not a torchvision AlexNet state dict: missing "
            f"{missing[:4]}, wrong shapes {wrong[:4]}, unexpected {sorted(set(feats) - set(want))[:4]}")
    net.load_state_dict(feats)
    return net.eval().requires_grad_(False)


class LPIPS(nn.Module):
    """LPIPS-AlexNet distance for grey images ``(B, 1, H, W)`` in ``[0, data_range]``."""

    def __init__(self, backbone: AlexNetFeatures, heads: dict[str, Tensor]) -> None:
        super().__init__()
        self.net = backbone
        self.lins = nn.ParameterList()
        for i, c in enumerate(_CHANNELS):
            w = heads.get(f"lin{i}.model.1.weight")
            if w is None or tuple(w.shape) != (1, c, 1, 1):
                raise MetricUnavailable(f"LPIPS heads: lin{i} missing or not (1, {c}, 1, 1)")
            self.lins.append(nn.Parameter(w.clone(), requires_grad=False))
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: Tensor, ref: Tensor, data_range: float = 1.0) -> Tensor:
        def prep(a: Tensor) -> Tensor:
            a = (a / data_range).clamp(0, 1) * 2 - 1
            return (a.expand(-1, 3, -1, -1) - self.shift) / self.scale

        fa, fb = self.net(prep(x)), self.net(prep(ref))
        total = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for a, b, w in zip(fa, fb, self.lins, strict=True):
            na = a / torch.sqrt(1e-8 + a.pow(2).sum(1, keepdim=True))
            nb = b / torch.sqrt(1e-8 + b.pow(2).sum(1, keepdim=True))
            total = total + F.conv2d((na - nb).pow(2), w).mean(dim=(1, 2, 3))
        return total


@functools.lru_cache(maxsize=4)
def _cached_model(path: str, mtime_ns: int, dtype: torch.dtype, device: str) -> LPIPS:
    heads = torch.load(heads_path(), map_location="cpu", weights_only=True)
    return LPIPS(load_alexnet_features(path), heads).to(dtype=dtype, device=device)


def lpips_model(backbone: str | os.PathLike | None = None, dtype: torch.dtype = torch.float32,
                device: str | torch.device = "cpu") -> LPIPS:
    """The LPIPS model with the backbone at ``backbone`` (default :func:`default_backbone_path`),
    verified and cached per (file, modification time, dtype, device)."""
    path = Path(backbone).expanduser() if backbone else default_backbone_path()
    if not path.is_file():
        verify_backbone(path)  # raises the 'not found' message
    return _cached_model(str(path.resolve()), path.stat().st_mtime_ns, dtype, str(device))


def lpips(x: Tensor, ref: Tensor, data_range: float = 1.0,
          lpips_backbone: str | os.PathLike | None = None) -> Tensor:
    """LPIPS-AlexNet distance per image (lower is better). See the module docstring.

    The network runs in float32 whatever the input dtype (the published weights are
    float32; float64 convolutions would only be slower); the result has the input's dtype.
    """
    check_pair(x, ref)
    check_min_size(x, LPIPS_MIN_SIZE, "LPIPS (AlexNet)")
    model = lpips_model(lpips_backbone, torch.float32, x.device)
    with torch.no_grad():
        return model(x.float(), ref.float(), data_range).to(x.dtype)
