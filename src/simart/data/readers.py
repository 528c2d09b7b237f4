"""Real microscope files as clean or test sources: one 2D image + its pixel size.

=================  ===============================  =============================================
extension          reader                           tested here (tests/test_readers.py)
=================  ===============================  =============================================
.tif .tiff         tifffile                         files written by tifffile (plain, ImageJ
                                                    hyperstack with nm calibration, centimetre
                                                    resolution); real files (fixtures below): a
                                                    TIFF saved by Gatan DigitalMicrograph
                                                    (scale/unit tags 65009/65003) and one from
                                                    Olympus SIS (raw image on the page carrying
                                                    the SIS tag, pixel size in metres)
.mrc .mrcs .map    mrcfile                          files written by mrcfile (2D and stacks)
.dm3 .dm4          rosettasciio (Gatan DM)          real files: a 68 x 68 STEM image (.dm3,
                                                    0.2485 nm/px) and a 2 x 2 uncalibrated .dm4
.sur .pro          rosettasciio (Digital Surf)      files written by rosettasciio (SPM /
                                                    profilometry, e.g. AFM exported from
                                                    MountainsMap)
.emd               rosettasciio (EMD: Berkeley/     an NCEM (Berkeley) EMD file written by
                   NCEM; Velox)                     rosettasciio; Velox EMD untested
.ser               rosettasciio (FEI TIA)           real files: TIA "new" (128 x 128, ~5.26
                                                    nm/px) and "old" (64 x 64, ~6.28 nm/px)
.emi               none (metadata only)             refused with a ReaderError naming the .ser
                                                    files to pass (the images are in them)
.sxm               nanonispy2 (Nanonis)             files written by the test from the format's
                                                    description (2 channels, both directions,
                                                    up/down, non-square pixels, incomplete scans)
=================  ===============================  =============================================

The real files are instrument files kept outside the repository (``../shared/fixtures/
real-formats/`` beside the checkout); their tests are skipped where that folder is absent.

:func:`read_image` returns the first 2D image of a file (first frame / section / navigation
position; Nanonis: :func:`read_sxm` defaults, the forward topography ``Z``) as float64 in the
file's own intensity units, with

* ``pixel_size_nm``: the column (x) pixel pitch in nm when the file states a length
  calibration, else None and ``meta["pixel_size_note"]`` says why;
* ``meta["pixel_size_yx_nm"]``: (row, column) pitches when the file states both (they differ
  for non-square pixels, e.g. a Nanonis scan with unequal ranges or pixel counts);

and raises :class:`ReaderError` naming the file and the problem otherwise.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "READER_EXTENSIONS",
    "UNSUPPORTED_EXTENSIONS",
    "MicroscopeImage",
    "ReaderError",
    "read_image",
    "read_sxm",
]

_RSCIIO = {".dm3": "digitalmicrograph", ".dm4": "digitalmicrograph", ".sur": "digitalsurf",
           ".pro": "digitalsurf", ".emd": "emd", ".ser": "tia"}
READER_EXTENSIONS: tuple[str, ...] = (".tif", ".tiff", ".mrc", ".mrcs", ".map", *_RSCIIO,
                                      ".sxm")
# .emi stays out of READER_EXTENSIONS: a folder of TIA data holds x.emi beside x_1.ser, and
# listing both would make one image two sources (possibly in two splits).
UNSUPPORTED_EXTENSIONS: dict[str, str] = {
    ".emi": "an FEI TIA .emi file holds metadata only; its images are in the .ser file(s) "
            "beside it (<name>_1.ser, <name>_2.ser, ...): pass the .ser",
}
_UNIT_NM = {"nm": 1.0, "nanometer": 1.0, "nanometers": 1.0, "um": 1e3, "µm": 1e3, "μm": 1e3,
            "micron": 1e3, "microns": 1e3, "micrometer": 1e3, "micrometers": 1e3,
            "mm": 1e6, "m": 1e9, "a": 0.1, "å": 0.1, "angstrom": 0.1, "pm": 1e-3}
SXM_DIRECTIONS = ("forward", "backward")


class ReaderError(ValueError):
    """A microscope file cannot be read or holds no 2D image."""


@dataclass
class MicroscopeImage:
    """One 2D image from a file: ``data`` (H, W) float64, ``pixel_size_nm`` (x) or None."""

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


def _calibrated(meta: dict, scale_y, unit_y, scale_x, unit_x, source: str) -> float | None:
    """x pixel size in nm from (scale, unit) pairs; fills ``meta``; None (+ a note) if none."""
    fx, fy = _unit_nm(unit_x), _unit_nm(unit_y)
    sx = float(scale_x) if scale_x is not None else 0.0
    sy = float(scale_y) if scale_y is not None else 0.0
    if fx is None or not sx > 0:
        meta["pixel_size_note"] = (f"{source} states no length calibration (x scale {scale_x!r}, "
                                   f"unit {unit_x!r}): no pixel size")
        return None
    px = sx * fx
    if fy is not None and sy > 0:
        meta["pixel_size_yx_nm"] = (sy * fy, px)
    return px


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


def _tiff_calibration(tif, page, meta: dict) -> float | None:
    """Pixel size (nm) a TIFF states, vendor tags first.

    Gatan DigitalMicrograph writes its calibration in private tags 65009/65010 (x/y scale)
    and 65003/65004 (x/y unit); Olympus SIS handled by the caller. Then the ImageJ unit with
    the X/YResolution tags, then a centimetre ResolutionUnit. A resolution in inches is a
    print setting (DM writes 72 dpi), not a calibration, and is ignored.
    """
    tags = page.tags
    if 65009 in tags and 65003 in tags:
        meta["calibration"] = "DigitalMicrograph tags 65009/65010 (scale), 65003/65004 (unit)"
        sy = tags[65010].value if 65010 in tags else None
        uy = tags[65004].value if 65004 in tags else None
        return _calibrated(meta, sy, uy, tags[65009].value, tags[65003].value,
                           "the DigitalMicrograph TIFF tags")
    xres, yres = tags.get("XResolution"), tags.get("YResolution")
    if xres is not None:
        num, den = xres.value
        per_x = num / den if den else 0.0
        per_y = per_x
        if yres is not None and yres.value[1]:
            per_y = yres.value[0] / yres.value[1]
        ij = tif.imagej_metadata or {}
        unit_tag = tags.get("ResolutionUnit")
        if per_x > 0 and ij.get("unit") is not None and _unit_nm(ij["unit"]):
            meta["calibration"] = "ImageJ unit + X/YResolution"
            f = _unit_nm(ij["unit"])
            meta["pixel_size_yx_nm"] = (f / per_y if per_y > 0 else f / per_x, f / per_x)
            return f / per_x
        if per_x > 0 and unit_tag is not None and int(unit_tag.value) == 3:  # cm
            meta["calibration"] = "X/YResolution in pixels per centimetre"
            meta["pixel_size_yx_nm"] = (1e7 / per_y if per_y > 0 else 1e7 / per_x, 1e7 / per_x)
            return 1e7 / per_x
    meta["pixel_size_note"] = ("the TIFF states no length calibration (no DigitalMicrograph, "
                               "Olympus SIS or ImageJ unit tags, no resolution per centimetre; "
                               "a resolution per inch is a print setting): no pixel size")
    return None


def _read_tiff(path: Path) -> MicroscopeImage:
    import tifffile

    meta: dict = {}
    with tifffile.TiffFile(path) as tif:
        if not tif.pages:
            raise ReaderError(f"file {str(path)!r}: the TIFF file has no image pages")
        # Olympus SIS: page 0 is an 8-bit RGB (JPEG) preview, the raw image is the page that
        # carries the SIS tag (33560 / 33471), with pixelsizex/y in metres.
        sis = next((p for p in tif.pages if p.is_sis), None)
        if sis is not None:
            md = next((sis.tags[t].value for t in (33560, 33471) if t in sis.tags), {})
            meta["calibration"] = "Olympus SIS tag (pixelsizex/y in m)"
            meta["sis"] = {k: md.get(k) for k in ("magnification", "cameraname", "name")}
            px = _calibrated(meta, md.get("pixelsizey"), "m", md.get("pixelsizex"), "m",
                             "the Olympus SIS tag")
            return MicroscopeImage(_first_2d(sis.asarray(), path), px, str(path), "tifffile",
                                   meta)
        page = tif.pages[0]
        arr = page.asarray()
        if "S" in page.axes and arr.ndim == len(page.axes):
            arr = np.moveaxis(arr, page.axes.index("S"), -1)
            arr = arr[..., :3].astype(np.float64) @ np.array([0.2125, 0.7154, 0.0721])
        px = _tiff_calibration(tif, page, meta)
    return MicroscopeImage(_first_2d(arr, path), px, str(path), "tifffile", meta)


def _read_mrc(path: Path) -> MicroscopeImage:
    import mrcfile

    with mrcfile.open(path, permissive=False, mode="r") as mrc:
        if mrc.data is None:
            raise ReaderError(f"file {str(path)!r}: the MRC file has no data block")
        data = np.asarray(mrc.data)
        vx, vy = float(mrc.voxel_size.x), float(mrc.voxel_size.y)
    meta: dict = {"voxel_size_A": vx}
    px = _calibrated(meta, vy, "a", vx, "a", "the MRC header")
    return MicroscopeImage(_first_2d(data, path), px, str(path), "mrcfile", meta)


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
        title = sig.get("metadata", {}).get("General", {}).get("title", "")
        meta: dict = {"title": title}
        if len(axes) >= 2:
            y, x = axes[-2], axes[-1]
            px = _calibrated(meta, y.get("scale"), y.get("units"), x.get("scale"),
                             x.get("units"), f"rosettasciio ({plugin})")
        else:
            px = None
            meta["pixel_size_note"] = f"rosettasciio ({plugin}) gave no signal axes"
        return MicroscopeImage(_first_2d(img, path), px, str(path), f"rosettasciio.{plugin}",
                               meta)
    raise ReaderError(f"file {str(path)!r}: rosettasciio ({plugin}) found no 2D image in it")


def _sxm_scanit_type(raw: bytes, path: Path) -> str:
    """nanonispy2 data format for the header's SCANIT_TYPE (Nanonis writes FLOAT MSBFIRST)."""
    m = re.search(rb":SCANIT_TYPE:\s*\n\s*(\S+)\s+(\S+)", raw)
    kind = (m.group(1).decode(), m.group(2).decode()) if m else ("FLOAT", "MSBFIRST")
    formats = {("FLOAT", "MSBFIRST"): "big endian float 32",
               ("FLOAT", "LSBFIRST"): "little endian float 32"}
    if kind not in formats:
        raise ReaderError(f"file {str(path)!r}: SCANIT_TYPE {' '.join(kind)!r} is not "
                          f"supported; allowed: FLOAT MSBFIRST, FLOAT LSBFIRST")
    return formats[kind]


def _sxm_complete_rows(img: np.ndarray, acq_rows: np.ndarray, path: Path, name: str) -> tuple:
    """Crop the lines an interrupted scan never recorded (Nanonis fills them with NaN).

    ``acq_rows[i]``: the image row recorded i-th. The unrecorded tail (in recording order),
    including the line recording stopped in, is cut away; NaN anywhere else is an error.
    """
    bad = ~np.isfinite(img).all(axis=1)
    if not bad.any():
        return img, None
    order = bad[acq_rows]
    k = int(np.argmax(order))  # first line (in recording order) with a missing value
    if np.isfinite(img[acq_rows[k + 1:]]).any():  # recorded after the gap: not a tail
        row, col = np.argwhere(~np.isfinite(img))[0]
        raise ReaderError(f"file {str(path)!r}: channel {name!r}: non-finite values inside "
                          f"the recorded part of the scan (first at row {row}, column {col}); "
                          "only the unrecorded tail of an interrupted scan may be NaN")
    if k < 2:
        raise ReaderError(f"file {str(path)!r}: channel {name!r}: fewer than 2 complete scan "
                          f"lines ({k} of {img.shape[0]}): the scan was interrupted too early")
    keep = np.sort(acq_rows[:k])
    return img[keep], {"rows_recorded": k, "rows_total": int(img.shape[0])}


def read_sxm(path: str | os.PathLike, channel: str = "Z",
             direction: str = "forward") -> MicroscopeImage:
    """One channel of a Nanonis ``.sxm`` scan, oriented as displayed (row 0 = top of the frame).

    Read with nanonispy2 (header + big-endian float32 frames, channel by channel in DATA_INFO
    order, forward then backward). Orientation as the format prescribes: frames are stored
    in recording order, so a backward frame (recorded right to left) is flipped left-right,
    and an ``up`` scan (SCAN_DIR, first line at the bottom) is flipped top-bottom. Values are
    in the channel's unit (DATA_INFO ``Unit``; Z in m). Pixel pitch = SCAN_RANGE (m) /
    SCAN_PIXELS per axis. An interrupted scan (unrecorded lines NaN) is cropped to the lines
    recorded completely, noted in ``meta["incomplete_scan"]``.
    """
    path = Path(path)
    if direction not in SXM_DIRECTIONS:
        raise ReaderError(f"file {str(path)!r}: direction {direction!r} is not allowed; "
                          f"allowed: {', '.join(SXM_DIRECTIONS)}")
    if not path.is_file():
        raise ReaderError(f"file {str(path)!r} does not exist")
    raw = path.read_bytes()
    if not raw.startswith(b":NANONIS_VERSION:"):
        raise ReaderError(f"file {str(path)!r}: not a Nanonis .sxm file (it must start with "
                          f"':NANONIS_VERSION:', starts with {raw[:20]!r})")
    end = raw.find(b":SCANIT_END:")
    if end < 0 or raw.find(b"\x1a\x04", end) < 0:
        raise ReaderError(f"file {str(path)!r}: Nanonis header without ':SCANIT_END:' and the "
                          "data start marker \\x1a\\x04 (truncated header?)")
    fmt = _sxm_scanit_type(raw[:end], path)
    data_bytes = len(raw) - raw.find(b"\x1a\x04", end) - 2
    try:
        from nanonispy2.read import Scan
    except ImportError as exc:
        raise ReaderError(f"file {str(path)!r}: the Nanonis reader is not installed ({exc}); "
                          "pip install the pinned nanonispy2") from exc
    try:
        scan = Scan(str(path), data_format=fmt)
        hdr = scan.header
        nx, ny = (int(v) for v in hdr["scan_pixels"])
        rx, ry = (float(v) for v in hdr["scan_range"])
    except Exception as exc:
        raise ReaderError(
            f"cannot read Nanonis file {str(path)!r}: {type(exc).__name__}: {exc} (data block "
            f"after \\x1a\\x04: {data_bytes} bytes; nanonispy2 reads .sxm files whose "
            "channels are all recorded in both directions and whose data block is complete: "
            "SCAN_PIXELS x * y float32 per channel and direction)"
        ) from exc
    names = list(hdr["data_info"]["Name"])
    if channel not in scan.signals:
        raise ReaderError(f"file {str(path)!r}: no channel {channel!r}; channels: "
                          f"{', '.join(names)}")
    scan_dir = str(hdr.get("scan_dir", "")).strip().lower()
    if scan_dir not in ("up", "down"):
        raise ReaderError(f"file {str(path)!r}: SCAN_DIR {scan_dir!r} is not allowed; "
                          "allowed: up, down")
    img = np.asarray(scan.signals[channel][direction], dtype=np.float64)
    if img.shape != (ny, nx):
        raise ReaderError(f"file {str(path)!r}: channel {channel!r} has shape {img.shape}, "
                          f"SCAN_PIXELS says {(ny, nx)}")
    acq_rows = np.arange(ny)
    if scan_dir == "up":
        img, acq_rows = img[::-1], acq_rows[::-1]
    if direction == "backward":
        img = img[:, ::-1]
    img, incomplete = _sxm_complete_rows(img, acq_rows, path, channel)
    units = dict(zip(names, hdr["data_info"].get("Unit", ("",) * len(names)), strict=False))
    meta: dict = {"channel": channel, "direction": direction, "scan_dir": scan_dir,
                  "unit": units.get(channel, ""), "channels": names,
                  "scan_range_m": (rx, ry), "scan_pixels": (nx, ny),
                  "scan_angle_deg": str(hdr.get("scan_angle", "")).strip()}
    if incomplete:
        meta["incomplete_scan"] = incomplete
    px = _calibrated(meta, ry / ny, "m", rx / nx, "m", "SCAN_RANGE")
    return MicroscopeImage(_first_2d(img, path, f" in channel {channel!r}"), px, str(path),
                           "nanonispy2", meta)


def _emi_message(path: Path) -> str:
    sers = sorted(p.name for p in path.parent.glob(f"{glob.escape(path.stem)}_*.ser"))
    found = f"found beside it: {', '.join(sers)}" if sers else "none found beside it"
    return f"file {str(path)!r}: {UNSUPPORTED_EXTENSIONS['.emi']} ({found})"


def read_image(path: str | os.PathLike) -> MicroscopeImage:
    """The first 2D image of a microscope file (see the module table for formats)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".emi":
        raise ReaderError(_emi_message(path))
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
        if ext == ".sxm":
            return read_sxm(path)
        return _read_rsciio(path, _RSCIIO[ext])
    except ReaderError:
        raise
    except ImportError as exc:
        raise ReaderError(f"file {str(path)!r}: its reader is not installed ({exc}); "
                          "pip install the pinned rosettasciio / mrcfile") from exc
    except Exception as exc:  # any reader failure: corrupt, truncated, unsupported variant
        raise ReaderError(f"cannot read file {str(path)!r}: {type(exc).__name__}: {exc}") \
            from exc
