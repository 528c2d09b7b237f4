"""Clean image sources: procedural specimens, scikit-image samples, a user folder; the catalog.

Every clean image is float32 ``(size, size)`` in [0, 1] (min-max normalised), rendered
deterministically from one row of the source catalog (:func:`build_catalog`):

* ``procedural`` -- :mod:`simart.simulate.procedural` (kind = ``name``), generator
  ``np.random.default_rng(source_seed)``.
* ``skimage`` -- one of :data:`SKIMAGE_IMAGES`, the sample images that ship inside the
  scikit-image wheel (no download): a random square crop (side 50-100 % of the short
  side, drawn from ``source_seed``) with one of the 8 flips/rotations, resampled.
* ``user`` -- one image file (``name`` is its path): TIFF (first page), PNG, JPEG, BMP, and
  microscope formats through :mod:`simart.data.readers` (MRC, DM3/DM4, Digital Surf, EMD);
  colour to grey by luminance; centre square crop; anti-aliased resampling.

Splits are made by clean source so that no source is in two splits; all crops of one
scikit-image sample count as one source for this purpose (see :func:`build_catalog`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from simart.data.readers import READER_EXTENSIONS, read_image
from simart.simulate.procedural import (
    MIN_SIZE,
    PROCEDURAL_KINDS,
    normalise,
    procedural_image,
    procedural_image_and_params,
)

__all__ = [
    "IMAGE_EXTENSIONS", "PROCEDURAL_KINDS", "SKIMAGE_IMAGES", "SPLITS", "SourceError",
    "build_catalog", "list_user_images", "load_user_image", "procedural_image",
    "procedural_image_and_params", "render_source", "skimage_image", "source_seeds",
]

SPLITS: tuple[str, ...] = ("train", "val", "test")
ORIGINS: tuple[str, ...] = ("procedural", "skimage", "user")
# Microscope formats read through simart.data.readers (MRC, DM3/DM4, Digital Surf, EMD, TIA).
_READER_EXTENSIONS: tuple[str, ...] = tuple(
    e for e in READER_EXTENSIONS if e not in (".tif", ".tiff"))
IMAGE_EXTENSIONS: tuple[str, ...] = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp",
                                     *_READER_EXTENSIONS)

# scikit-image samples bundled in the wheel that resemble specimens or textures. Left out:
# pooch-only downloads (brain, cells3d, eagle, human_mitosis, kidney, lily,
# nickel_solidification, palisades_of_vogt, protein_transport, skin, vortex); images that
# are already degraded (clock: motion blur); too small for 128-512 px without heavy
# upsampling (text 172 px, page 191 px, microaneurysms 102 px, lfw_subset 25 px);
# synthetic or binary graphics (checkerboard, horse, shepp_logan_phantom, logo,
# colorwheel, binary_blobs); everyday colour photos (astronaut, cat, chelsea, coffee,
# rocket, stereo_motorcycle).
SKIMAGE_IMAGES: tuple[str, ...] = (
    "camera", "moon", "coins", "cell", "brick", "grass", "gravel", "hubble_deep_field",
    "immunohistochemistry", "retina")
# Usable region (row0, row1, col0, col1 as fractions) where the sample has a blank border.
_SKIMAGE_REGION: dict[str, tuple[float, float, float, float]] = {
    "retina": (0.16, 0.84, 0.16, 0.84)}  # square inside the circular fundus
# Smallest random crop (fraction of the short side); "cell" is one cell in a blank field.
_SKIMAGE_MIN_CROP: dict[str, float] = {"cell": 1.0}
_LUMA = np.array([0.2125, 0.7154, 0.0721])  # Rec. 709 luminance, as skimage.color.rgb2gray
_SOURCE_TAG = 0x53524345  # "SRCE": keeps source seeds apart from other uses of the seed
_SPLIT_TAG = 0x53504C54  # "SPLT"


class SourceError(ValueError):
    """A clean-image source (folder or file) is missing, unreadable or unusable."""


# --------------------------------------------------------------------------- resampling


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < MIN_SIZE:
        raise ValueError(f"size must be an integer >= {MIN_SIZE} px, got {size!r}")
    return int(size)


def _resample(img: np.ndarray, size: int) -> np.ndarray:
    """Resample a square image to (size, size): anti-aliased linear down, cubic up."""
    from skimage.transform import resize

    if img.shape == (size, size):
        return img.astype(np.float64, copy=False)
    down = img.shape[0] > size
    return resize(img.astype(np.float64, copy=False), (size, size), order=1 if down else 3,
                  mode="reflect", anti_aliasing=down, preserve_range=True)


def _to_grey(arr: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 1-4) or stacks -> float64 (H, W); RGB(A) by Rec. 709 luminance."""
    if np.iscomplexobj(arr):
        raise ValueError("complex-valued images are not supported")
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        return arr[..., :3].astype(np.float64) @ _LUMA
    if arr.ndim == 3 and arr.shape[-1] in (1, 2):  # grey (+ alpha)
        arr = arr[..., 0]
    while arr.ndim > 2:  # first plane of a stack
        arr = arr[0]
    if arr.ndim != 2:
        raise ValueError(f"expected a 2D image, got shape {arr.shape}")
    return arr.astype(np.float64)


# --------------------------------------------------------------------------- scikit-image


@cache
def _skimage_grey(name: str) -> np.ndarray:
    """The bundled sample ``name`` as read-only float32 grey (usable region only)."""
    import skimage.data

    img = _to_grey(np.asarray(getattr(skimage.data, name)()))
    r0, r1, c0, c1 = _SKIMAGE_REGION.get(name, (0.0, 1.0, 0.0, 1.0))
    h, w = img.shape
    img = img[int(r0 * h):round(r1 * h), int(c0 * w):round(c1 * w)]
    out = np.ascontiguousarray(img, dtype=np.float32)
    out.setflags(write=False)
    return out


def skimage_image(name: str, size: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """scikit-image sample ``name`` as float32 (size, size) in [0, 1]; no network.

    With ``rng``: a square crop of side U(0.5, 1) x the short side (1 for ``cell``, whose
    cell would leave most crops blank) at a random position,
    then one of the 8 flips/rotations (all drawn from ``rng``). Without: the centred
    largest square. The crop is resampled (anti-aliased) and min-max normalised.
    """
    if name not in SKIMAGE_IMAGES:
        raise ValueError(f"unknown scikit-image sample {name!r}; allowed: "
                         f"{', '.join(SKIMAGE_IMAGES)}")
    size = _check_size(size)
    base = _skimage_grey(name)
    h, w = base.shape
    side = min(h, w)
    if rng is None:
        y0, x0, flip = (h - side) // 2, (w - side) // 2, 0
    else:
        side = max(MIN_SIZE, round(side * rng.uniform(_SKIMAGE_MIN_CROP.get(name, 0.5), 1.0)))
        y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        flip = int(rng.integers(0, 8))
    img = _resample(base[y0:y0 + side, x0:x0 + side], size)
    img = np.rot90(img, flip % 4)
    return normalise(img[:, ::-1] if flip >= 4 else img)


# --------------------------------------------------------------------------- user folder


def list_user_images(folder: str | os.PathLike) -> list[Path]:
    """Image files under ``folder`` (recursive, hidden names skipped), sorted by relative path.

    Accepted extensions (case-insensitive): :data:`IMAGE_EXTENSIONS`. Raises
    :class:`SourceError` naming the folder if it is missing, not a directory or has none.
    """
    root = Path(folder).expanduser()
    if not root.exists():
        raise SourceError(f"user image folder {str(root)!r} does not exist")
    if not root.is_dir():
        raise SourceError(f"user image folder {str(root)!r} is not a directory")
    files = [
        p for p in root.rglob("*")
        if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]
    if not files:
        raise SourceError(f"user image folder {str(root)!r} contains no image files "
                          f"(accepted extensions: {', '.join(IMAGE_EXTENSIONS)})")
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def _read_raw(path: Path) -> np.ndarray:
    """Pixel array of the first page/frame of an image file, as stored (any dtype)."""
    if path.suffix.lower() in _READER_EXTENSIONS:
        return read_image(path).data
    if path.suffix.lower() in (".tif", ".tiff"):
        import tifffile

        with tifffile.TiffFile(path) as tif:
            if len(tif.pages) == 0:
                raise ValueError("the TIFF file has no image pages")
            page = tif.pages[0]
            try:
                arr = page.asarray()
            except ValueError:  # a compressed preview page (Olympus SIS: JPEG) before the data
                return read_image(path).data
            if "S" in page.axes and arr.ndim == len(page.axes):  # samples (colour) last
                arr = np.moveaxis(arr, page.axes.index("S"), -1)
            return arr
    from PIL import Image

    with Image.open(path) as im:
        if im.mode == "P":
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        elif im.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
            im = im.convert("RGB")
        return np.asarray(im)


def load_user_image(path: str | os.PathLike, size: int) -> np.ndarray:
    """One user image as float32 (size, size) in [0, 1].

    Reads the first page/plane (TIFF via tifffile; PNG/JPEG/BMP via Pillow), any integer
    or float dtype; colour -> grey by Rec. 709 luminance; non-finite values -> the finite
    minimum; centred largest square crop; anti-aliased resampling; min-max normalisation.
    Raises :class:`SourceError` naming the file when it cannot be read, is smaller than
    ``MIN_SIZE`` (16) px on a side, has no finite pixel or is constant.
    """
    size = _check_size(size)
    path = Path(path)
    try:
        img = _to_grey(_read_raw(path))
    except Exception as exc:  # any reader failure: corrupt, truncated, unsupported layout
        raise SourceError(f"cannot read image file {str(path)!r}: "
                          f"{type(exc).__name__}: {exc}") from exc
    h, w = img.shape
    if min(h, w) < MIN_SIZE:
        raise SourceError(f"image file {str(path)!r} is {w} x {h} px; a source needs at least "
                          f"{MIN_SIZE} x {MIN_SIZE} px (it is centre-cropped to a square and "
                          "resampled)")
    finite = np.isfinite(img)
    if not finite.all():  # masked pixels (NaN/inf, e.g. SPM exports): the finite minimum
        if not finite.any():
            raise SourceError(f"image file {str(path)!r} has no finite pixel values "
                              "(all NaN or infinite)")
        img = np.where(finite, img, img[finite].min())
    side = min(h, w)
    crop = img[(h - side) // 2:(h - side) // 2 + side, (w - side) // 2:(w - side) // 2 + side]
    if float(crop.max() - crop.min()) <= 0.0:
        raise SourceError(f"image file {str(path)!r} is constant after the centre crop "
                          f"(every pixel {float(crop.flat[0]):g}); it cannot be normalised to "
                          "[0, 1]")
    return normalise(_resample(crop, size))


# --------------------------------------------------------------------------- catalog


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on uint64 arrays (wrapping arithmetic): a strong bit mixer."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def source_seeds(seed: int, source_ids: np.ndarray) -> np.ndarray:
    """int64 seeds in [0, 2^63) for ``source_ids``: a pure function of (seed, source_id).

    The config seed is mixed by ``SeedSequence([seed, tag])``; each id then by SplitMix64
    (vectorised, so 10^7 sources take well under a second). Adding sources leaves the
    seeds of the existing ids unchanged.
    """
    key = np.random.SeedSequence([int(seed), _SOURCE_TAG]).generate_state(1, np.uint64)[0]
    ids = np.asarray(source_ids, dtype=np.uint64)
    with np.errstate(over="ignore"):
        mixed = _splitmix64(_splitmix64(ids) ^ np.uint64(key))
    return (mixed >> np.uint64(1)).astype(np.int64)


def _check_catalog_args(
    n_sources: int, seed: int, procedural_kinds: Sequence[str] | None,
    split_fractions: Sequence[float],
) -> tuple[tuple[str, ...], np.ndarray]:
    """Validate the catalog arguments; return the kinds and the fractions as an array."""
    fr = np.asarray(split_fractions, dtype=float)
    if fr.shape != (3,) or np.any(fr < 0) or not np.isclose(fr.sum(), 1.0, atol=1e-6):
        raise ValueError(f"split_fractions must be three non-negative fractions (train, val, "
                         f"test) summing to 1, got {tuple(split_fractions)!r}")
    if isinstance(n_sources, bool) or not isinstance(n_sources, int | np.integer) \
            or n_sources < 3:
        raise ValueError(f"n_sources must be an integer >= 3 (one source per split at "
                         f"least, see split_fractions), got {n_sources!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**63:
        raise ValueError(f"seed must be an integer in [0, 2^63), got {seed!r}")
    kinds = PROCEDURAL_KINDS if procedural_kinds is None else tuple(procedural_kinds)
    bad = [k for k in kinds if k not in PROCEDURAL_KINDS]
    if bad:
        raise ValueError(f"unknown procedural kind(s) {bad!r} in procedural_kinds; "
                         f"allowed: {', '.join(PROCEDURAL_KINDS)}")
    return kinds, fr


def _generated(n: int, kinds: Sequence[str], names: Sequence[str]) -> tuple[np.ndarray, ...]:
    """Origins, names and skimage indices (-1 if procedural) of ``n`` generated sources.

    Procedural and scikit-image sources alternate (even / odd); each list is cycled.
    """
    i = np.arange(n)
    if kinds and names:
        is_sk = i % 2 == 1
        slot = i // 2
    else:
        is_sk = np.full(n, not kinds)
        slot = i
    sk = np.where(is_sk, slot % max(len(names), 1), -1)
    pool = np.asarray([*kinds, *names, ""], dtype=object)
    name = pool[np.where(is_sk, len(kinds) + sk, slot % max(len(kinds), 1))]
    origin = np.where(is_sk, "skimage", "procedural").astype(object)
    return origin, name, sk


def _largest_remainder(weights: np.ndarray, total: int, min_each: int = 0) -> np.ndarray:
    """Integer counts summing to ``total`` proportional to ``weights`` (>= ``min_each``)."""
    w = np.asarray(weights, float)
    w = w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / len(w))
    exact = w * total
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:total - counts.sum()]] += 1
    for i in np.flatnonzero(counts < min_each):
        donor = int(np.argmax(counts))
        if counts[donor] - 1 >= min_each:
            counts[donor] -= 1
            counts[i] += 1
    return counts


def _assign_splits(group: np.ndarray, fractions: np.ndarray, seed: int) -> np.ndarray:
    """Split index (0 train, 1 val, 2 test) per row; rows of one ``group`` (>= 0) stay together.

    Groups of several rows (crops of one scikit-image sample) are dealt out first, largest
    first, each to the split furthest below its share of those rows. The other rows
    (``group`` -1 or a group of one) are shuffled and cut so that the split sizes meet
    ``fractions`` (largest remainder, >= 1 each).
    """
    n = len(group)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), _SPLIT_TAG]))
    gid = np.where(group >= 0, group, -1 - np.arange(n))  # every -1 row is its own group
    _, inv, sizes = np.unique(gid, return_inverse=True, return_counts=True)
    split = np.full(n, -1, np.int64)
    shared = np.flatnonzero(sizes > 1)
    shared = shared[rng.permutation(len(shared))]
    shared = shared[np.argsort(-sizes[shared], kind="stable")]
    target = fractions * sizes[shared].sum()
    got = np.zeros(3)
    for g in shared:
        s = int(np.argmax(target - got))
        split[inv == g] = s
        got[s] += sizes[g]
    single = rng.permutation(np.flatnonzero(sizes[inv] == 1))
    need = _largest_remainder(fractions, n, min_each=1) - got
    counts = _largest_remainder(np.clip(need, 0, None), len(single))
    split[single] = np.repeat(np.arange(3), counts)
    return _fill_empty_splits(split, inv)


def _fill_empty_splits(split: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """Move a smallest group into any empty split from a split holding >= 2 groups."""
    for empty in range(3):
        if np.any(split == empty):
            continue
        groups_per = [np.unique(inv[split == s]) for s in range(3)]
        donor = max(range(3), key=lambda s: len(groups_per[s]))
        if len(groups_per[donor]) < 2:
            break
        sizes = np.array([np.sum(inv == g) for g in groups_per[donor]])
        split[inv == groups_per[donor][int(np.argmin(sizes))]] = empty
    return split


def build_catalog(
    n_sources: int,
    seed: int,
    *,
    procedural_kinds: Sequence[str] | None = None,
    use_skimage: bool = True,
    user_dir: str | os.PathLike | None = None,
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> pd.DataFrame:
    """One row per clean source: source_id, origin, name, source_seed, split.

    * ``procedural_kinds``: None = all of :data:`PROCEDURAL_KINDS`; ``[]`` = none.
    * ``user_dir``: every image file in it (:func:`list_user_images`) is one source and the
      user files come first (ids 0..). More files than ``n_sources``: a subset drawn from
      ``seed`` (kept in path order). Fewer: the rest is generated (below) when procedural
      kinds or scikit-image are enabled, otherwise ``n_sources`` is capped to the number of
      files (with a warning).
    * Generated sources alternate procedural / scikit-image (each list cycled in order);
      with only one enabled, it is cycled alone.
    * ``source_seed``: :func:`source_seeds` (a pure function of seed and id).
    * ``split``: made by source, deterministic from ``seed``; sizes follow
      ``split_fractions`` (largest remainder, >= 1 source each). All crops of one
      scikit-image sample go to one split (no photograph is in two splits), so when many
      sources are scikit-image crops the fractions are met as closely as possible.

    The same arguments give an identical DataFrame. Raises ``ValueError`` naming
    ``split_fractions`` / ``n_sources`` / ``procedural_kinds`` when invalid, and
    :class:`SourceError` for an unusable ``user_dir``.
    """
    kinds, fractions = _check_catalog_args(n_sources, seed, procedural_kinds, split_fractions)
    names = SKIMAGE_IMAGES if use_skimage else ()
    files = list_user_images(user_dir) if user_dir is not None else []
    if not (files or kinds or names):
        raise ValueError("no clean source enabled: procedural_kinds is empty, use_skimage is "
                         "False and user_dir is None")
    n = int(n_sources)
    if len(files) > n:
        pick = np.random.default_rng(np.random.SeedSequence([int(seed), _SOURCE_TAG, 1]))
        files = [files[i] for i in np.sort(pick.choice(len(files), n, replace=False))]
    elif files and len(files) < n and not (kinds or names):
        warnings.warn(f"n_sources={n} but user_dir {str(user_dir)!r} has {len(files)} images "
                      "and no other source is enabled: using the images only", stacklevel=2)
        n = len(files)
        if n < 3:
            raise SourceError(f"user image folder {str(user_dir)!r} has {n} image(s); at least "
                              "3 are needed (one per split) when it is the only source")
    gen_origin, gen_name, gen_sk = _generated(n - len(files), kinds, names)
    origin = np.concatenate([np.full(len(files), "user", dtype=object), gen_origin])
    name = np.concatenate([np.asarray([str(f) for f in files], dtype=object), gen_name])
    group = np.concatenate([np.full(len(files), -1), gen_sk])
    ids = np.arange(n, dtype=np.int64)
    split = _assign_splits(group, fractions, seed)
    return pd.DataFrame({
        "source_id": ids,
        "origin": origin,
        "name": name,
        "source_seed": source_seeds(seed, ids),
        "split": np.asarray(SPLITS, dtype=object)[split],
    })


def render_source(row: Mapping, size: int) -> np.ndarray:
    """Clean image of one catalog row: float32 (size, size) in [0, 1], deterministic."""
    origin, name = str(row["origin"]), str(row["name"])
    if origin == "procedural":
        return procedural_image(name, size, np.random.default_rng(int(row["source_seed"])))
    if origin == "skimage":
        return skimage_image(name, size, np.random.default_rng(int(row["source_seed"])))
    if origin == "user":
        return load_user_image(name, size)
    raise ValueError(f"catalog row has unknown origin {origin!r} (source_id "
                     f"{row.get('source_id')!r}); allowed: {', '.join(ORIGINS)}")


def verify_user_sources(catalog: pd.DataFrame, size: int) -> int:
    """Read every user-file source once; raise :class:`SourceError` naming the first bad file.

    Run by the catalog rule so an unreadable image stops the pipeline before any shard is
    simulated (nothing partial is written). Returns the number of files checked.
    """
    paths = catalog.loc[catalog["origin"] == "user", "name"]
    for p in paths:
        load_user_image(p, size)
    return len(paths)
