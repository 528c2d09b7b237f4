"""Real microscope files: each supported format on a small file its own library writes."""

from __future__ import annotations

import warnings

import mrcfile
import numpy as np
import pytest
import tifffile

from simart.data.readers import READER_EXTENSIONS, ReaderError, read_image
from simart.simulate.sources import IMAGE_EXTENSIONS, list_user_images, load_user_image

RNG = np.random.default_rng(0)
IMG = (RNG.random((24, 36)) * 1000).astype(np.float32)


def _signal(data, scale=0.25, units="nm"):
    axes = [{"name": n, "size": s, "scale": scale, "offset": 0.0, "units": units,
             "navigate": False} for n, s in zip("yx", data.shape, strict=True)]
    return {"data": data, "axes": axes, "metadata": {"General": {"title": "t"},
                                                     "Signal": {"signal_type": ""}},
            "original_metadata": {}}


def test_tiff_plain_and_imagej_calibrated(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", IMG)
    m = read_image(tmp_path / "a.tif")
    np.testing.assert_array_equal(m.data, IMG)
    assert m.pixel_size_nm is None and m.reader == "tifffile"
    stack = np.stack([IMG, 2 * IMG])
    tifffile.imwrite(tmp_path / "b.tiff", stack, imagej=True, resolution=(1 / 0.5, 1 / 0.5),
                     metadata={"unit": "nm", "axes": "ZYX"})
    m = read_image(tmp_path / "b.tiff")
    np.testing.assert_array_equal(m.data, IMG)  # first plane
    assert m.pixel_size_nm == pytest.approx(0.5)
    tifffile.imwrite(tmp_path / "c.tif", IMG, resolution=(1e4, 1e4), resolutionunit="CENTIMETER")
    assert read_image(tmp_path / "c.tif").pixel_size_nm == pytest.approx(1e3)  # 1 um pixels


def test_mrc_image_and_stack_with_voxel_size(tmp_path):
    with mrcfile.new(tmp_path / "a.mrc") as f:
        f.set_data(IMG)
        f.voxel_size = 2.5  # Angstrom
    m = read_image(tmp_path / "a.mrc")
    np.testing.assert_array_equal(m.data, IMG)
    assert m.pixel_size_nm == pytest.approx(0.25)
    with mrcfile.new(tmp_path / "s.mrcs") as f:
        f.set_data(np.stack([IMG, IMG + 1]))
    np.testing.assert_array_equal(read_image(tmp_path / "s.mrcs").data, IMG)


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


def test_unsupported_and_broken_files_are_named(tmp_path):
    (tmp_path / "scan.sxm").write_bytes(b":NANONIS_VERSION:\n2\n:SCANIT_END:\n")
    with pytest.raises(ReaderError, match="scan.sxm.*Nanonis"):
        read_image(tmp_path / "scan.sxm")
    (tmp_path / "bad.mrc").write_bytes(b"not an mrc file at all")
    with pytest.raises(ReaderError, match="bad.mrc"):
        read_image(tmp_path / "bad.mrc")
    (tmp_path / "bad.dm3").write_bytes(b"\x00" * 64)
    with pytest.raises(ReaderError, match="bad.dm3"):
        read_image(tmp_path / "bad.dm3")
    with pytest.raises(ReaderError, match="unsupported extension '.xyz'"):
        read_image(tmp_path / "a.xyz")


def test_microscope_files_work_as_user_sources(tmp_path):
    assert set(READER_EXTENSIONS) <= set(IMAGE_EXTENSIONS)
    ramp = np.add.outer(np.arange(40.0), np.arange(50.0)).astype(np.float32)
    with mrcfile.new(tmp_path / "x.mrc") as f:
        f.set_data(ramp)
    tifffile.imwrite(tmp_path / "y.tif", ramp)
    files = list_user_images(tmp_path)
    assert [p.name for p in files] == ["x.mrc", "y.tif"]
    a, b = (load_user_image(p, 32) for p in files)
    assert a.shape == (32, 32) and a.min() == 0.0 and a.max() == 1.0
    np.testing.assert_allclose(a, b, atol=1e-6)
