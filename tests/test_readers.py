"""Real microscope files: each format on files its own library writes, on real instrument
files (DM3/DM4, FEI TIA, vendor TIFFs) and on Nanonis .sxm files written here from the
format's description."""

from __future__ import annotations

import warnings
from pathlib import Path

import mrcfile
import numpy as np
import pytest
import tifffile
from badinput import assert_names

from simart.data.readers import READER_EXTENSIONS, ReaderError, read_image, read_sxm
from simart.simulate.sources import (
    IMAGE_EXTENSIONS,
    SourceError,
    list_user_images,
    load_user_image,
)

RNG = np.random.default_rng(0)
IMG = (RNG.random((24, 36)) * 1000).astype(np.float32)
# Real instrument files (provenance and licence in their README.md), kept outside the repo:
# ../shared/fixtures/real-formats beside the checkout.
FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real-formats"


def _fixture(name: str) -> Path:
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"real-format fixture {name} not found in {FIXTURES} (the folder "
                    "../shared/fixtures/real-formats beside the checkout is absent here)")
    return path


def _signal(data, scale=0.25, units="nm"):
    axes = [{"name": n, "size": s, "scale": scale, "offset": 0.0, "units": units,
             "navigate": False} for n, s in zip("yx", data.shape, strict=True)]
    return {"data": data, "axes": axes, "metadata": {"General": {"title": "t"},
                                                     "Signal": {"signal_type": ""}},
            "original_metadata": {}}


def _raw_axes(path: Path, plugin: str) -> list[dict]:
    """The signal axes rosettasciio itself reads from the file (the stated calibration)."""
    import importlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sig = importlib.import_module(f"rsciio.{plugin}").file_reader(str(path))[0]
    return [a for a in sig["axes"] if not a.get("navigate", False)]


# --------------------------------------------------------------------------- library-written

def test_tiff_plain_and_imagej_calibrated(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", IMG)
    m = read_image(tmp_path / "a.tif")
    np.testing.assert_array_equal(m.data, IMG)
    assert m.pixel_size_nm is None and m.reader == "tifffile"
    assert "no length calibration" in m.meta["pixel_size_note"]
    stack = np.stack([IMG, 2 * IMG])
    tifffile.imwrite(tmp_path / "b.tiff", stack, imagej=True, resolution=(1 / 0.5, 1 / 0.5),
                     metadata={"unit": "nm", "axes": "ZYX"})
    m = read_image(tmp_path / "b.tiff")
    np.testing.assert_array_equal(m.data, IMG)  # first plane
    assert m.pixel_size_nm == pytest.approx(0.5)
    tifffile.imwrite(tmp_path / "c.tif", IMG, resolution=(1e4, 1e4), resolutionunit="CENTIMETER")
    assert read_image(tmp_path / "c.tif").pixel_size_nm == pytest.approx(1e3)  # 1 um pixels
    tifffile.imwrite(tmp_path / "d.tif", IMG, resolution=(300, 300), resolutionunit="INCH")
    m = read_image(tmp_path / "d.tif")  # dots per inch: a print setting, not a calibration
    assert m.pixel_size_nm is None and "per inch" in m.meta["pixel_size_note"]


def test_mrc_image_and_stack_with_voxel_size(tmp_path):
    with mrcfile.new(tmp_path / "a.mrc") as f:
        f.set_data(IMG)
        f.voxel_size = 2.5  # Angstrom
    m = read_image(tmp_path / "a.mrc")
    np.testing.assert_array_equal(m.data, IMG)
    assert m.pixel_size_nm == pytest.approx(0.25)
    with mrcfile.new(tmp_path / "s.mrcs") as f:
        f.set_data(np.stack([IMG, IMG + 1]))
    m = read_image(tmp_path / "s.mrcs")
    np.testing.assert_array_equal(m.data, IMG)
    assert m.pixel_size_nm is None and "MRC header" in m.meta["pixel_size_note"]


def test_rosettasciio_digital_surf_and_emd(tmp_path):
    from rsciio.digitalsurf import file_writer as sur_writer
    from rsciio.emd import file_writer as emd_writer

    data = IMG.astype(np.float64)  # rosettasciio 0.15 writes float32 .sur wrongly (int cast)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sur_writer(str(tmp_path / "a.sur"), _signal(data, 0.002, "µm"))
        emd_writer(str(tmp_path / "a.emd"), _signal(IMG, 0.1, "nm"))
    m = read_image(tmp_path / "a.sur")
    np.testing.assert_allclose(m.data, data, rtol=1e-6)
    assert m.pixel_size_nm == pytest.approx(2.0) and m.reader == "rosettasciio.digitalsurf"
    m = read_image(tmp_path / "a.emd")
    np.testing.assert_array_equal(m.data, IMG)
    assert m.pixel_size_nm == pytest.approx(0.1)


# --------------------------------------------------------------------------- real files

@pytest.mark.parametrize("name, plugin, shape, stated_nm", [
    ("test_STEM_image.dm3", "digitalmicrograph", (68, 68), 0.2485),
    ("128x128-TEM_search_1.ser", "tia", (128, 128), 5.26),        # TIA "new"
    ("64x64_TEM_images_acquire_1.ser", "tia", (64, 64), 6.28),    # TIA "old"
])
def test_real_dm_and_tia_files(name, plugin, shape, stated_nm):
    path = _fixture(name)
    m = read_image(path)
    assert m.data.shape == shape and m.data.dtype == np.float64
    assert np.isfinite(m.data).all() and m.data.std() > 0
    assert m.reader == f"rosettasciio.{plugin}"
    y, x = _raw_axes(path, plugin)  # the file's own calibration, as rosettasciio reads it
    assert x["units"] == y["units"] == "nm"
    assert m.pixel_size_nm == pytest.approx(float(x["scale"]), rel=1e-12)
    assert m.meta["pixel_size_yx_nm"] == pytest.approx((float(y["scale"]), float(x["scale"])))
    assert m.pixel_size_nm == pytest.approx(stated_nm, abs=5e-4 if plugin != "tia" else 5e-3)


def test_real_dm4_2x2_is_read_and_refused_as_a_source():
    path = _fixture("test-1.dm4")
    m = read_image(path)  # a valid (tiny) 2D image: read as it is
    np.testing.assert_array_equal(m.data, [[1.0, 2.0], [3.0, 4.0]])
    _, x = _raw_axes(path, "digitalmicrograph")
    assert (x["units"], float(x["scale"])) == ("", 1.0)  # uncalibrated in the file
    assert m.pixel_size_nm is None and "no length calibration" in m.meta["pixel_size_note"]
    with pytest.raises(SourceError, match=r"test-1\.dm4.*2 x 2 px.*at least 16"):
        load_user_image(path, 32)  # too small to be a clean source


def test_real_tia_emi_is_refused_naming_the_ser(tmp_path):
    emi = _fixture("128x128-TEM_search.emi")
    with pytest.raises(ReaderError) as err:
        read_image(emi)
    assert_names(str(err.value), "128x128-TEM_search.emi", "128x128-TEM_search_1.ser",
                 "pass the .ser")
    (tmp_path / "lone.emi").write_bytes(emi.read_bytes())
    with pytest.raises(ReaderError, match=r"lone\.emi.*none found beside it"):
        read_image(tmp_path / "lone.emi")
    assert ".emi" not in READER_EXTENSIONS and ".emi" not in IMAGE_EXTENSIONS  # no duplicates


def test_real_tiff_saved_by_digitalmicrograph():
    path = _fixture("test_loading_image_saved_with_DM.tif")
    m = read_image(path)
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        raw = page.asarray()
        tags = {k: page.tags[k].value for k in (65003, 65004, 65009, 65010)}
    np.testing.assert_array_equal(m.data, raw)
    assert m.data.shape == (68, 68) and np.isfinite(m.data).all()
    assert tags[65003] == tags[65004] == "µm"  # what the file states: 0.16867 µm per pixel
    assert m.pixel_size_nm == pytest.approx(tags[65009] * 1e3)
    assert m.meta["pixel_size_yx_nm"] == pytest.approx((tags[65010] * 1e3, tags[65009] * 1e3))
    assert m.pixel_size_nm == pytest.approx(168.675, abs=1e-3)
    _, x = _raw_axes(path, "tiff")  # rosettasciio's reading of the same tags agrees
    assert x["units"] == "µm" and m.pixel_size_nm == pytest.approx(x["scale"] * 1e3)


def test_real_tiff_from_olympus_sis():
    path = _fixture("olympus_SIS.tif")
    m = read_image(path)  # page 0 is a JPEG RGB preview; the raw image is the SIS page
    with tifffile.TiffFile(path) as tif:
        sis = tif.pages[1]
        assert sis.is_sis and not tif.pages[0].is_sis
        raw, md = sis.asarray(), sis.tags[33560].value
    assert raw.dtype == np.uint16 and m.data.shape == (101, 112)
    np.testing.assert_array_equal(m.data, raw)
    assert np.isfinite(m.data).all()
    assert m.pixel_size_nm == pytest.approx(md["pixelsizex"] * 1e9)  # metres in the tag
    assert m.meta["pixel_size_yx_nm"] == pytest.approx((md["pixelsizey"] * 1e9,
                                                        md["pixelsizex"] * 1e9))
    assert m.pixel_size_nm == pytest.approx(0.023928, abs=1e-6)
    assert m.meta["sis"]["magnification"] == 600000.0


# --------------------------------------------------------------------------- Nanonis .sxm

def _sxm_header(nx, ny, rx, ry, scan_dir, channels, scanit_type="FLOAT            MSBFIRST"):
    """A Nanonis .sxm header as the instrument writes it (tags, values, DATA_INFO table)."""
    rows = "".join(f"\t{i}\t{name}\t{unit}\tboth\t1.000E+0\t0.000E+0\n"
                   for i, (name, unit) in enumerate(channels))
    return (
        ":NANONIS_VERSION:\n2\n"
        f":SCANIT_TYPE:\n              {scanit_type}\n"
        ":REC_DATE:\n 01.02.2024\n:REC_TIME:\n12:00:00\n:REC_TEMP:\n      290.0000000000\n"
        ":ACQ_TIME:\n       12.3\n"
        f":SCAN_PIXELS:\n       {nx}       {ny}\n"
        ":SCAN_FILE:\nC:\\data\\test.sxm\n"
        ":SCAN_TIME:\n             1.000E+0             1.000E+0\n"
        f":SCAN_RANGE:\n           {rx:.6E}           {ry:.6E}\n"
        ":SCAN_OFFSET:\n             0.000000E+0         0.000000E+0\n"
        ":SCAN_ANGLE:\n            0.000E+0\n"
        f":SCAN_DIR:\n{scan_dir}\n"
        ":BIAS:\n            1.000E-1\n"
        ":Z-CONTROLLER:\n\tName\ton\tSetpoint\tP-gain\tI-gain\tT-const\n"
        "\tlog Current\t1\t1.000E-10 A\t1.000E-12 m\t1.000E-7 m/s\t1.000E-5 s\n"
        ":COMMENT:\n\n"
        ":DATA_INFO:\n\tChannel\tName\tUnit\tDirection\tCalibration\tOffset\n"
        f"{rows}\n:SCANIT_END:\n"
    )


def _write_sxm(path, surfaces, channels, rx, ry, scan_dir, stop_after=None, dtype=">f4",
               scanit_type="FLOAT            MSBFIRST"):
    """Record ``surfaces`` as a Nanonis scan would and write the .sxm file.

    ``surfaces[(name, "forward" | "backward")]``: the (ny, nx) image as seen, row 0 at the top
    of the frame, column 0 at its left. The instrument records line by line, from the top
    (SCAN_DIR down) or from the bottom (up); on each line the forward pass samples left to
    right, then the backward pass right to left. Each frame is stored in recording order,
    float32 big-endian, channel by channel (DATA_INFO order), forward then backward, after
    the header, ``\\n\\n`` and the ``\\x1a\\x04`` marker. ``stop_after``: the scan is interrupted
    after that many samples per channel (both passes counted); the rest is NaN, as Nanonis
    saves an interrupted scan.
    """
    ny, nx = next(iter(surfaces.values())).shape
    lines = range(ny - 1, -1, -1) if scan_dir == "up" else range(ny)
    blocks = []
    for name, _ in channels:
        for d, cols in (("forward", range(nx)), ("backward", range(nx - 1, -1, -1))):
            frame = np.full((ny, nx), np.nan)
            for i, row in enumerate(lines):
                for j, col in enumerate(cols):
                    t = i * 2 * nx + (nx if d == "backward" else 0) + j  # sample time
                    if stop_after is None or t < stop_after:
                        frame[i, j] = surfaces[(name, d)][row, col]
            blocks.append(frame.astype(dtype).tobytes())
    head = _sxm_header(nx, ny, rx, ry, scan_dir, channels, scanit_type).encode()
    Path(path).write_bytes(head + b"\n\n\x1a\x04" + b"".join(blocks))


NY, NX = 4, 6  # non-square: 6 columns over 3 nm (0.5 nm), 4 rows over 4 nm (1 nm)
RX, RY = 3e-9, 4e-9
CHANNELS = [("Current", "A"), ("Z", "m")]  # Z second: the reader picks it by name
YY, XX = np.mgrid[0:NY, 0:NX].astype(np.float64)
SURF = {("Z", "forward"): (10 * YY + XX) * 1e-10,  # distinct value at every (row, col)
        ("Z", "backward"): (10 * YY + XX) * 1e-10 + 5e-11,
        ("Current", "forward"): -(10 * YY + XX) * 1e-12,
        ("Current", "backward"): -(10 * YY + XX) * 1e-12 - 1e-13}


@pytest.mark.parametrize("scan_dir", ["down", "up"])
def test_sxm_orientation_channels_and_pixel_size(tmp_path, scan_dir):
    path = tmp_path / "scan.sxm"
    _write_sxm(path, SURF, CHANNELS, RX, RY, scan_dir)
    m = read_image(path)  # topography Z, forward
    assert m.reader == "nanonispy2" and m.data.shape == (NY, NX) and m.data.dtype == np.float64
    np.testing.assert_allclose(m.data, SURF[("Z", "forward")], rtol=1e-6)
    assert m.data[0, 0] == pytest.approx(0.0, abs=1e-16)      # top left
    assert m.data[-1, 0] == pytest.approx(30e-10, rel=1e-6)   # bottom left
    assert m.data[0, -1] == pytest.approx(5e-10, rel=1e-6)    # top right
    assert m.pixel_size_nm == pytest.approx(0.5)              # SCAN_RANGE x / SCAN_PIXELS x
    assert m.meta["pixel_size_yx_nm"] == pytest.approx((1.0, 0.5))
    assert m.meta["unit"] == "m" and m.meta["scan_dir"] == scan_dir
    assert m.meta["channels"] == ["Current", "Z"] and "incomplete_scan" not in m.meta
    for (name, d), surf in SURF.items():
        got = read_sxm(path, channel=name, direction=d).data  # backward flipped back
        np.testing.assert_allclose(got, surf, rtol=1e-6)


def test_sxm_little_endian_variant(tmp_path):
    path = tmp_path / "le.sxm"
    _write_sxm(path, SURF, CHANNELS, RX, RY, "down", dtype="<f4",
               scanit_type="FLOAT            LSBFIRST")
    np.testing.assert_allclose(read_image(path).data, SURF[("Z", "forward")], rtol=1e-6)


@pytest.mark.parametrize("scan_dir, rows", [("down", slice(0, 2)), ("up", slice(2, 4))])
def test_sxm_interrupted_scan_is_cropped_to_recorded_lines(tmp_path, scan_dir, rows):
    # stopped in the forward pass of the 3rd line: 2 complete lines (top ones if scanned
    # down, bottom ones if up), the 3rd line and the 4th are NaN-filled in the file
    path = tmp_path / "cut.sxm"
    _write_sxm(path, SURF, CHANNELS, RX, RY, scan_dir, stop_after=2 * 2 * NX + 3)
    m = read_image(path)
    np.testing.assert_allclose(m.data, SURF[("Z", "forward")][rows], rtol=1e-6)
    assert np.isfinite(m.data).all()
    assert m.meta["incomplete_scan"] == {"rows_recorded": 2, "rows_total": NY}
    assert m.pixel_size_nm == pytest.approx(0.5)
    # stopped in the backward pass of the 3rd line: forward has 3 complete lines
    _write_sxm(path, SURF, CHANNELS, RX, RY, scan_dir, stop_after=2 * 2 * NX + NX + 2)
    assert read_sxm(path).data.shape == (3, NX)
    assert read_sxm(path, direction="backward").data.shape == (2, NX)
    # stopped in the 2nd line: one complete line is no image
    _write_sxm(path, SURF, CHANNELS, RX, RY, scan_dir, stop_after=2 * NX + 1)
    with pytest.raises(ReaderError, match=r"cut\.sxm.*'Z'.*fewer than 2 complete scan lines"):
        read_image(path)


def _corrupt_sxm(tmp_path, case: str) -> Path:
    path = tmp_path / f"{case}.sxm"
    _write_sxm(path, SURF, CHANNELS, RX, RY, "down")
    raw = path.read_bytes()
    if case == "garbage":
        path.write_bytes(b"\x00\x01not a scan" * 50)
    elif case == "header_only":
        path.write_bytes(b":NANONIS_VERSION:\n2\n:SCANIT_END:\n")
    elif case == "truncated":
        path.write_bytes(raw[:-17])
    elif case == "no_scan_range":
        path.write_bytes(raw.replace(b":SCAN_RANGE:", b":SCAN_RANGX:"))
    elif case == "nan_inside":
        surf = dict(SURF)
        surf[("Z", "forward")] = SURF[("Z", "forward")].copy()
        surf[("Z", "forward")][1, 2] = np.nan  # a hole inside a complete scan
        _write_sxm(path, surf, CHANNELS, RX, RY, "down")
    elif case == "int_data":
        path.write_bytes(raw.replace(b"FLOAT            MSBFIRST", b"INT              MSBFIRST"))
    return path


@pytest.mark.bad_input
@pytest.mark.parametrize("case, words", [
    ("garbage", ["not a Nanonis .sxm"]),
    ("header_only", ["\\x1a\\x04"]),
    ("truncated", ["cannot read Nanonis file",
                   f"data block after \\x1a\\x04: {2 * 2 * NY * NX * 4 - 17} bytes"]),
    ("no_scan_range", ["cannot read Nanonis file", "scan_range"]),
    ("nan_inside", ["'Z'", "non-finite"]),
    ("int_data", ["SCANIT_TYPE", "INT MSBFIRST", "FLOAT MSBFIRST"]),
])
def test_sxm_corrupt_files_are_refused_naming_the_file(tmp_path, case, words):
    path = _corrupt_sxm(tmp_path, case)
    with pytest.raises(ReaderError) as err:
        read_image(path)
    assert_names(str(err.value), f"{case}.sxm", *words)


@pytest.mark.bad_input
def test_sxm_unknown_channel_or_direction(tmp_path):
    path = tmp_path / "scan.sxm"
    _write_sxm(path, SURF, CHANNELS, RX, RY, "down")
    with pytest.raises(ReaderError) as err:
        read_sxm(path, channel="Phase")
    assert_names(str(err.value), "scan.sxm", "'Phase'", "Current, Z")
    with pytest.raises(ReaderError, match=r"scan\.sxm.*'sideways'.*forward, backward"):
        read_sxm(path, direction="sideways")


# --------------------------------------------------------------------------- errors, sources

def test_unsupported_and_broken_files_are_named(tmp_path):
    (tmp_path / "bad.mrc").write_bytes(b"not an mrc file at all")
    with pytest.raises(ReaderError, match="bad.mrc"):
        read_image(tmp_path / "bad.mrc")
    (tmp_path / "bad.dm3").write_bytes(b"\x00" * 64)
    with pytest.raises(ReaderError, match="bad.dm3"):
        read_image(tmp_path / "bad.dm3")
    (tmp_path / "bad.ser").write_bytes(b"\x00" * 64)
    with pytest.raises(ReaderError, match="bad.ser"):
        read_image(tmp_path / "bad.ser")
    with pytest.raises(ReaderError, match="unsupported extension '.xyz'"):
        read_image(tmp_path / "a.xyz")
    with pytest.raises(ReaderError, match="missing.sxm.*does not exist"):
        read_image(tmp_path / "missing.sxm")


def test_microscope_files_work_as_user_sources(tmp_path):
    assert set(READER_EXTENSIONS) <= set(IMAGE_EXTENSIONS)
    ramp = np.add.outer(np.arange(40.0), np.arange(50.0)).astype(np.float32)
    with mrcfile.new(tmp_path / "x.mrc") as f:
        f.set_data(ramp)
    tifffile.imwrite(tmp_path / "y.tif", ramp)
    surf = {(c, d): ramp.astype(np.float64) * 1e-10 for c, _ in CHANNELS
            for d in ("forward", "backward")}
    _write_sxm(tmp_path / "z.sxm", surf, CHANNELS, 5e-9, 4e-9, "up")
    files = list_user_images(tmp_path)
    assert [p.name for p in files] == ["x.mrc", "y.tif", "z.sxm"]
    a, b, c = (load_user_image(p, 32) for p in files)
    assert a.shape == (32, 32) and a.min() == 0.0 and a.max() == 1.0
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(a, c, atol=1e-6)
