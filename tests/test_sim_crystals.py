"""CIF reading (errors named, partial occupancies) and zone-axis projection geometry."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from simart.simulate.crystals import CIFError, list_cifs, load_crystals, project, read_cif
from simart.simulate.stem_lattice import SHIPPED_CIF_DIR
from simart.specs.stem_lattice import MATERIAL_INFO, SEED_SPLIT

GOOD = """data_test
_cell_length_a 5.0
_cell_length_b 5.0
_cell_length_c 4.0
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'P 1'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
Au1 Au 0.0 0.0 0.0 1.0
Si1 Si 0.5 0.5 0.5 1.0
"""


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_shipped_cifs_cover_the_paper_materials_and_read():
    names = {p.stem for p in list_cifs(SHIPPED_CIF_DIR)}
    for split in SEED_SPLIT.values():
        assert set(split) <= names
    assert set(MATERIAL_INFO) == names
    crystals = load_crystals(SHIPPED_CIF_DIR)
    assert crystals["Si"].cellpar[:3] == pytest.approx((5.431,) * 3)
    assert len(crystals["Si"].z) == 8  # diamond: 8 atoms in the conventional cell
    assert crystals["GaN"].formula == "Ga2N2"


def test_partial_occupancy_is_kept_per_species():
    algan = read_cif(SHIPPED_CIF_DIR / "AlGaN.cif")
    assert algan.partial
    assert algan.formula == "Al0.6Ga1.4N2"
    cell = project(algan, [0, 0, 1])
    n = 1.7
    metal = 0.7 * 31**n + 0.3 * 13**n
    # [0001]: two columns, each one metal site + one N per repeat
    assert cell.n_columns == 2
    np.testing.assert_allclose(cell.column_weights(n), [metal + 7**n] * 2, rtol=1e-12)
    nacn = read_cif(SHIPPED_CIF_DIR / "NaCN.cif")
    assert nacn.partial and nacn.formula == "C2N2Na4"


def test_space_group_expansion_from_a_symmetric_cif(tmp_path):
    text = GOOD.replace("'P 1'", "'F m -3 m'").replace(
        "Au1 Au 0.0 0.0 0.0 1.0\nSi1 Si 0.5 0.5 0.5 1.0\n", "Na1 Na 0 0 0 1\nCl1 Cl 0.5 0.5 0.5 1\n")
    text = text.replace("_cell_length_b 5.0", "_cell_length_b 5.64").replace(
        "_cell_length_a 5.0", "_cell_length_a 5.64").replace("_cell_length_c 4.0",
                                                             "_cell_length_c 5.64(2)")
    c = read_cif(_write(tmp_path, "NaCl.cif", text))
    assert sorted(c.z.tolist()) == [11] * 4 + [17] * 4  # rock salt: 4 + 4
    assert c.cell[2, 2] == pytest.approx(0.564)  # uncertainty '(2)' stripped, nm


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("_cell_length_b 5.0\n", ""), "missing cell parameter(s) _cell_length_b"),
    (lambda t: t.replace("Si1 Si 0.5 0.5", "Si1 Si 0.5 abc"), "_atom_site_fract_y (row 2)"),
    (lambda t: t.replace("Si1 Si 0.5", "Qq1 Qq 0.5"), "unknown element 'Qq'"),
    (lambda t: t.replace("Si1 Si 0.5 0.5 0.5 1.0", "Si1 Si 0.0 0.0 0.0 0.5"),
     "total occupancy 1.500 > 1"),
    (lambda t: t.replace("Si1 Si 0.5 0.5 0.5 1.0", "Si1 Si 0.5 0.5 0.5 1.7"), "must be in (0, 1]"),
    (lambda t: t.replace("_cell_angle_gamma 90", "_cell_angle_gamma 200"), "_cell_angle_gamma"),
    (lambda t: t.split("loop_")[0], "no atom-site loop"),
    (lambda t: "this is not a CIF\n", "no data block"),
    (lambda t: t + "'unterminated\n", "cannot be parsed as CIF"),
])
def test_malformed_cif_names_file_and_problem(tmp_path, edit, message):
    path = _write(tmp_path, "bad.cif", edit(GOOD))
    with pytest.raises(CIFError) as err:
        read_cif(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_bad_cif_stops_or_is_skipped_with_a_warning(tmp_path):
    _write(tmp_path, "good.cif", GOOD)
    bad = _write(tmp_path, "broken.cif", GOOD.replace("_cell_length_a 5.0\n", ""))
    with pytest.raises(CIFError, match="broken.cif"):
        load_crystals(tmp_path)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        got = load_crystals(tmp_path, on_error="skip")
    assert list(got) == ["good"]
    assert any(str(bad) in str(w.message) for w in rec)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CIFError, match="contains no"):
        list_cifs(empty)


@pytest.mark.parametrize("material, axes", [
    ("Si", [[1, 1, 0], [0, 0, 1], [1, 1, 1], [2, 1, 1]]),
    ("GaN", [[1, 1, 0], [1, -1, 0], [0, 0, 1]]),
    ("BaTiO3", [[0, 0, 1], [1, 1, 0]]),
])
def test_projected_cell_area_times_repeat_is_the_cell_volume(material, axes):
    c = read_cif(SHIPPED_CIF_DIR / f"{material}.cif")
    vol = abs(np.linalg.det(c.cell))
    for ax in axes:
        p = project(c, ax)
        area = abs(np.linalg.det(p.basis))
        assert area * p.repeat_nm == pytest.approx(vol, rel=1e-9)
        # every atom of the cell is in exactly one column; occupancies add up
        assert p.column_atoms().sum() == pytest.approx(c.occ.sum())


def test_silicon_110_dumbbells_and_cell():
    p = project(read_cif(SHIPPED_CIF_DIR / "Si.cif"), [1, 1, 0])
    a = 0.5431
    assert sorted([np.linalg.norm(p.a1), np.linalg.norm(p.a2)]) == pytest.approx(
        [a / math.sqrt(2), a], rel=1e-9)
    xy = p.column_xy()
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    d = d[d > 1e-9]
    assert d.min() == pytest.approx(a / 4, rel=1e-6)  # the 0.136 nm dumbbell
    assert p.repeat_nm == pytest.approx(a * math.sqrt(2), rel=1e-9)
