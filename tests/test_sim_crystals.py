"""CIF reading (errors named, partial occupancies, symmetry, conventional cell; the same atoms
as pymatgen's and ASE's own readers) and zone-axis projection geometry."""

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
    (lambda t: t.replace("'P 1'", "'Q 9 z'"), "cannot interpret the space group"),
    (lambda t: t.replace("_symmetry_space_group_name_H-M 'P 1'\n",
                         "loop_\n_space_group_symop_operation_xyz\n'x, y, q'\n"),
     "symmetry operation 1 'x, y, q' cannot be read"),
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
    from pymatgen.core import Lattice

    c = read_cif(SHIPPED_CIF_DIR / f"{material}.cif")
    vol = abs(np.linalg.det(c.cell))
    for ax in axes:
        p = project(c, ax)
        area = abs(np.linalg.det(p.basis))
        assert area * p.repeat_nm == pytest.approx(vol, rel=1e-9)
        # the beam direction u a + v b + w c is pymatgen's Cartesian [uvw] of the cell
        t = Lattice(c.cell).get_cartesian_coords(np.asarray(ax, dtype=float))
        assert p.repeat_nm == pytest.approx(float(np.linalg.norm(t)), rel=1e-12)
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


# --------------------------------------------------------------------------- readers agree


def _site_set(frac, species) -> list:
    """Sorted ((x, y, z) wrapped into [0, 1) and rounded to 1e-6, ((element, occ), ...))."""
    out = []
    for f, sp in zip(frac, species, strict=True):
        xyz = tuple(float(v) for v in np.round(np.mod(np.asarray(f, float), 1.0), 6) % 1.0)
        out.append((xyz, tuple(sorted((str(k), round(float(v), 6)) for k, v in sp.items()))))
    return sorted(out)


def _ours(crystal) -> list:
    from ase.data import chemical_symbols

    sites: dict = {}
    for f, z, o in zip(crystal.frac, crystal.z, crystal.occ, strict=True):
        key = tuple(float(v) for v in np.round(np.mod(f, 1.0), 6) % 1.0)
        sites.setdefault(key, {})[chemical_symbols[int(z)]] = float(o)
    return _site_set(list(sites), list(sites.values()))


def _pymatgen(path) -> list:
    from pymatgen.io.cif import CifParser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st = CifParser(path).parse_structures(primitive=False)[0]
    return _site_set([s.frac_coords for s in st],
                     [{el.symbol: amt for el, amt in s.species.items()} for s in st])


def _ase(path) -> list:
    import ase.io

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        atoms = ase.io.read(path, format="cif")
    occ = atoms.info.get("occupancy")
    kinds = atoms.arrays.get("spacegroup_kinds", np.zeros(len(atoms), dtype=int))
    species = [occ[str(k)] if occ else {s: 1.0}
               for k, s in zip(kinds, atoms.get_chemical_symbols(), strict=True)]
    return _site_set(atoms.get_scaled_positions(wrap=True), species)


@pytest.mark.parametrize("material", sorted(MATERIAL_INFO))
def test_every_shipped_cif_has_the_same_atoms_in_pymatgen_ase_and_read_cif(material):
    """Species (with occupancies) and fractional positions, up to order and wrapping."""
    path = SHIPPED_CIF_DIR / f"{material}.cif"
    reference = _pymatgen(path)
    assert reference == _ase(path)
    c = read_cif(path)
    assert _ours(c) == reference
    assert c.meta["cell"] == "cif"  # orthogonal / hexagonal axes: the file's own cell


# README of the shipped CIFs; BaTiO3's ideal positions (ferroelectric shifts left out) have
# the centrosymmetric P4/mmm, not the P4mm of the real tetragonal phase.
SHIPPED_SPACE_GROUPS = {
    "Si": "Fd-3m", "GaN": "P6_3mc", "AlGaN": "P6_3mc", "InN": "P6_3mc", "SrTiO3": "Pm-3m",
    "graphene": "P6/mmm", "ZrO2": "Fm-3m", "NaCN": "Fm-3m", "GaAs": "F-43m", "MgO": "Fm-3m",
    "BaTiO3": "P4/mmm", "Al": "Fm-3m", "ZnMgTe": "F-43m",
}


def test_space_groups_of_the_shipped_cifs_are_those_of_their_structure_types():
    assert set(SHIPPED_SPACE_GROUPS) == set(MATERIAL_INFO)
    crystals = load_crystals(SHIPPED_CIF_DIR)
    assert {n: c.space_group[0] for n, c in crystals.items()} == SHIPPED_SPACE_GROUPS


def _cif(cellpar, symmetry: str, rows: str) -> str:
    names = ("length_a", "length_b", "length_c", "angle_alpha", "angle_beta", "angle_gamma")
    cell = "".join(f"_cell_{k} {v}\n" for k, v in zip(names, cellpar, strict=True))
    return (f"data_x\n{cell}{symmetry}\nloop_\n_atom_site_label\n_atom_site_type_symbol\n"
            "_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
            f"_atom_site_occupancy\n{rows}\n")


_WURTZITE_OPS = ["x,y,z", "-y,x-y,z", "-x+y,-x,z", "-x,-y,z+1/2", "y,-x+y,z+1/2",
                 "x-y,x,z+1/2", "-y,-x,z", "-x+y,y,z", "x,x-y,z", "y,x,z+1/2",
                 "x-y,-y,z+1/2", "-x,-x+y,z+1/2"]
_GAN_ROWS = "Ga1 Ga 0.333333 0.666667 0 1\nN1 N 0.333333 0.666667 0.377 1"
_SI_CUBIC = (5.431, 5.431, 5.431, 90, 90, 90)


@pytest.mark.parametrize("cellpar, symmetry, rows, n_atoms, group", [
    # operations only, no symbol: wurtzite GaN
    ((3.189, 3.189, 5.185, 90, 90, 120),
     "loop_\n_space_group_symop_operation_xyz\n" + "\n".join(f"'{o}'" for o in _WURTZITE_OPS),
     _GAN_ROWS, 4, "P6_3mc"),
    # CIF2 / mmCIF spelling of the operation tag
    ((3.189, 3.189, 5.185, 90, 90, 120),
     "loop_\n_space_group_symop.operation_xyz\n" + "\n".join(f"'{o}'" for o in _WURTZITE_OPS),
     _GAN_ROWS, 4, "P6_3mc"),
    (_SI_CUBIC, "_SYMMETRY_SPACE_GROUP_NAME_H-M 'F d -3 m'", "Si1 Si 0 0 0 1", 8, "Fd-3m"),
    (_SI_CUBIC, "_space_group_IT_number 227", "Si1 Si 0 0 0 1", 8, "Fd-3m"),
    # full Hermann-Mauguin symbol of a monoclinic group (baddeleyite ZrO2: 3 general sites)
    ((5.1505, 5.2116, 5.3173, 90, 99.23, 90), "_symmetry_space_group_name_H-M 'P 1 21/c 1'",
     ("Zr1 Zr 0.2754 0.0395 0.2083 1\nO1 O 0.0700 0.3317 0.3447 1\n"
      "O2 O 0.4496 0.7569 0.4792 1"), 12, "P2_1/c"),
])
def test_symmetry_from_operations_symbols_and_numbers(tmp_path, cellpar, symmetry, rows,
                                                       n_atoms, group):
    path = tmp_path / "sym.cif"
    path.write_text(_cif(cellpar, symmetry, rows))
    c = read_cif(path)
    assert len(c.z) == n_atoms
    assert c.space_group[0] == group
    assert c.meta["cell"] == "cif"  # a conventional cell (monoclinic too) is kept as given


def test_atom_order_does_not_depend_on_the_order_of_the_operations(tmp_path):
    cellpar = (3.189, 3.189, 5.185, 90, 90, 120)
    for name, ops in (("fwd", _WURTZITE_OPS), ("rev", _WURTZITE_OPS[::-1])):
        loop = "loop_\n_space_group_symop_operation_xyz\n" + "\n".join(f"'{o}'" for o in ops)
        (tmp_path / f"{name}.cif").write_text(_cif(cellpar, loop, _GAN_ROWS))
    a, b = read_cif(tmp_path / "fwd.cif"), read_cif(tmp_path / "rev.cif")
    np.testing.assert_array_equal(a.z, b.z)
    np.testing.assert_allclose(a.frac, b.frac, atol=1e-6)


def test_cartesian_positions_read_like_fractional_ones(tmp_path):
    cart = GOOD.replace("_atom_site_fract_", "_atom_site_Cartn_").replace(
        "Si1 Si 0.5 0.5 0.5", "Si1 Si 2.5 2.5 2.0")
    a = read_cif(_write(tmp_path, "frac.cif", GOOD))
    b = read_cif(_write(tmp_path, "cart.cif", cart))
    np.testing.assert_allclose(b.frac, a.frac, atol=1e-12)


def test_a_primitive_cell_is_read_in_the_conventional_cell(tmp_path):
    """Si as a 2-atom 60 deg fcc cell (as Materials Project's primitive files give it) reads
    as the 8-atom cube, so its [110] projection is that of the shipped conventional Si.cif;
    a rhombohedral cell (Bi2Se3, R-3m) reads in hexagonal axes."""
    a = 5.431
    prim = _cif((a / math.sqrt(2),) * 3 + (60, 60, 60), "_symmetry_space_group_name_H-M 'P 1'",
                "Si1 Si 0 0 0 1\nSi2 Si 0.25 0.25 0.25 1")
    c = read_cif(_write(tmp_path, "Si_prim.cif", prim))
    assert c.meta["cell"] == "conventional" and c.meta["space_group"] == "Fd-3m"
    assert c.cellpar == pytest.approx((a, a, a, 90, 90, 90), rel=1e-9)
    assert len(c.z) == 8
    shipped = project(read_cif(SHIPPED_CIF_DIR / "Si.cif"), [1, 1, 0])
    p = project(c, [1, 1, 0])
    assert sorted(np.linalg.norm(p.basis, axis=1)) == pytest.approx(
        sorted(np.linalg.norm(shipped.basis, axis=1)), rel=1e-9)
    assert p.repeat_nm == pytest.approx(shipped.repeat_nm, rel=1e-9)
    np.testing.assert_allclose(np.sort(p.column_weights(1.7)),
                               np.sort(shipped.column_weights(1.7)), rtol=1e-12)
    xy = p.column_xy()
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    assert d[d > 1e-9].min() == pytest.approx(a / 40, rel=1e-6)  # the 0.136 nm dumbbell

    ah, ch = 4.143, 28.636  # Bi2Se3, hexagonal axes
    ar = math.sqrt(ah**2 / 3 + ch**2 / 9)
    alpha = math.degrees(math.acos((2 * ch**2 - 3 * ah**2) / (2 * ch**2 + 6 * ah**2)))
    rows = "\n".join(f"{e}{i} {e} {x} {x} {x} 1" for i, (e, x) in enumerate(
        [("Bi", 0.4008), ("Bi", 0.5992), ("Se", 0.0), ("Se", 0.2117), ("Se", 0.7883)]))
    c = read_cif(_write(tmp_path, "Bi2Se3.cif", _cif((ar,) * 3 + (alpha,) * 3,
                                                     "_space_group_IT_number 1", rows)))
    assert c.meta["cell"] == "conventional" and c.meta["space_group"] == "R-3m"
    assert c.cellpar == pytest.approx((ah, ah, ch, 90, 90, 120), rel=1e-6)
    assert c.formula == "Bi6Se9"
