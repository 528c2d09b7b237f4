"""Clean image sources: procedural specimens, scikit-image samples, user folders, catalog."""

from __future__ import annotations

import socket
import warnings

import numpy as np
import pandas as pd
import pytest
import tifffile
from PIL import Image
from skimage.transform import resize

from simart.simulate.procedural import fractal_surface, procedural_image_and_params
from simart.simulate.sources import (
    PROCEDURAL_KINDS,
    SKIMAGE_IMAGES,
    SourceError,
    build_catalog,
    list_user_images,
    load_user_image,
    procedural_image,
    render_source,
    skimage_image,
    source_seeds,
)

SIZES = (64, 100, 128)
ALL_FRACTIONS = (0.8, 0.1, 0.1)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _check_clean(img: np.ndarray, size: int) -> None:
    assert img.dtype == np.float32
    assert img.shape == (size, size)
    assert np.all(np.isfinite(img))
    assert img.min() == 0.0 and img.max() == 1.0


def _flat_fraction(img: np.ndarray) -> float:
    """Fraction of pixels whose gradient is below a quarter of the 99th percentile."""
    g = np.hypot(*np.gradient(img.astype(np.float64)))
    return float(np.mean(g < 0.25 * np.percentile(g, 99)))


def _radial_psd(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = img.shape[0]
    power = np.abs(np.fft.fft2(img - img.mean())) ** 2
    f = np.fft.fftfreq(n) * n
    k = np.rint(np.hypot(*np.meshgrid(f, f, indexing="ij"))).astype(int).ravel()
    return np.arange(k.max() + 1), np.bincount(k, power.ravel()) / np.maximum(np.bincount(k), 1)


# --------------------------------------------------------------------------- procedural


def test_procedural_kinds_are_the_seven_specimens():
    assert PROCEDURAL_KINDS == (
        "terraces", "fractal", "grains", "particles", "filaments", "blobs", "lattice")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", PROCEDURAL_KINDS)
def test_procedural_is_float32_in_unit_range_with_structure(kind, size):
    for seed in range(3):
        img = procedural_image(kind, size, _rng(seed))
        _check_clean(img, size)
        assert img.std() > 0.05, (kind, size, seed)


@pytest.mark.parametrize("kind", PROCEDURAL_KINDS)
def test_procedural_is_deterministic_from_the_generator(kind):
    a = procedural_image(kind, 96, _rng(7))
    b = procedural_image(kind, 96, _rng(7))
    c = procedural_image(kind, 96, _rng(8))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("kind", PROCEDURAL_KINDS)
def test_procedural_params_are_scalars(kind):
    img, params = procedural_image_and_params(kind, 64, _rng(0))
    assert np.array_equal(img, procedural_image(kind, 64, _rng(0)))
    assert params and all(isinstance(v, int | float | str | np.number) for v in params.values())


def test_procedural_rejects_unknown_kind_small_size_and_bad_rng():
    with pytest.raises(ValueError, match="allowed: terraces, fractal"):
        procedural_image("galaxy", 64, _rng(0))
    with pytest.raises(ValueError, match="size"):
        procedural_image("fractal", 8, _rng(0))
    with pytest.raises(TypeError, match="Generator"):
        procedural_image("fractal", 64, 0)


@pytest.mark.parametrize("beta", [2.4, 3.0, 3.6])
def test_fractal_power_spectrum_follows_the_drawn_exponent(beta):
    img = fractal_surface(256, beta, _rng(1))
    k, psd = _radial_psd(img)
    sel = (k >= 4) & (k <= 64)
    slope = np.polyfit(np.log(k[sel]), np.log(psd[sel]), 1)[0]
    assert slope == pytest.approx(-beta, abs=0.15)


def test_terraces_are_flat_with_sparse_steps_unlike_a_rough_surface():
    terr = [_flat_fraction(procedural_image("terraces", 128, _rng(s))) for s in range(20)]
    rough = [_flat_fraction(procedural_image("fractal", 128, _rng(s))) for s in range(20)]
    assert min(terr) > 0.35
    assert np.median(terr) > 0.5
    assert np.median(terr) > np.median(rough) + 0.2


@pytest.mark.parametrize("size", [100, 128])
def test_lattice_power_spectrum_peaks_on_the_drawn_reciprocal_lattice(size):
    win = np.outer(np.hanning(size), np.hanning(size))
    f = np.fft.fftfreq(size)
    ky, kx = np.meshgrid(f, f, indexing="ij")
    for seed in range(10):
        img, p = procedural_image_and_params("lattice", size, _rng(seed))
        a = np.array([[p["a1_x_px"], p["a1_y_px"]], [p["a2_x_px"], p["a2_y_px"]]])
        b = np.linalg.inv(a).T  # reciprocal vectors (cycles/px): a_i . b_j = delta_ij
        power = np.abs(np.fft.fft2((img - img.mean()) * win)) ** 2
        power[np.hypot(kx, ky) < 0.5 * np.linalg.norm(b, axis=1).min()] = 0.0
        iy, ix = np.unravel_index(np.argmax(power), power.shape)
        hk = a @ np.array([kx[iy, ix], ky[iy, ix]])  # indices of the peak: a_i . k
        tol = np.linalg.norm(a, axis=1) / size  # one frequency bin, in index units
        assert np.all(np.abs(hk - np.rint(hk)) <= tol), (seed, hk)
        assert 0 < np.abs(np.rint(hk)).max() <= 3
        assert power.max() > 100 * np.median(power[power > 0])


# --------------------------------------------------------------------------- scikit-image


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access is disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.parametrize("name", SKIMAGE_IMAGES)
def test_skimage_samples_load_offline_cropped_and_normalised(name, no_network):
    centre = skimage_image(name, 64)
    _check_clean(centre, 64)
    a = skimage_image(name, 64, _rng(3))
    _check_clean(a, 64)
    assert np.array_equal(a, skimage_image(name, 64, _rng(3)))
    assert not np.array_equal(a, skimage_image(name, 64, _rng(4)))
    _check_clean(skimage_image(name, 100, _rng(5)), 100)


def test_skimage_list_is_offline_only_and_unknown_names_fail():
    assert "cells3d" not in SKIMAGE_IMAGES and "clock" not in SKIMAGE_IMAGES
    with pytest.raises(ValueError, match="allowed: camera"):
        skimage_image("cells3d", 64)


# --------------------------------------------------------------------------- user folder


def _ramp(h: int, w: int) -> np.ndarray:
    """Test pattern: a horizontal ramp plus a bright square (not constant, not symmetric)."""
    img = np.tile(np.linspace(0.0, 1.0, w), (h, 1))
    img[h // 4:h // 2, w // 4:w // 2] = 1.0
    return img


@pytest.fixture
def user_dir(tmp_path):
    d = tmp_path / "images"
    (d / "sub").mkdir(parents=True)
    tifffile.imwrite(d / "a16.tif", (_ramp(60, 80) * 65535).astype(np.uint16))
    Image.fromarray((_ramp(50, 40) * 255).astype(np.uint8)).save(d / "b8.png")
    rgb = np.zeros((40, 40, 3), np.uint8)
    rgb[:, :20, 0] = 255  # left half pure red, right half pure green
    rgb[:, 20:, 1] = 255
    Image.fromarray(rgb).save(d / "sub" / "c_rgb.PNG")
    pages = np.stack([_ramp(48, 48), _ramp(48, 48)[::-1], np.zeros((48, 48))]).astype(np.float32)
    tifffile.imwrite(d / "d_stack.tiff", pages, photometric="minisblack")
    planar = np.zeros((3, 30, 30), np.uint8)
    planar[1, :, 15:] = 255  # green right half, stored as separate colour planes
    tifffile.imwrite(d / "sub" / "f_planar.tif", planar, photometric="rgb",
                     planarconfig="separate")
    Image.fromarray((_ramp(64, 64) * 255).astype(np.uint8)).convert("RGB").save(d / "e.jpg")
    (d / "notes.txt").write_text("not an image")
    (d / ".hidden.png").write_bytes(b"")
    return d


def test_list_user_images_is_sorted_and_filters_extensions(user_dir):
    names = [p.relative_to(user_dir).as_posix() for p in list_user_images(user_dir)]
    assert names == ["a16.tif", "b8.png", "d_stack.tiff", "e.jpg", "sub/c_rgb.PNG",
                     "sub/f_planar.tif"]


def test_user_images_are_read_resampled_and_normalised(user_dir):
    for path in list_user_images(user_dir):
        for size in (32, 100):
            _check_clean(load_user_image(path, size), size)


def test_user_16bit_tiff_matches_centre_crop_and_resize(user_dir):
    raw = tifffile.imread(user_dir / "a16.tif").astype(np.float64)
    crop = raw[:, 10:70]  # centre square of 60 x 80
    expect = resize(crop, (32, 32), order=1, anti_aliasing=True, preserve_range=True)
    expect = (expect - expect.min()) / (expect.max() - expect.min())
    assert np.allclose(load_user_image(user_dir / "a16.tif", 32), expect, atol=1e-5)


def test_user_rgb_uses_luminance_and_multipage_tiff_uses_first_page(user_dir):
    rgb = load_user_image(user_dir / "sub" / "c_rgb.PNG", 40)
    assert np.allclose(rgb[:, :19], 0.0) and np.allclose(rgb[:, 21:], 1.0)  # red darker
    planar = load_user_image(user_dir / "sub" / "f_planar.tif", 30)
    assert np.allclose(planar[:, :14], 0.0) and np.allclose(planar[:, 16:], 1.0)
    stack = load_user_image(user_dir / "d_stack.tiff", 48)
    first = _ramp(48, 48)
    assert np.allclose(stack, (first - first.min()) / np.ptp(first), atol=1e-6)


def test_user_folder_errors_name_the_folder(tmp_path):
    with pytest.raises(SourceError, match="missing.*does not exist"):
        list_user_images(tmp_path / "missing")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(SourceError, match="file.png.*not a directory"):
        list_user_images(tmp_path / "file.png")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images")
    with pytest.raises(SourceError, match=r"empty.*no image files.*\.tif"):
        list_user_images(empty)
    assert issubclass(SourceError, ValueError)


def test_user_corrupt_and_constant_files_name_the_file(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"this is not a PNG file")
    with pytest.raises(SourceError, match="broken.png"):
        load_user_image(bad, 32)
    bad_tif = tmp_path / "broken.tif"
    bad_tif.write_bytes(b"II*\x00garbage")
    with pytest.raises(SourceError, match="broken.tif"):
        load_user_image(bad_tif, 32)
    flat = tmp_path / "flat.tif"
    tifffile.imwrite(flat, np.full((20, 20), 7, np.uint16))
    with pytest.raises(SourceError, match="flat.tif.*constant"):
        load_user_image(flat, 32)


# --------------------------------------------------------------------------- catalog


def _catalog(n: int = 100, seed: int = 5, **kw) -> pd.DataFrame:
    args = {"procedural_kinds": None, "use_skimage": True, "user_dir": None,
            "split_fractions": ALL_FRACTIONS}
    args.update(kw)
    return build_catalog(n, seed, **args)


def test_catalog_columns_and_deterministic():
    cat = _catalog(60)
    assert list(cat.columns) == ["source_id", "origin", "name", "source_seed", "split"]
    assert cat["source_id"].tolist() == list(range(60))
    assert cat["source_seed"].dtype == np.int64 and (cat["source_seed"] >= 0).all()
    assert set(cat["split"]) == {"train", "val", "test"}
    pd.testing.assert_frame_equal(cat, _catalog(60))
    other = _catalog(60, seed=6)
    assert not np.array_equal(cat["source_seed"], other["source_seed"])


def test_catalog_interleaves_procedural_and_skimage():
    cat = _catalog(20)
    assert cat["origin"].tolist()[:4] == ["procedural", "skimage"] * 2
    assert cat["name"].tolist()[:4] == ["terraces", "camera", "fractal", "moon"]
    proc = cat[cat["origin"] == "procedural"]["name"].tolist()
    assert proc == [PROCEDURAL_KINDS[i % 7] for i in range(10)]


def test_catalog_adding_sources_keeps_earlier_seeds():
    small, big = _catalog(40), _catalog(90)
    cols = ["source_id", "origin", "name", "source_seed"]
    pd.testing.assert_frame_equal(small[cols], big[cols].iloc[:40])
    assert np.array_equal(source_seeds(5, np.arange(40)), small["source_seed"])


def test_catalog_splits_respect_fractions_exactly_for_independent_sources():
    cat = _catalog(200, procedural_kinds=None, use_skimage=False)
    assert cat["split"].value_counts().to_dict() == {"train": 160, "val": 20, "test": 20}
    cat = _catalog(10, procedural_kinds=["fractal"], use_skimage=False,
                   split_fractions=(0.7, 0.2, 0.1))
    assert cat["split"].value_counts().to_dict() == {"train": 7, "val": 2, "test": 1}


def test_catalog_every_split_nonempty_for_three_sources():
    for kw in ({}, {"use_skimage": False}, {"procedural_kinds": []}):
        cat = _catalog(3, split_fractions=(0.98, 0.01, 0.01), **kw)
        assert sorted(cat["split"]) == ["test", "train", "val"]


def test_catalog_keeps_each_skimage_sample_in_one_split():
    cat = _catalog(1000)
    sk = cat[cat["origin"] == "skimage"]
    assert (sk.groupby("name")["split"].nunique() == 1).all()
    assert set(sk["split"]) == {"train", "val", "test"}
    counts = cat["split"].value_counts()
    assert counts["train"] == 800 and counts["val"] == 100 and counts["test"] == 100


def test_catalog_rejects_bad_arguments():
    with pytest.raises(ValueError, match="split_fractions"):
        _catalog(10, split_fractions=(0.5, 0.2, 0.2))
    with pytest.raises(ValueError, match="n_sources"):
        _catalog(2)
    with pytest.raises(ValueError, match="procedural_kinds.*allowed"):
        _catalog(10, procedural_kinds=["nebula"])
    with pytest.raises(ValueError, match="no clean source"):
        _catalog(10, procedural_kinds=[], use_skimage=False)


def test_catalog_user_files_first_then_generated(user_dir):
    cat = _catalog(8, user_dir=str(user_dir))
    assert cat["origin"].tolist()[:6] == ["user"] * 6
    assert cat["origin"].tolist()[6:] == ["procedural", "skimage"]
    assert cat["name"].iloc[0].endswith("a16.tif")


def test_catalog_user_only_caps_or_subsets(user_dir):
    with pytest.warns(UserWarning, match="using the images only"):
        cat = _catalog(8, user_dir=user_dir, procedural_kinds=[], use_skimage=False)
    assert len(cat) == 6 and set(cat["origin"]) == {"user"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sub = _catalog(3, user_dir=user_dir)
    assert len(sub) == 3 and set(sub["origin"]) == {"user"}
    assert sub["name"].tolist() == sorted(sub["name"].tolist(), key=lambda s: s.lower())


def test_catalog_missing_user_dir_raises_source_error(tmp_path):
    with pytest.raises(SourceError, match="nowhere"):
        _catalog(10, user_dir=str(tmp_path / "nowhere"))


def test_render_source_is_deterministic_and_survives_parquet(tmp_path, user_dir):
    cat = _catalog(30, user_dir=str(user_dir))
    path = tmp_path / "cat.parquet"
    cat.to_parquet(path, index=False)
    back = pd.read_parquet(path)
    for i in (0, 5, 6, 7, 8, 9):
        a = render_source(cat.iloc[i].to_dict(), 48)
        _check_clean(a, 48)
        assert np.array_equal(a, render_source(back.iloc[i].to_dict(), 48))
    row = cat.iloc[6]
    expect = procedural_image(row["name"], 48, np.random.default_rng(int(row["source_seed"])))
    assert np.array_equal(render_source(row, 48), expect)
    with pytest.raises(ValueError, match="origin"):
        render_source({"origin": "web", "name": "x", "source_seed": 1, "source_id": 0}, 48)


def test_vendor_tiff_with_a_preview_page_is_a_source():
    """Olympus SIS writes a JPEG preview page before the data page: the data is used."""
    from pathlib import Path

    from simart.simulate.sources import load_user_image

    sis = (Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real-formats"
           / "olympus_SIS.tif")
    if not sis.is_file():
        pytest.skip(f"{sis} absent: the real instrument files live in ../shared beside the "
                    "checkout")
    img = load_user_image(sis, 48)
    assert img.shape == (48, 48) and img.min() == 0.0 and img.max() == 1.0
