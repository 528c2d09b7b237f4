"""Real microscope files as clean or test sources: one 2D image + its pixel size.

=================  ===============================  =============================================
extension          reader                           tested here
=================  ===============================  =============================================
.tif .tiff         tifffile                         yes: files written by tifffile (plain,
                                                    ImageJ hyperstack with nm calibration)
.mrc .mrcs .map    mrcfile                          yes: files written by mrcfile (2D and stacks)
.dm3 .dm4          rosettasciio (Gatan DM)          NO: rosettasciio cannot write DM files and its
                                                    test files are downloaded on demand (no
                                                    network here); the code path is the same as
                                                    for .sur below, untested on real DM files
.sur .pro          rosettasciio (Digital Surf)      yes: files written by rosettasciio (SPM /
                                                    profilometry, e.g. AFM exported from
                                                    MountainsMap)
.emd               rosettasciio (EMD: Berkeley/     yes: an NCEM (Berkeley) EMD file written by
                   NCEM; Velox)                     rosettasciio; Velox EMD untested
.ser               rosettasciio (FEI TIA)           NO (no writer)
.sxm               none                             not readable: rosettasciio 0.15 has no Nanonis
                                                    reader and no maintained Nanonis package is
                                                    on the registry (nanonispy was last released
                                                    in 2021); export to TIFF (e.g. Gwyddion) first
=================  ===============================  =============================================

:func:`read_image` returns the first 2D image of a file (first frame / section / navigation
position) as float64 with the pixel size in nm when the file states it (TIFF: ImageJ unit
or centimetre resolution tags; MRC: voxel size; rosettasciio: axis scale and units), and
raises :class:`ReaderError` naming the file and the problem otherwise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "READER_EXTENSIONS",
    "UNSUPPORTED_EXTENSIONS",
    "MicroscopeImage",
    "ReaderError",
    "read_image",
]

_RSCIIO = {".dm3": "digitalmicrograph", ".dm4": "digitalmicrograph", ".sur": "digitalsurf",
           ".pro": "digitalsurf", ".emd": "emd", ".ser": "tia"}
READER_EXTENSIONS: tuple[str, ...] = (".tif", ".tiff", ".mrc", ".mrcs", ".map", *_RSCIIO)
UNSUPPORTED_EXTENSIONS: dict[str, str] = {
    ".sxm": "Nanonis .sxm has no maintained reader here (rosettasciio 0.15 does not read it); "
            "export the channel to TIFF (e.g. with Gwyddion) and use that",
}
_UNIT_NM = {"nm": 1.0, "nanometer": 1.0, "nanometers": 1.0, "um": 1e3, "µm": 1e3, "μm": 1e3,
            "micron": 1e3, "microns": 1e3, "micrometer": 1e3, "mm": 1e6, "m": 1e9,
            "a": 0.1, "å": 0.1, "angstrom": 0.1, "pm": 1e-3}


class ReaderError(ValueError):
    """A microscope file cannot be read or holds no 2D image."""


@dataclass
class MicroscopeImage:
    """One 2D image from a file: ``data`` (H, W) float64, ``pixel_size_nm`` or None."""

    data: np.ndarray
    pixel_size_nm: float | None
    path: str
    reader: str
    meta: dict = field(default_factory=dict)


def _unit_nm(unit) -> float | None:
    if unit is None:
        return None
    u = str(unit).strip().lower().replace("\\u00b5", "µ")
    return _UNIT_NM.get(u)


def _first_2d(arr: np.ndarray, path, what: str = "") -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype.names:  # RGB(A) structured dtype (DM colour images)
        arr = np.stack([arr[n] for n in arr.dtype.names[:3]], -1).astype(np.float64) \
            @ np.array([0.2125, 0.7154, 0.0721])
    if np.iscomplexobj(arr):
        arr = np.abs(arr)
    while arr.ndim > 2:
        arr = arr[0]
    if arr.ndim != 2 or min(arr.shape) < 2:
        raise ReaderError(f"file {str(path)!r}: no 2D image{what} (array shape {arr.shape})")
    return arr.astype(np.float64)


def _read_tiff(path: Path) -> MicroscopeImage:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        if not tif.pages:
            raise ReaderError(f"file {str(path)!r}: the TIFF file has no image pages")
        page = tif.pages[0]
        arr = page.asarray()
        if "S" in page.axes and arr.ndim == len(page.axes):
            arr = np.moveaxis(arr, page.axes.index("S"), -1)
            arr = arr[..., :3].astype(np.float64) @ np.array([0.2125, 0.7154, 0.0721])
        px = None
        xres = page.tags.get("XResolution")
        if xres is not None:
            num, den = xres.value
            per_unit = num / den if den else 0.0
            ij = tif.imagej_metadata or {}
            unit_tag = page.tags.get("ResolutionUnit")
            if per_unit > 0 and ij.get("unit") is not None and _unit_nm(ij["unit"]):
                px = _unit_nm(ij["unit"]) / per_unit
            elif per_unit > 0 and unit_tag is not None and int(unit_tag.value) == 3:  # cm
                px = 1e7 / per_unit
    return MicroscopeImage(_first_2d(arr, path), px, str(path), "tifffile")


def _read_mrc(path: Path) -> MicroscopeImage:
    import mrcfile

    with mrcfile.open(path, permissive=False, mode="r") as mrc:
        if mrc.data is None:
            raise ReaderError(f"file {str(path)!r}: the MRC file has no data block")
        data = np.asarray(mrc.data)
        vx = float(mrc.voxel_size.x)
    return MicroscopeImage(_first_2d(data, path), vx / 10.0 if vx > 0 else None, str(path),
                           "mrcfile", {"voxel_size_A": vx})


def _read_rsciio(path: Path, plugin: str) -> MicroscopeImage:
    import importlib

    mod = importlib.import_module(f"rsciio.{plugin}")
    signals = mod.file_reader(str(path))
    for sig in signals:
        axes = [a for a in sig.get("axes", []) if not a.get("navigate", False)]
        data = np.asarray(sig["data"])
        nav = [a for a in sig.get("axes", []) if a.get("navigate", False)]
        if len(axes) < 2 and data.ndim - len(nav) < 2:
            continue  # a spectrum or profile, not an image
        img = data[(0,) * len(nav)] if nav else data
        px = None
        if axes:
            scale = float(axes[-1].get("scale", 1.0))
            factor = _unit_nm(axes[-1].get("units"))
            px = scale * factor if factor is not None and scale > 0 else None
        title = sig.get("metadata", {}).get("General", {}).get("title", "")
        return MicroscopeImage(_first_2d(img, path), px, str(path), f"rosettasciio.{plugin}",
                               {"title": title})
    raise ReaderError(f"file {str(path)!r}: rosettasciio ({plugin}) found no 2D image in it")


def read_image(path: str | os.PathLike) -> MicroscopeImage:
    """The first 2D image of a microscope file (see the module table for formats)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext in UNSUPPORTED_EXTENSIONS:
        raise ReaderError(f"file {str(path)!r}: {UNSUPPORTED_EXTENSIONS[ext]}")
    if ext not in READER_EXTENSIONS:
        raise ReaderError(f"file {str(path)!r}: unsupported extension {ext!r}; supported: "
                          f"{', '.join(READER_EXTENSIONS)}")
    if not path.is_file():
        raise ReaderError(f"file {str(path)!r} does not exist")
    try:
        if ext in (".tif", ".tiff"):
            return _read_tiff(path)
        if ext in (".mrc", ".mrcs", ".map"):
            return _read_mrc(path)
        return _read_rsciio(path, _RSCIIO[ext])
    except ReaderError:
        raise
    except ImportError as exc:
        raise ReaderError(f"file {str(path)!r}: its reader is not installed ({exc}); "
                          "pip install the pinned rosettasciio / mrcfile") from exc
    except Exception as exc:  # any reader failure: corrupt, truncated, unsupported variant
        raise ReaderError(f"cannot read file {str(path)!r}: {type(exc).__name__}: {exc}") \
            from exc
