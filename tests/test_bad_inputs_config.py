"""Bad inputs refused before any job, each with a message naming the key, value or file.

Every test marked ``bad_input`` feeds ONE bad input (tests/conftest.py counts them):

* config keys, types and ranges of every section (``simart.config.validate_config``),
  including the physical parameters of the three physics datasets, whose bounds tables
  (low, high, unit) live next to their default distributions;
* malformed or degenerate CIF files of ``stem_lattice.cif_dir`` (``read_cif`` /
  ``resolve_materials``, which the workflow runs before any job);
* user image folders of ``sources.user_dir`` and ``lm.user_dir`` (folder listing, as the
  workflow does before any job; each file as the catalog job reads it before any shard);
* YAML syntax errors in a config file (``simart.config.load_yaml``, which the Snakefile
  runs on ``config.yaml``).

Three go through ``snakemake -n`` in a temporary directory to show that the whole command
stops before any job, non-zero, with the named message and no ``results/`` left. Inputs
the project accepts on purpose (a 16-bit TIFF, a stack, an image with a few NaN pixels, a
slightly oblique cell) are tested to be handled correctly and are not counted.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
import yaml
from badinput import assert_names, assert_nothing_left
from PIL import Image

from simart.config import ConfigError, load_yaml, validate_config
from simart.simulate.crystals import CIFError, load_crystals, read_cif
from simart.simulate.sources import (
    SourceError,
    build_catalog,
    list_user_images,
    load_user_image,
    verify_user_sources,
)
from simart.simulate.stem_lattice import SHIPPED_CIF_DIR, resolve_materials

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
BASE = yaml.safe_load((ROOT / "config.yaml").read_text())
bad = pytest.mark.bad_input


def _with(path: str, value) -> dict:
    """config.yaml with ``value`` at the dotted ``path`` (intermediate dicts created)."""
    raw = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node = raw
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value
    return raw


def _refused(raw: dict) -> str:
    with pytest.raises(ConfigError) as err:
        validate_config(raw)
    return str(err.value)


# --------------------------------------------------------------------------- config values

# (dotted key, bad value, what the message must name besides the key)
CONFIG_CASES = [
    # top level
    ("seed", -1, ["-1"]),
    ("seed", "abc", ["abc"]),
    ("seed", True, ["True"]),
    ("image_size", 8, ["8", "greater than or equal to 16"]),
    ("image_size", 128.5, ["128.5"]),
    ("image_sise", 128, []),
    # sources
    ("sources.n_sources", 2, ["2"]),
    ("sources.split_fractions", [0.5, 0.2, 0.2], ["0.5", "summing to 1"]),
    ("sources.procedural_kinds", ["terraces", "nope"], ["nope", "allowed"]),
    ("sources.use_skimage", "maybe", ["maybe"]),
    ("sources.user_folder", "/data", []),
    # simart
    ("simart.modalities", ["AFM", "XRAY"], ["XRAY"]),
    ("simart.modalities", ["AFM", "AFM"], ["at most once"]),
    ("simart.images_per_modality.train", 0, ["0"]),
    ("simart.shard_size", 0, ["0", "greater than or equal to 1"]),
    ("simart.dtype", "float64", ["float64"]),
    ("simart.compression", "zip", ["zip"]),
    ("simart.param_preset", "paper", ["simart.param_preset", "paper", "calibrated", "pcsd"]),
    ("simart.calibration_images", 0, ["simart.calibration_images", "0"]),
    ("simart.params.TEM", {"amplitude_contrast": [0.1, 1.5]},
     ["simart.params.TEM.amplitude_contrast", "1.5", "fraction"]),
    ("simart.params.XRAY", {"pixel_size_nm": 1.0}, ["allowed"]),
    ("simart.params.TEM", {"defocus": [0.0, 1.0]}, ["simart.params.TEM.defocus", "defocus_nm"]),
    ("simart.params.AFM", {"tip_half_angle_deg": [10, 95]},
     ["simart.params.AFM.tip_half_angle_deg", "95", "1.0 to 89.0 deg"]),
    ("simart.params.STEM", {"pixel_size_nm": -0.1}, ["simart.params.STEM.pixel_size_nm", "-0.1",
                                                     "nm/px"]),
    ("simart.params.SEM", {"sigma_b_nm": [3.0, 1.0]}, ["simart.params.SEM.sigma_b_nm",
                                                       "low <= high"]),
    ("simart.params.AFM", {"tip_radius_nm": True}, ["simart.params", "AFM.tip_radius_nm"]),
    ("simart.noise", {"gaussian_sigma": -0.01}, ["simart.noise.gaussian_sigma", "-0.01",
                                                 "fraction of dynamic range"]),
    ("simart.noise", {"poisson_counts": 0.0}, ["simart.noise.poisson_counts", "0.0"]),
    ("simart.noise", {"shot": 1.0}, ["simart.noise.shot", "allowed"]),
    # evaluate
    ("evaluate.models", ["noisy", "magic"], ["magic"]),
    ("evaluate.datasets", ["stem_lattice"], ["must include simart"]),
    ("evaluate.metrics", ["psnr", "bogus"], ["bogus"]),
    ("evaluate.data_range", 0, ["0"]),
    ("evaluate.rl_iterations", 0, ["0"]),
    ("evaluate.variants", {"pcsd": {"model": "pcsd"}}, ["'pcsd'", "model's name"]),
    ("evaluate.variants", {"x": {"model": "wiener"}}, ["evaluate.variants.x.model", "wiener"]),
    ("evaluate.study_test_shards", 0, ["0"]),
    # train
    ("train.device", "gpu", ["gpu"]),
    ("train.threads", -1, ["-1"]),
    ("train.defaults.steps", 0, ["0"]),
    ("train.defaults.lr", 0, ["0", "greater than 0"]),
    ("train.defaults.lr", 5, ["5", "less than or equal to 1"]),
    ("train.defaults.batch_size", 0, ["0"]),
    ("train.defaults.patch_size", 4, ["4"]),
    ("train.defaults.optimizer", "sgd", ["sgd"]),
    ("train.defaults.betas", [1.5, 0.999], ["1.5", "[0, 1)"]),
    ("train.models.unet", {"steps": 0}, ["train.models.unet.steps", "0"]),
    ("train.models.unet", {"lr": -1.0}, ["train.models.unet.lr", "-1.0"]),
    ("train.models.magicnet", {"steps": 10}, ["magicnet"]),
    ("train.models.unet", {"hparams": {"bogus": 1}}, ["train.models.unet.hparams", "bogus"]),
    ("train.models.unet", {"hparams": {"width": 0}}, ["train.models.unet.hparams", "width"]),
    ("train.models.cyclegan.dataset_hparams",
     {"stm_cu111": {"deg_noise_line": -1}},
     ["train.models.cyclegan.dataset_hparams.stm_cu111", "deg_noise_line"]),
    # stats
    ("stats.reference_model", "unet_x", ["unet_x"]),
    ("stats.n_bootstrap", 10, ["10"]),
    ("stats.ci_level", 0.3, ["0.3"]),
    ("stats.pairs", "some", ["some"]),
    ("stats.metrics", ["psnr", "bogus"], ["bogus"]),
    # figures
    ("figures.dpi", 10, ["10"]),
    ("figures.formats", ["gif"], ["gif"]),
    ("figures.example_index", -1, ["-1"]),
    ("figures.fig1_models", ["magic"], ["magic"]),
    # stem_lattice
    ("stem_lattice.levels", [1, 6], ["6"]),
    ("stem_lattice.probe", "laser", ["laser"]),
    ("stem_lattice.on_bad_cif", "ignore", ["ignore"]),
    ("stem_lattice.zone_axes", [[0, 0, 0]], ["not all zero"]),
    ("stem_lattice.materials.train", [], ["at least 1"]),
    ("stem_lattice.split_fractions", [1.0, 0.0, 0.0], ["summing to 1"]),
    ("stem_lattice.images_per_level.test", 0, ["0"]),
    ("stem_lattice.params", {"vacancy_prob": [0.0, 2.0]},
     ["stem_lattice.params.vacancy_prob", "2.0", "0.0 to 1.0 probability per atom"]),
    ("stem_lattice.params", {"pixel_size_nm": -0.02},
     ["stem_lattice.params.pixel_size_nm", "-0.02", "nm/px"]),
    ("stem_lattice.params", {"thickness_nm": 0.0}, ["stem_lattice.params.thickness_nm", "nm"]),
    ("stem_lattice.params", {"bogus": 1.0}, ["stem_lattice.params.bogus", "allowed"]),
    # stm_cu111
    ("stm_cu111.domains", ["clean", "noisy"], ["noisy"]),
    ("stm_cu111.params.noisy", {"white_sigma": 0.1}, ["noisy"]),
    ("stm_cu111.params.blurry", {"bogus": 1.0}, ["stm_cu111.params.blurry.bogus", "allowed"]),
    ("stm_cu111.params.ldos", {"pixel_size_nm": [-0.1, 0.1]},
     ["stm_cu111.params.ldos.pixel_size_nm", "-0.1", "nm/px"]),
    ("stm_cu111.params.ldos", {"p_corral": 5}, ["stm_cu111.params.ldos.p_corral", "5",
                                                "0.0 to 1.0 probability"]),
    ("stm_cu111.params.ldos", {"p_corral": 0.6, "p_line": [0.1, 0.5]},
     ["stm_cu111.params.ldos.p_line", "p_corral + p_line"]),
    ("stm_cu111.params.ldos", {"n_scatterers": [0, 10]}, ["stm_cu111.params.ldos.n_scatterers"]),
    ("stm_cu111.params.ldos", {"bias_ev": -1.0}, ["stm_cu111.params.ldos.bias_ev", "eV"]),
    ("stm_cu111.params.ldos", {"corral_spacing_nm": 0.01},
     ["stm_cu111.params.ldos.corral_spacing_nm", "0.01", "nm"]),
    ("stm_cu111.params.ldos", {"eta_ev": 0.0}, ["stm_cu111.params.ldos.eta_ev", "eV"]),
    ("stm_cu111.params.blurry", {"white_sigma": -0.01},
     ["stm_cu111.params.blurry.white_sigma", "-0.01", "image units"]),
    ("stm_cu111.params.blurry", {"tip_sigma_nm": [-0.1, 0.2]},
     ["stm_cu111.params.blurry.tip_sigma_nm", "-0.1", "nm"]),
    ("stm_cu111.params.experimental", {"shot_counts": 0.0},
     ["stm_cu111.params.experimental.shot_counts", "counts"]),
    ("stm_cu111.params.experimental", {"tip_change_prob": 1.5},
     ["stm_cu111.params.experimental.tip_change_prob", "1.5"]),
    ("stm_cu111.params.experimental", {"interference_period_px": 0.0},
     ["stm_cu111.params.experimental.interference_period_px", "px"]),
    ("stm_cu111.params.experimental", {"ghost_weight": float("nan")},
     ["stm_cu111.params.experimental.ghost_weight", "nan"]),
    # lm
    ("lm.modes", ["widefield", "sted"], ["sted"]),
    ("lm.n_sources", 1, ["1"]),
    ("lm.split_fractions", [0.9, 0.9, 0.9], ["summing to 1"]),
    ("lm.procedural_kinds", ["nope"], ["nope"]),
    ("lm.params", {"wavelength_em_nm": 300.0},
     ["lm.params.wavelength_em_nm", "300.0", "wavelength_ex_nm", "longer"]),
    ("lm.params", {"wavelength_em_nm": [380.0, 550.0]},
     ["lm.params.wavelength_em_nm", "380.0", "above 400"]),
    ("lm.params", {"na": [1.2, 1.4]}, ["lm.params.na", "1.4", "refractive"]),
    ("lm.params", {"pinhole_um": 0.0}, ["lm.params.pinhole_um", "0.0"]),
    ("lm.params", {"photons": -5.0}, ["lm.params.photons", "-5.0"]),
    ("lm.params", {"background": [0.0, 20.0]}, ["lm.params.background", "20.0",
                                                 "fraction of full scale"]),
    ("lm.params", {"bogus": 1.0}, ["lm.params.bogus", "allowed"]),
]


@bad
@pytest.mark.parametrize("key, value, names", CONFIG_CASES,
                         ids=[f"{k}={v!r}"[:60] for k, v, _ in CONFIG_CASES])
def test_bad_config_value_is_refused_naming_key(key, value, names):
    msg = _refused(_with(key, value))
    # the key as the message must show it: ``key``, or the dotted key of the bad entry
    # listed in ``names`` (a value given as a dict of entries)
    section = key.split(".")[0]
    shown = [n for n in names if "." in n and n.split(".")[0] == section] or [key]
    assert_names(msg, *shown, *names)


def test_every_physics_parameter_has_bounds_with_units_and_the_defaults_are_inside():
    from simart.specs.lm import LM_PARAM_BOUNDS, LM_PARAM_SPECS
    from simart.specs.stem_lattice import PARAM_BOUNDS as SL_BOUNDS
    from simart.specs.stem_lattice import STEM_LATTICE_PARAM_SPECS
    from simart.specs.stm_cu111 import PARAM_BOUNDS as STM_BOUNDS
    from simart.specs.stm_cu111 import PARAM_GROUPS

    tables = [(STEM_LATTICE_PARAM_SPECS, SL_BOUNDS), (LM_PARAM_SPECS, LM_PARAM_BOUNDS),
              *((PARAM_GROUPS[g], STM_BOUNDS[g]) for g in PARAM_GROUPS)]
    for specs, bounds in tables:
        assert set(specs) == set(bounds)
        for key, (lo, hi, unit) in bounds.items():
            assert lo < hi and unit.strip(), key
            vals = specs[key] if isinstance(specs[key], list) else [specs[key]]
            assert all(lo <= v <= hi for v in vals), key
    validate_config(BASE)  # the embedded default passes


def test_dataset_range_message_has_the_documented_format():
    msg = _refused(_with("stm_cu111.params.blurry", {"white_sigma": -0.01}))
    assert re.search(r"config key 'stm_cu111\.params\.blurry\.white_sigma' = -0\.01 is out of "
                     r"range: allowed 0\.0 to 1\.0 image units", msg), msg


# --------------------------------------------------------------------------- CIF files

from test_sim_crystals import GOOD as GOOD_CIF  # one copy of the tiny CIF


def _angles(a: float, b: float, c: float):
    return lambda t: (t.replace("_cell_angle_alpha 90", f"_cell_angle_alpha {a}")
                      .replace("_cell_angle_beta 90", f"_cell_angle_beta {b}")
                      .replace("_cell_angle_gamma 90", f"_cell_angle_gamma {c}"))


def _fm3m_general(n_rows: int):
    """Fm-3m (192 ops) with n_rows atoms at general positions in a 30 A cell."""
    rows = "\n".join(f"Si{i} Si {0.013 + 0.011 * i:.4f} {0.031 + 0.007 * i:.4f} "
                     f"{0.047 + 0.005 * i:.4f} 1.0" for i in range(n_rows))
    return lambda t: (t.split("_symmetry_space")[0]
                      .replace("5.0", "30.0").replace("4.0", "30.0")
                      + "_symmetry_space_group_name_H-M 'F m -3 m'\nloop_\n_atom_site_label\n"
                        "_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n"
                        "_atom_site_fract_z\n_atom_site_occupancy\n" + rows + "\n")


CIF_CASES = {
    "zero_volume_all_120deg": (_angles(120, 120, 120), "cell volume"),
    "flattened_alpha_eq_beta_plus_gamma": (_angles(150, 90, 60), "zero volume"),
    "no_atom_rows": (lambda t: t.split("Au1")[0], "atom-site loop is empty"),
    "no_atom_loop": (lambda t: t.split("loop_")[0], "no atom-site loop"),
    "garbage_text": (lambda t: "this is not a CIF file\n\x00\x01binary", "no data block"),
    "empty_file": (lambda t: "", "no data block"),
    "unknown_element": (lambda t: t.replace("Au1 Au", "Xx1 Xx"), "unknown element 'Xx'"),
    "huge_cell_5000A": (lambda t: t.replace("_cell_length_a 5.0", "_cell_length_a 5000"),
                        "_cell_length_a"),
    "negative_cell_length": (lambda t: t.replace("_cell_length_b 5.0", "_cell_length_b -5"),
                             "_cell_length_b"),
    "cell_in_nm_not_angstrom": (lambda t: t.replace("5.0", "0.5").replace("4.0", "0.4"),
                                "not in Angstrom"),
    "too_dense": (lambda t: t.replace("5.0", "1.2").replace("4.0", "1.2"), "atom density"),
    "duplicated_atom_rows": (lambda t: t + "Au2 Au 0.0 0.0 0.0 1.0\n", "total occupancy"),
    "too_many_atoms_per_cell": (_fm3m_general(11), "atoms per cell"),
    "non_numeric_coordinate": (lambda t: t.replace("Si1 Si 0.5", "Si1 Si abc"), "not a number"),
}


@bad
@pytest.mark.parametrize("case", list(CIF_CASES))
def test_bad_cif_is_refused_naming_the_file_and_reason(tmp_path, case):
    edit, reason = CIF_CASES[case]
    path = tmp_path / f"{case}.cif"
    path.write_text(edit(GOOD_CIF))
    with pytest.raises(CIFError) as err:
        read_cif(path)
    assert_names(str(err.value), str(path), reason)


def _cif_folder(tmp_path: Path, bad_text: str | None = None) -> Path:
    folder = tmp_path / "cifs"
    folder.mkdir()
    for name in ("Si", "GaN", "MgO", "Al"):
        (folder / f"{name}.cif").write_text((SHIPPED_CIF_DIR / f"{name}.cif").read_text())
    if bad_text is not None:
        (folder / "Flat.cif").write_text(bad_text)
    return folder


def _sl_cfg(**stem):
    return validate_config({"image_size": 32, "stem_lattice": {
        "images_per_level": {"train": 2, "val": 1, "test": 1}, "shard_size": 2, **stem}})


@bad
def test_cif_folder_with_a_zero_volume_cell_stops_before_any_job(tmp_path):
    folder = _cif_folder(tmp_path, _angles(120, 120, 120)(GOOD_CIF))
    with pytest.raises(CIFError) as err:
        resolve_materials(_sl_cfg(cif_dir=str(folder), materials=None).stem_lattice)
    assert_names(str(err.value), str(folder / "Flat.cif"), "cell volume")


def test_on_bad_cif_skip_warns_and_leaves_the_degenerate_cell_out(tmp_path):
    folder = _cif_folder(tmp_path, _angles(120, 120, 120)(GOOD_CIF))
    cfg = _sl_cfg(cif_dir=str(folder), materials=None, on_bad_cif="skip")
    with pytest.warns(UserWarning, match="Flat.cif.*cell volume"):
        crystals, split = resolve_materials(cfg.stem_lattice)
    assert sorted(crystals) == ["Al", "GaN", "MgO", "Si"]
    assert sorted(n for v in split.values() for n in v) == sorted(crystals)


@bad
def test_too_many_atom_columns_per_image_names_the_file(tmp_path):
    """An image whose field holds more atom columns than memory allows (here: 8192 px at up
    to 1 nm/px of Al: ~3e9 columns) is refused before any job, naming the CIF."""
    cfg = _sl_cfg(image_size=8192, params={"pixel_size_nm": [0.5, 1.0]})
    with pytest.raises(CIFError) as err:
        resolve_materials(cfg.stem_lattice)
    assert_names(str(err.value), str(SHIPPED_CIF_DIR), "atom columns", "8192 px", "1 nm/px")
    cfg = _sl_cfg(image_size=8192, params={"pixel_size_nm": [0.5, 1.0]}, on_bad_cif="skip")
    with warnings.catch_warnings(), pytest.raises(CIFError, match="no readable CIF left"):
        warnings.simplefilter("ignore")
        resolve_materials(cfg.stem_lattice)


def test_shipped_cifs_fit_the_memory_cap_at_paper_scale_and_oblique_cells_still_read(tmp_path):
    from simart.simulate.stem_lattice import MAX_COLUMNS_PER_IMAGE, columns_per_image
    from simart.specs.stem_lattice import MATERIAL_INFO

    crystals = load_crystals(SHIPPED_CIF_DIR)
    for size in (512, 2048):
        worst = max(columns_per_image(c, MATERIAL_INFO[n]["zone_axes"], size, 0.04)[0]
                    for n, c in crystals.items())
        assert worst < MAX_COLUMNS_PER_IMAGE / 10
    cfg = _sl_cfg(image_size=512)
    assert sorted(resolve_materials(cfg.stem_lattice, 512)[0]) == sorted(MATERIAL_INFO)
    path = tmp_path / "oblique.cif"  # 119 deg x 3: 26 A^3, a legitimate (if odd) cell
    path.write_text(_angles(119, 119, 119)(GOOD_CIF))
    assert read_cif(path).cell.shape == (3, 3)


# --------------------------------------------------------------------------- user images


def _png(path: Path, arr: np.ndarray) -> Path:
    Image.fromarray(arr).save(path)
    return path


def _ramp(h: int = 40, w: int = 40) -> np.ndarray:
    return np.add.outer(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64))


def _folder_with(tmp_path: Path, name: str, write) -> tuple[Path, Path]:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        _png(folder / f"ok{i}.png", (np.random.default_rng(i).random((40, 40)) * 255)
             .astype(np.uint8))
    bad_file = folder / name
    write(bad_file)
    return folder, bad_file


USER_FILE_CASES = {
    "corrupt_png": ("broken.png", lambda p: p.write_bytes(b"this is not a PNG file"),
                    "cannot read"),
    "truncated_tiff": ("cut.tif", lambda p: (tifffile.imwrite(p, _ramp(64, 64).astype(
        np.float32)), p.write_bytes(p.read_bytes()[:200])), "cannot read"),
    "corrupt_mrc": ("broken.mrc", lambda p: p.write_bytes(b"\x00" * 100), "cannot read"),
    "one_pixel": ("dot.png", lambda p: _png(p, np.array([[7]], np.uint8)), "1 x 1 px"),
    "too_small_8px": ("tiny.png", lambda p: _png(p, (_ramp(8, 8) * 10).astype(np.uint8)),
                      "8 x 8 px"),
    "all_nan": ("nan.tif", lambda p: tifffile.imwrite(p, np.full((32, 32), np.nan, np.float32)),
                "no finite pixel"),
    "constant": ("flat.tif", lambda p: tifffile.imwrite(p, np.full((32, 32), 7, np.uint16)),
                 "constant"),
    "constant_after_centre_crop": ("bar.png", lambda p: _png(p, np.concatenate(
        [_ramp(40, 40).astype(np.uint8), np.zeros((40, 40), np.uint8),
         _ramp(40, 40).astype(np.uint8)], axis=1)), "constant after the centre crop"),
}


@bad
@pytest.mark.parametrize("origin", ["sources", "lm"])
@pytest.mark.parametrize("case", list(USER_FILE_CASES))
def test_bad_user_image_is_refused_naming_the_file(tmp_path, case, origin):
    """The catalog job reads every user file before any shard (verify_user_sources)."""
    name, write, reason = USER_FILE_CASES[case]
    folder, bad_file = _folder_with(tmp_path, name, write)
    if origin == "lm":
        from simart.simulate.lm_dataset import lm_catalog

        cfg = validate_config({"lm": {"user_dir": str(folder), "n_sources": 8}})
        catalog, size = lm_catalog(cfg), cfg.lm.image_size or cfg.image_size
    else:
        catalog, size = build_catalog(8, 3, user_dir=folder), 32
    with pytest.raises(SourceError) as err:
        verify_user_sources(catalog, size)
    assert_names(str(err.value), str(bad_file), reason)


@bad
@pytest.mark.parametrize("case", ["missing", "empty", "not_a_folder", "only_other_files"])
def test_bad_user_folder_is_refused_naming_the_folder(tmp_path, case):
    folder = tmp_path / "imgs"
    if case == "empty":
        folder.mkdir()
    elif case == "not_a_folder":
        folder.write_bytes(b"x")
    elif case == "only_other_files":
        folder.mkdir()
        (folder / "notes.txt").write_text("no images")
        (folder / ".hidden.png").write_bytes(b"")
    with pytest.raises(SourceError) as err:
        list_user_images(folder)
    assert_names(str(err.value), str(folder))


@bad
def test_user_folder_too_few_images_as_only_source_names_the_folder(tmp_path):
    folder = tmp_path / "two"
    folder.mkdir()
    for i in range(2):
        _png(folder / f"{i}.png", (np.random.default_rng(i).random((40, 40)) * 255)
             .astype(np.uint8))
    with pytest.warns(UserWarning), pytest.raises(SourceError) as err:
        build_catalog(10, 1, procedural_kinds=[], use_skimage=False, user_dir=folder)
    assert_names(str(err.value), str(folder), "at least 3")


def test_accepted_user_images_are_handled_correctly(tmp_path):
    """Accepted on purpose (not bad inputs): 16-bit TIFF (full 16-bit range used), a stack
    (its first plane), a float image with a few NaN pixels (masked points of SPM exports:
    set to the finite minimum)."""
    ramp = _ramp(48, 48)
    t16 = tmp_path / "a16.tif"
    tifffile.imwrite(t16, (ramp / ramp.max() * 65535).astype(np.uint16))
    out = load_user_image(t16, 48)
    expect = (ramp - ramp.min()) / np.ptp(ramp)
    assert np.abs(out - expect).max() < 1e-4  # 8-bit quantisation would give ~2e-3
    stack = tmp_path / "stack.tif"
    frames = np.stack([ramp, ramp[::-1], np.zeros_like(ramp), ramp.T]).astype(np.float32)
    tifffile.imwrite(stack, frames, photometric="minisblack")
    np.testing.assert_allclose(load_user_image(stack, 48), expect, atol=1e-6)
    holes = ramp.astype(np.float32)
    holes[5, 7] = holes[30, 2] = np.nan
    nan_path = tmp_path / "holes.tif"
    tifffile.imwrite(nan_path, holes)
    got = load_user_image(nan_path, 48)
    assert np.isfinite(got).all() and got.min() == 0.0 and got.max() == 1.0
    assert got[5, 7] == got[30, 2] == 0.0


# --------------------------------------------------------------------------- YAML files

YAML_CASES = {
    "unclosed_bracket": ("seed: 1\nimage_size: [128\nsources:\n  n_sources: 4\n", ":3:8:",
                         "started at line 2"),
    "tab_indent": ("seed: 1\nsimart:\n  shard_size: 4\n\tdtype: float32\n", ":4:1:", "'\\t'"),
    "unterminated_quote": ('seed: 1\nsources:\n  user_dir: "/data\n', ":4:1:",
                           "quoted scalar started at line 3"),
    "mapping_in_scalar": ("seed: 1\nimage_size: 128: 256\n", ":2:16:", "mapping values"),
    "duplicated_key": ("seed: 1\nsimart:\n  shard_size: 4\nseed: 2\n", ":4:1:",
                       "duplicated key 'seed' (first at line 1)"),
    "top_level_list": ("- seed\n- 1\n", ":1:1:", "mapping of config keys"),
    "empty_file": ("", ":1:1:", "is empty"),
}


@bad
@pytest.mark.parametrize("case", list(YAML_CASES))
def test_yaml_error_names_file_and_line(tmp_path, case):
    text, line, what = YAML_CASES[case]
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_yaml(path)
    assert_names(str(err.value), f"{path}{line}", what)


def test_shipped_configs_load_with_the_checked_loader():
    for name in ("config.yaml", "configs/paper.yaml"):
        assert load_yaml(ROOT / name) == yaml.safe_load((ROOT / name).read_text())


# --------------------------------------------------------------------------- whole command


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [SNAKEMAKE, "-n", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--cores", "1", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir,
                           check=False, timeout=300)


def _stops_before_any_job(proc: subprocess.CompletedProcess, workdir: Path, *names: str):
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "SIMART config error" in out, out[-3000:]
    assert_names(out, *names)
    assert "Job stats" not in out  # no DAG was built
    assert_nothing_left([workdir / "results"])


@bad
def test_snakemake_stops_on_an_out_of_range_stm_parameter(tmp_path):
    (tmp_path / "config.yaml").write_text("stm_cu111:\n  params:\n    ldos: {p_corral: 5}\n")
    _stops_before_any_job(_snakemake(tmp_path), tmp_path, "stm_cu111.params.ldos.p_corral",
                          "= 5", "allowed 0.0 to 1.0 probability")


@bad
def test_snakemake_stops_on_a_zero_volume_cif(tmp_path):
    folder = _cif_folder(tmp_path, _angles(120, 120, 120)(GOOD_CIF))
    (tmp_path / "config.yaml").write_text(
        f"stem_lattice:\n  cif_dir: {folder}\n  materials: null\n")
    _stops_before_any_job(_snakemake(tmp_path), tmp_path, str(folder / "Flat.cif"),
                          "cell volume")


@bad
def test_snakemake_stops_on_a_yaml_syntax_error_naming_file_and_line(tmp_path):
    (tmp_path / "config.yaml").write_text("seed: 1\nsimart: {shard_size: 4\n")
    _stops_before_any_job(_snakemake(tmp_path), tmp_path,
                          f"{tmp_path / 'config.yaml'}:3:1:", "flow mapping started at line 2")


def test_snakemake_own_configfile_loader_does_not_name_the_line(tmp_path):
    """--configfile files are read by Snakemake's command line before the Snakefile runs;
    Snakemake 9.27.1 then says only "Config file is not valid JSON or YAML" (its --verbose
    traceback shows file and line). If this starts to fail, Snakemake names the file now:
    make the test assert that instead."""
    (tmp_path / "config.yaml").write_text("seed: 1\n")
    bad_file = tmp_path / "extra.yaml"
    bad_file.write_text("image_size: [64\n")
    proc = _snakemake(tmp_path, "--configfile", str(bad_file))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "not valid JSON or YAML" in out
