"""LPIPS (Zhang et al. 2018, AlexNet variant, v0.1 linear heads) with the ``lpips`` package.

* **Network**: ``lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True,
  verbose=False)`` from the ``lpips`` wheel (the authors' reference code). ``pretrained=True``
  loads only the **linear heads**, from the wheel's own ``lpips/weights/v0.1/alex.pth`` (a few
  KB); ``pnet_rand=True`` makes it build its AlexNet with ``torchvision.models.alexnet`` and
  *no* weights, so neither call can download anything.
* **Backbone**: torchvision's ImageNet AlexNet checkpoint ``alexnet-owt-7be5be79.pth``, read
  from ``evaluate.lpips_backbone`` or, by default, ``$TORCH_HOME/hub/checkpoints/`` (torch's own
  cache folder, :func:`default_backbone_path`). Its SHA-256 must start with the hash in the
  file name (torchvision's ``<name>-<sha256 prefix>.pth`` convention): a different file is
  rejected (:class:`BackboneHashError`). It is loaded strictly into
  ``torchvision.models.alexnet(weights=None)`` (a file that is not an AlexNet state dict is
  refused, naming the missing / unexpected keys), whose ``features`` modules then replace those
  of the lpips network's five slices (``features[0:2]``, ``[2:5]``, ``[5:8]``, ``[8:10]``,
  ``[10:12]``, the layout of ``lpips.pretrained_networks.alexnet``); every backbone parameter
  and every head is compared with its file afterwards. Nothing is downloaded.
* Input (ours): grey ``(B, 1, H, W)`` in ``[0, data_range]``, clamped, mapped to ``[-1, 1]`` by
  ``2·clamp(x/data_range, 0, 1)-1`` and replicated to RGB; then the lpips formula: scaling
  layer, features after ReLU 1-5, each unit-normalised over channels
  (``f / (sqrt(Σ_c f²) + 1e-10)``), squared difference, 1×1 linear head, spatial mean, sum over
  the 5 layers. One distance per image; lower is better; identical images give 0.

Never with random weights: an absent or rejected backbone raises :class:`MetricUnavailable`
(the evaluation tables then record LPIPS as missing with this reason).
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import re
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from simart.metrics._checks import MetricUnavailable, check_min_size, check_pair

BACKBONE_FILE = "alexnet-owt-7be5be79.pth"
LPIPS_MIN_SIZE = 31  # conv1 (11/4, pad 2) -> 7, pool -> 3, pool -> 1
#: lpips.pretrained_networks.alexnet: slice name -> indices of torchvision's ``features``
#: modules it holds (under the same names, ``str(index)``)
_SLICES = {"slice1": range(2), "slice2": range(2, 5), "slice3": range(5, 8),
           "slice4": range(8, 10), "slice5": range(10, 12)}


class BackboneHashError(MetricUnavailable):
    """The backbone file's SHA-256 does not start with the hash its name declares."""


def default_backbone_path() -> Path:
    """``$TORCH_HOME/hub/checkpoints/alexnet-owt-7be5be79.pth`` (TORCH_HOME default
    ``$XDG_CACHE_HOME/torch``, i.e. ``~/.cache/torch``), where torchvision itself looks."""
    return Path(torch.hub.get_dir()) / "checkpoints" / BACKBONE_FILE


def heads_file() -> Path:
    """The LPIPS v0.1 AlexNet linear heads in the ``lpips`` wheel, the file that
    ``lpips.LPIPS(pretrained=True, version="0.1", net="alex")`` loads."""
    import lpips as lpips_pkg

    return Path(lpips_pkg.__file__).parent / "weights" / "v0.1" / "alex.pth"


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
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


def load_backbone(path: str | os.PathLike) -> tuple[nn.Module, dict[str, Tensor]]:
    """Verify (:func:`verify_backbone`) a torchvision-format AlexNet checkpoint and load it,
    strictly, into ``torchvision.models.alexnet(weights=None)`` (eval mode, frozen).

    Returns the network and the file's state dict (to check copies of it against)."""
    import torchvision

    path = verify_backbone(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as e:
        raise MetricUnavailable(
            f"LPIPS backbone {path} cannot be read as a torch state dict: {e}") from e
    if not isinstance(state, dict):
        raise MetricUnavailable(
            f"LPIPS backbone {path}: not a state dict (a {type(state).__name__})")
    with torch.device("meta"):  # no random initialisation: every tensor comes from the file
        net = torchvision.models.alexnet(weights=None)
    want = net.state_dict()
    missing = sorted(set(want) - set(state))
    unexpected = sorted(set(state) - set(want))
    wrong = sorted(k for k in want if k in state and (
        not isinstance(state[k], Tensor) or state[k].shape != want[k].shape
        or state[k].dtype != want[k].dtype))
    if missing or unexpected or wrong:
        def few(keys: list[str]) -> str:
            return f"{keys[:8]}" + (f" (+{len(keys) - 8} more)" if len(keys) > 8 else "")

        raise MetricUnavailable(
            f"LPIPS backbone {path} is not a torchvision AlexNet state dict: missing keys "
            f"{few(missing)}, unexpected keys {few(unexpected)}, wrong shape or dtype "
            f"{few(wrong)}")
    net.load_state_dict(state, strict=True, assign=True)
    return net.eval().requires_grad_(False), state


def build_lpips(path: str | os.PathLike) -> nn.Module:
    """``lpips.LPIPS`` (AlexNet, v0.1 heads from the lpips wheel) with the verified local
    backbone at ``path`` in place of its weightless torchvision AlexNet. See the module
    docstring; nothing is downloaded."""
    import lpips as lpips_pkg

    backbone, file_state = load_backbone(path)
    with warnings.catch_warnings():
        # lpips 0.1.4 calls tv.alexnet(pretrained=False), torchvision's deprecated spelling
        # of weights=None: silence exactly those two deprecation warnings
        warnings.filterwarnings("ignore", message="The parameter 'pretrained' is deprecated",
                                category=UserWarning)
        warnings.filterwarnings("ignore", message="Arguments other than a weight enum",
                                category=UserWarning)
        model = lpips_pkg.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True,
                                verbose=False)
    for name, indices in _SLICES.items():
        block = getattr(model.net, name)
        if list(block._modules) != [str(i) for i in indices]:
            raise RuntimeError(
                f"lpips.LPIPS' AlexNet {name} holds modules {list(block._modules)}, expected "
                f"{[str(i) for i in indices]} (the layout of lpips 0.1.4); another lpips version?")
        for i in indices:
            block.add_module(str(i), backbone.features[i])
    model = model.eval().requires_grad_(False)

    # the network now holds exactly the file's backbone, and the wheel's heads
    got = {f"features.{key}": value for name in _SLICES
           for key, value in getattr(model.net, name).state_dict().items()}
    want = {k: v for k, v in file_state.items() if k.startswith("features.")}
    if set(got) != set(want) or any(not torch.equal(got[k], want[k]) for k in want):
        raise RuntimeError(f"LPIPS: the backbone in lpips.LPIPS differs from {path} after "
                           "copying its features")
    heads = torch.load(heads_file(), map_location="cpu", weights_only=True)
    for i in range(5):
        key = f"lin{i}.model.1.weight"
        head = getattr(model, f"lin{i}").model[1].weight
        if key not in heads or not torch.equal(head, heads[key]):
            raise RuntimeError(f"LPIPS: head {key} of lpips.LPIPS differs from {heads_file()}")
    return model


@functools.lru_cache(maxsize=4)
def _cached_model(path: str, mtime_ns: int, dtype: torch.dtype, device: str) -> nn.Module:
    return build_lpips(path).to(dtype=dtype, device=device)


def lpips_model(backbone: str | os.PathLike | None = None, dtype: torch.dtype = torch.float32,
                device: str | torch.device = "cpu") -> nn.Module:
    """The ``lpips.LPIPS`` model with the backbone at ``backbone`` (default
    :func:`default_backbone_path`), verified and cached per (file, modification time, dtype,
    device)."""
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

    def prep(a: Tensor) -> Tensor:
        return ((a.float() / data_range).clamp(0, 1) * 2 - 1).expand(-1, 3, -1, -1)

    with torch.no_grad():
        return model(prep(x), prep(ref), normalize=False).flatten().to(x.dtype)
