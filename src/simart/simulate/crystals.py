"""Crystals from CIF files: reading (pymatgen), partial occupancies, conventional cell,
zone-axis projection.

Reading (:func:`read_cif`), with pymatgen (imported on first use, not with this module):

* ``CifParser`` tokenises the file (coordinates kept as written: ``frac_tolerance=0``) and
  gives the data block; tags are matched case-insensitively, ``.`` read as ``_`` (the
  CIF2 / mmCIF spelling). The asymmetric unit (element, fractional or Cartesian position,
  occupancy) is taken from the ``_atom_site_*`` loop and checked here, value by value.
* Symmetry operations: ``_space_group_symop_operation_xyz`` / ``_symmetry_equiv_pos_as_xyz``
  when listed (pymatgen's ``SymmOp.from_xyz_str``, each checked to be a rotation with
  determinant +-1), else ``CifParser.get_symops`` from the Hermann-Mauguin symbol
  (including the non-standard settings of its COD table) or the IT number, else P1 (a
  symbol or number pymatgen does not know is an error, not P1). Building a group from its
  symbol takes pymatgen ~0.5 s for a cubic group (kept per process); files that list their
  operations (the shipped ones; ICSD, COD, Materials Project, ASE, VESTA files) skip it.
  Each asymmetric row is expanded on its own (its orbit: images closer than 1e-3 of the
  cell merged, as ASE's ``Spacegroup.equivalent_sites`` does, then sorted by x, y, z so
  that the order of the operations does not matter), rows in the CIF's order, so that
  species sharing a site (partial occupancies, e.g. Ga 0.7 / Al 0.3 in AlGaN) are all kept,
  each with its occupancy.
  ``CifParser.parse_structures`` is not what builds the atoms: it ignores Cartesian
  coordinates, sorts the sites by species (the atom order fixes the order of the projected
  columns, hence which column each random defect draw of :mod:`stem_lattice` hits, so
  sorting would change the images of the shipped CIFs), rescales over-full sites instead of
  refusing them and skips rows it cannot read. ``tests/test_sim_crystals.py`` checks that
  the atoms read here are those of ``parse_structures`` and of ASE for every shipped CIF.
* Conventional cell: when the CIF's cell is smaller than the conventional cell of its
  space group, i.e. a primitive cell of a centred lattice (a 60 deg fcc cell, a 109.5 deg
  bcc cell, a rhombohedral cell, as Materials Project's primitive files give them), the
  crystal is ``SpacegroupAnalyzer(...).get_conventional_standard_structure()`` (positions
  symmetrised within :data:`SYMPREC_A`), because zone axes ``[uvw]`` are quoted in the
  conventional cell. Otherwise the CIF's own cell, origin and atom order are kept: the
  axes of a file keep the meaning its author gave them, in non-standard settings too
  (P2_1/n, Pbnm). A cell with orthogonal axes or hexagonal axes (90/90/120 deg) is taken
  as given without the analysis (spglib needs ~8 ms per cubic cell and the Snakemake
  planning reads every configured CIF); all shipped cells have such axes and read exactly
  as with the former ASE reader. A rhombohedral crystal given in its one-formula-unit
  pseudo-cubic cell (angles near, not at, 90 deg) is converted to hexagonal axes.
  ``Crystal.meta["cell"]`` says which cell was used; :attr:`Crystal.space_group` gives
  the analysis of any crystal on demand.

Every problem raises :class:`CIFError` naming the file and what is wrong (missing cell
or atom loop, a non-numeric or out-of-range value, an unknown element, a site whose
occupancies add up to more than 1, an unreadable space group or symmetry operation).

ASE is no longer imported here. It writes the shipped files (``cif/write_cifs.py``:
``ase.spacegroup.crystal`` + ``ase.io.write``) and is the second, independent reader of
the tests. The planning reads CIFs in every Snakemake start: importing ``ase.io.cif``
(``ase.io`` loads all of ASE's formats) besides pymatgen would add its ~0.3 s there.

Projection (:func:`project`). For a zone axis ``[uvw]`` (a direct-lattice direction of the
crystal's cell, ``t = u a + v b + w c``: ``uvw @ cell``, what pymatgen's
``Lattice.get_cartesian_coords(uvw)`` gives; kept in numpy as :func:`project` runs in
every render job), two integer lattice vectors ``b1, b2`` complete ``t`` to a unimodular
basis, so the crystal is periodic along the beam with repeat ``|t|`` and its projection is
a 2D crystal with cell ``P(b1), P(b2)`` (the components perpendicular to ``t``;
Gauss-reduced). Atoms whose projections coincide (within ``tol_nm``) form one column; a
column keeps its atoms' (Z, occupancy) per repeat, so its HAADF weight per repeat is
``sum occ * Z^n`` for any exponent ``n``.

Lengths: CIF cells are in Angstrom; everything returned here is in nm.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

__all__ = [
    "CIFError", "Crystal", "ProjectedCell", "list_cifs", "load_crystals", "project", "read_cif",
]

_CELL_TAGS = ("_cell_length_a", "_cell_length_b", "_cell_length_c",
              "_cell_angle_alpha", "_cell_angle_beta", "_cell_angle_gamma")
_MISSING = ("?", ".")
_OCC_TOL = 0.02  # total occupancy of one site may exceed 1 by this much (rounding in CIFs)
_SITE_TOL = 1e-3  # fractional distance under which two positions are one site
_ANGLE_TOL_DEG = 1e-3  # a cell angle this close to 90 / 120 deg counts as 90 / 120
# Symmetry analysis (spglib via pymatgen's SpacegroupAnalyzer): pymatgen's default distance
# tolerance; a CIF's 4-decimal coordinates are within ~0.002 A of the ideal positions.
SYMPREC_A = 0.01
_SYMOP_TAGS = ("_space_group_symop_operation_xyz", "_symmetry_equiv_pos_as_xyz")
# canonical tag (lower case, "." -> "_") -> the spelling CifParser.get_symops looks up
_PMG_SG_TAGS = {t.lower(): t for t in (
    "_symmetry_space_group_name_H-M", "_space_group_name_H-M_alt", "_space_group_name_Hall",
    "_symmetry_space_group_name_hall", "_space_group_IT_number",
    "_symmetry_Int_Tables_number")}
# Degenerate cells: the volume must be >= 1 A^3 and >= 0.1 % of a*b*c (the volume of a cell
# with these edges and right angles). The shipped cells have 44-235 A^3 and V / abc 0.87-1;
# a cell with all angles 120 deg (or alpha = beta + gamma) has V = 0 and its projections
# have ~zero area, i.e. unbounded atom columns per image (> 14 GB for one image).
MIN_CELL_VOLUME_A3 = 1.0
MIN_CELL_VOLUME_FRACTION = 1e-3
# Atoms per A^3 (occupancy-weighted): the densest solid at ambient pressure, diamond, has
# 0.176 (shipped CIFs: 0.034-0.107); more than 0.5 means duplicated atoms, a wrong space
# group or cell lengths in the wrong unit.
MAX_ATOM_DENSITY_A3 = 0.5
# Atoms per cell after the symmetry expansion: the site-occupancy check is O(N^2) in memory
# and the projection's column clustering O(N^2) in time; 2000 holds zeolites (~300) and
# complex intermetallics (~1000-1200 atoms per cell).
MAX_ATOMS_PER_CELL = 2000


class CIFError(ValueError):
    """A CIF file is missing, malformed or describes an impossible structure."""


@dataclass(frozen=True)
class Crystal:
    """A crystal structure from a CIF file (symmetry expanded).

    Attributes:
        name: file stem (used as the material name).
        path: the CIF file.
        cellpar: (a, b, c) in Angstrom, (alpha, beta, gamma) in degrees.
        cell: (3, 3) rows = lattice vectors a, b, c in nm (a along x, b in the xy plane).
        frac: (M, 3) fractional positions in [0, 1), one row per (position, species).
        z: (M,) atomic numbers.
        occ: (M,) occupancies in (0, 1].
        spacegroup: the space group the CIF declares ("P 1" when it declares none).
        meta: ``cell``: "cif" (the CIF's own cell) or "conventional" (the conventional
            standard cell of a CIF that gives a primitive cell, see the module notes; then
            also ``cif_cellpar`` and ``space_group``).
    """

    name: str
    path: str
    cellpar: tuple[float, ...]
    cell: np.ndarray
    frac: np.ndarray
    z: np.ndarray
    occ: np.ndarray
    spacegroup: str = "P 1"
    meta: dict = field(default_factory=dict, compare=False)

    @cached_property
    def formula(self) -> str:
        """Occupancy-weighted formula of the cell, e.g. 'Al0.6Ga1.4N2'."""
        symbols = _element_symbols(self.z)
        parts = []
        for zz in sorted(set(self.z.tolist()), key=lambda v: symbols[v]):
            n = float(self.occ[self.z == zz].sum())
            parts.append(symbols[zz] + ("" if abs(n - 1) < 1e-9 else f"{n:g}"))
        return "".join(parts)

    @property
    def partial(self) -> bool:
        """True if any site is partially occupied."""
        return bool(np.any(self.occ < 1.0 - 1e-9))

    @cached_property
    def space_group(self) -> tuple[str, int]:
        """(Hermann-Mauguin symbol, number) of the atoms, found by spglib through pymatgen's
        ``SpacegroupAnalyzer`` (tolerance :data:`SYMPREC_A`; the species sharing a site
        count as one mixed species). Computed on demand (a few ms per cell)."""
        from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

        with warnings.catch_warnings():  # spglib's DeprecationWarning on its error handling
            warnings.simplefilter("ignore", DeprecationWarning)
            sga = SpacegroupAnalyzer(_structure(self.cell * 10.0, self.frac, self.z, self.occ),
                                     symprec=SYMPREC_A)
            return str(sga.get_space_group_symbol()), int(sga.get_space_group_number())


@dataclass(frozen=True)
class ProjectedCell:
    """The 2D projected crystal along a zone axis (lengths in nm).

    ``a1`` = (|a1|, 0) and ``a2`` (y > 0) span the projected cell; column ``k`` sits at
    fractional position ``col_frac[k]``; atom ``i`` of one repeat along the beam belongs to
    column ``atom_col[i]`` with atomic number ``atom_z[i]`` and occupancy ``atom_occ[i]``.
    """

    material: str
    zone_axis: tuple[int, int, int]
    a1: np.ndarray
    a2: np.ndarray
    col_frac: np.ndarray
    atom_col: np.ndarray
    atom_z: np.ndarray
    atom_occ: np.ndarray
    repeat_nm: float

    @property
    def n_columns(self) -> int:
        return int(self.col_frac.shape[0])

    def column_weights(self, z_exponent: float) -> np.ndarray:
        """HAADF weight of each column per repeat along the beam: sum occ * Z^n."""
        w = self.atom_occ * self.atom_z.astype(np.float64) ** z_exponent
        return np.bincount(self.atom_col, weights=w, minlength=self.n_columns)

    def column_atoms(self) -> np.ndarray:
        """Occupancy-weighted number of atoms of each column per repeat."""
        return np.bincount(self.atom_col, weights=self.atom_occ, minlength=self.n_columns)

    def column_xy(self) -> np.ndarray:
        """Cartesian column positions (K, 2) in nm within the cell."""
        return self.col_frac @ np.stack([self.a1, self.a2])

    @property
    def basis(self) -> np.ndarray:
        """(2, 2) rows a1, a2 (nm)."""
        return np.stack([self.a1, self.a2])

    def reciprocal(self) -> np.ndarray:
        """(2, 2) rows a1*, a2* (nm^-1, without 2 pi): a_i . a_j* = delta_ij."""
        return np.linalg.inv(self.basis).T


# --------------------------------------------------------------------------- reading


def _err(path: str | os.PathLike, what: str) -> CIFError:
    return CIFError(f"CIF file {str(path)!r}: {what}")


def _element_symbols(z: np.ndarray) -> dict[int, str]:
    from pymatgen.core.periodic_table import Element

    return {int(v): Element.from_Z(int(v)).symbol for v in set(np.asarray(z).tolist())}


def _number(value, tag: str, path, row: int | None = None) -> float:
    where = tag if row is None else f"{tag} (row {row + 1})"
    if isinstance(value, str):
        s = value.strip()
        if s in _MISSING:
            raise _err(path, f"{where} is missing ('{s}')")
        s = re.sub(r"\(\d+\)$", "", s)  # standard uncertainty, e.g. 5.4310(2)
        try:
            value = float(s)
        except ValueError:
            raise _err(path, f"{where} = {value!r} is not a number") from None
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise _err(path, f"{where} = {value!r} is not a number") from None
    if not math.isfinite(out):
        raise _err(path, f"{where} = {value!r} is not finite")
    return out


def _column(block: dict, tag: str, n: int, path) -> list | None:
    values = block.get(tag)
    if values is None:
        return None
    if not isinstance(values, list):
        values = [values]
    if len(values) != n:
        raise _err(path, f"loop column {tag} has {len(values)} values for {n} atom sites")
    return values


def _cell_matrix(cellpar: tuple[float, ...], path) -> np.ndarray:
    """Rows a, b, c (Angstrom) with a along x, b in the xy plane (pymatgen's
    ``Lattice.from_parameters(..., vesta=True)``)."""
    from pymatgen.core.lattice import Lattice

    try:
        return np.array(Lattice.from_parameters(*cellpar, vesta=True).matrix, dtype=np.float64)
    except ValueError:  # math domain error: the angles admit no cell
        raise _err(path, f"cell angles {cellpar[3:]} do not form a valid cell (zero "
                         "volume)") from None


def _atomic_number(label, path, row: int) -> int:
    from pymatgen.core.periodic_table import Element

    s = str(label).strip()
    m = re.match(r"([A-Z][a-z]?)", s)
    if m is None or s in _MISSING:
        raise _err(path, f"atom site row {row + 1}: {s!r} is not an element symbol")
    sym = m.group(1)
    if not Element.is_valid_symbol(sym):
        raise _err(path, f"atom site row {row + 1}: unknown element {sym!r} (from {s!r})")
    return int(Element(sym).Z)  # D and T are hydrogen (Z = 1)


def _canonical(tag: str) -> str:
    return tag.lower().replace(".", "_")


def _parse_blocks(text: str, path):
    """pymatgen's CifParser on ``text`` -> (parser, [(header, {canonical tag: value})])."""
    from pymatgen.io.cif import CifParser

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parser = CifParser.from_str(text, frac_tolerance=0.0, check_cif=False)
    except ZeroDivisionError:  # pymatgen's tokenizer: a loop_ with fewer values than names
        raise _err(path, "a loop_ has fewer values than column names: the atom-site loop is "
                         "empty or a loop is truncated") from None
    except KeyError as exc:
        raise _err(path, f"cannot be parsed as CIF: tag {exc} is missing (pymatgen's "
                         "CifParser needs it with the other atom-site tags)") from exc
    except Exception as exc:  # tokenizer errors: bad loops, values outside loops, ...
        raise _err(path, f"cannot be parsed as CIF: {type(exc).__name__}: "
                         f"{exc or 'malformed loop or value'}") from exc
    blocks = []
    for header, data in parser.as_dict().items():
        canon: dict = {}
        for k, v in data.items():
            canon.setdefault(_canonical(k), v)
        blocks.append((header, canon))
    return parser, blocks


# Operations of the groups named by symbol / number, per process: pymatgen builds a group by
# closure of its generators (~0.5 s for a cubic group); files listing their operations (the
# shipped ones, those of ICSD, COD, Materials Project, ASE, VESTA) do not need it.
_GROUP_OPS: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


def _symmetry_ops(parser, header: str, block: dict, path) -> tuple[np.ndarray, np.ndarray]:
    """Rotations (K, 3, 3) and translations (K, 3) of the block's space group."""
    from pymatgen.core.operations import SymmOp
    from pymatgen.io.cif import CifBlock

    listed = next((block[t] for t in _SYMOP_TAGS if t in block), None)
    listed = [listed] if isinstance(listed, str) else listed
    if listed and not all(str(v).strip() in _MISSING for v in listed):
        ops = []
        for i, s in enumerate(listed):
            try:
                if len(str(s).split(",")) != 3:
                    raise ValueError("not three comma-separated components")
                op = SymmOp.from_xyz_str(str(s))
                det = float(np.linalg.det(op.rotation_matrix))
                if not (np.allclose(op.rotation_matrix, np.rint(op.rotation_matrix))
                        and abs(abs(det) - 1) < 1e-9):
                    raise ValueError(f"rotation part has determinant {det:g}, not +-1")
            except Exception as exc:  # pymatgen: assorted errors for unreadable ops
                raise _err(path, f"symmetry operation {i + 1} {str(s)!r} cannot be read: "
                                 f"{exc}") from exc
            ops.append(op)
        return (np.array([op.rotation_matrix for op in ops], dtype=np.float64),
                np.array([op.translation_vector for op in ops], dtype=np.float64))
    declared = {k: v for k, v in block.items() if k in _PMG_SG_TAGS
                and isinstance(v, str) and v.strip() not in _MISSING}
    key = tuple(sorted(declared.items()))
    if key not in _GROUP_OPS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ops = parser.get_symops(CifBlock({_PMG_SG_TAGS[k]: v for k, v in
                                                  declared.items()}, [], header))
        except Exception as exc:  # pymatgen: assorted errors for bad symmetry data
            raise _err(path, f"cannot interpret the space group {declared}: "
                             f"{type(exc).__name__}: {exc}") from exc
        p1 = all(re.sub(r"[\s_]", "", v).upper() in ("P1", "1") for v in declared.values())
        if len(ops) == 1 and declared and not p1:  # pymatgen fell back to P1
            raise _err(path, f"cannot interpret the space group {declared} (not a "
                             "Hermann-Mauguin symbol or number pymatgen knows); list the "
                             "operations in _space_group_symop_operation_xyz")
        rot = np.array([op.rotation_matrix for op in ops], dtype=np.float64)
        tr = np.array([op.translation_vector for op in ops], dtype=np.float64)
        rot.setflags(write=False)
        tr.setflags(write=False)
        _GROUP_OPS[key] = (rot, tr)
    return _GROUP_OPS[key]


def _orbit(p: np.ndarray, rot: np.ndarray, tr: np.ndarray) -> np.ndarray:
    """Images of fractional position ``p`` in [0, 1), each kept once (the first in operation
    order, as ASE's ``Spacegroup.equivalent_sites`` for one site; tolerance
    :data:`_SITE_TOL`), sorted by (x, y, z): the atom order, hence the order of the
    projected columns, does not depend on the order in which a file or pymatgen's tables
    list the operations (a P1 file's one image per row keeps the file's order)."""
    cand = np.mod(rot @ p + np.mod(tr, 1.0), 1.0)
    cand[np.isclose(cand, 1.0, atol=1e-9)] = 0.0
    orbit = [cand[0]]
    for member in cand[1:]:
        d = member - np.asarray(orbit)
        d -= np.rint(d)
        if not np.any(np.all(np.abs(d) < _SITE_TOL, axis=1)):
            orbit.append(member)
    out = np.array(orbit)
    key = np.round(out, 6)
    return out[np.lexsort((key[:, 2], key[:, 1], key[:, 0]))]


def _same_site(frac: np.ndarray) -> np.ndarray:
    """(N, N) True where two positions are one site (periodic, within :data:`_SITE_TOL`)."""
    d = frac[:, None, :] - frac[None, :, :]
    d -= np.round(d)
    return np.all(np.abs(d) < _SITE_TOL, axis=-1)


def _structure(cell_a: np.ndarray, frac: np.ndarray, z: np.ndarray, occ: np.ndarray):
    """pymatgen Structure, one site per distinct position (its species with occupancies;
    a site over-full within the CIF tolerance is scaled to 1 for the analysis)."""
    from pymatgen.core import Lattice, Structure

    symbols = _element_symbols(z)
    first = np.argmax(_same_site(frac), axis=1)  # first row at each row's position
    sites = np.unique(first)
    species = []
    for i in sites:
        comp: dict[str, float] = {}
        for j in np.flatnonzero(first == i):
            comp[symbols[int(z[j])]] = comp.get(symbols[int(z[j])], 0.0) + float(occ[j])
        total = sum(comp.values())
        species.append({k: v / max(total, 1.0) for k, v in comp.items()})
    return Structure(Lattice(cell_a), species, frac[sites])


def _orthogonal_or_hexagonal(angles) -> bool:
    near = [[abs(a - t) < _ANGLE_TOL_DEG for a in angles] for t in (90.0, 120.0)]
    return all(near[0]) or (sum(near[0]) == 2 and sum(near[1]) == 1)


def _conventional(cell_a, frac, z, occ, path):
    """The conventional standard cell when it is larger than the CIF's cell (the CIF gives
    a primitive cell of a centred lattice): (cellpar, frac, z, occ, symbol), else None."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    st = _structure(cell_a, frac, z, occ)
    try:
        with warnings.catch_warnings():  # spglib's DeprecationWarning on its error handling
            warnings.simplefilter("ignore", DeprecationWarning)
            sga = SpacegroupAnalyzer(st, symprec=SYMPREC_A)
            conv = sga.get_conventional_standard_structure()
            symbol = str(sga.get_space_group_symbol())
    except ValueError as exc:  # spglib finds no symmetry dataset: keep the CIF's cell
        warnings.warn(f"CIF file {str(path)!r}: symmetry analysis failed ({exc}); using "
                      "the CIF's own cell", stacklevel=3)
        return None
    if conv.volume < 1.5 * st.volume:
        return None
    rows = [(site.frac_coords, int(el.Z), float(amt)) for site in conv
            for el, amt in site.species.items()]
    return (tuple(float(v) for v in conv.lattice.parameters),
            np.array([r[0] for r in rows]), np.array([r[1] for r in rows], dtype=np.int64),
            np.array([r[2] for r in rows]), symbol)


def read_cif(path: str | os.PathLike, name: str | None = None) -> Crystal:
    """Read a CIF file into a symmetry-expanded :class:`Crystal` (first block with atoms).

    Raises :class:`CIFError` naming the file and the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise _err(path, "does not exist or is not a file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _err(path, f"cannot be read: {exc}") from exc
    if not re.search(rb"(?im)^\s*data_", raw):
        raise _err(path, "contains no data block (no line starting with 'data_'): "
                         "not a CIF file")
    parser, blocks = _parse_blocks(raw.decode("utf-8", errors="replace"), path)
    if not blocks:
        raise _err(path, "contains no data block ('data_...')")
    header, block = next(((h, b) for h, b in blocks
                          if "_atom_site_fract_x" in b or "_atom_site_cartn_x" in b),
                         (None, None))
    if block is None:
        raise _err(path, "has no atom-site loop (_atom_site_fract_x/y/z or "
                         "_atom_site_Cartn_x/y/z)")
    missing = [t for t in _CELL_TAGS if t not in block]
    if missing:
        raise _err(path, f"missing cell parameter(s) {', '.join(missing)}")
    cellpar = tuple(_number(block[t], t, path) for t in _CELL_TAGS)
    for t, v in zip(_CELL_TAGS, cellpar, strict=True):
        if t.startswith("_cell_length") and not 0 < v < 1000:
            raise _err(path, f"{t} = {v} must be in (0, 1000) Angstrom")
        if t.startswith("_cell_angle") and not 0 < v < 180:
            raise _err(path, f"{t} = {v} must be in (0, 180) degrees")
    cell_a = _cell_matrix(cellpar, path)
    vol = abs(float(np.linalg.det(cell_a)))
    v_min = max(MIN_CELL_VOLUME_A3, MIN_CELL_VOLUME_FRACTION * cellpar[0] * cellpar[1]
                * cellpar[2])
    if vol < v_min:
        raise _err(path, f"cell volume {vol:.3g} A^3 is below the minimum {v_min:.3g} A^3 "
                         f"(the larger of {MIN_CELL_VOLUME_A3:g} A^3 and "
                         f"{MIN_CELL_VOLUME_FRACTION:g} a b c): a degenerate cell (angles "
                         f"{list(cellpar[3:])} deg) or lengths not in Angstrom")

    labels = block.get("_atom_site_type_symbol")
    if labels is None:
        labels = block.get("_atom_site_label")
    if labels is None:
        raise _err(path, "atom-site loop has neither _atom_site_type_symbol nor _atom_site_label")
    if not isinstance(labels, list):
        labels = [labels]
    n = len(labels)
    if n == 0:
        raise _err(path, "atom-site loop is empty")
    if n > MAX_ATOMS_PER_CELL:
        raise _err(path, f"{n} atom sites listed, more than the {MAX_ATOMS_PER_CELL} atoms per "
                         "cell allowed (time and memory of the projection)")
    z = np.array([_atomic_number(s, path, i) for i, s in enumerate(labels)], dtype=np.int64)
    if "_atom_site_fract_x" in block:
        cols = [_column(block, f"_atom_site_fract_{c}", n, path) for c in "xyz"]
        if any(c is None for c in cols):
            raise _err(path, "atom-site loop lacks one of _atom_site_fract_x/y/z")
        frac = np.array([[_number(v, f"_atom_site_fract_{c}", path, i) for c, v in
                          zip("xyz", vals, strict=True)] for i, vals in
                         enumerate(zip(*cols, strict=True))])
    else:
        cols = [_column(block, f"_atom_site_cartn_{c}", n, path) for c in "xyz"]
        if any(c is None for c in cols):
            raise _err(path, "atom-site loop lacks one of _atom_site_Cartn_x/y/z")
        cart = np.array([[_number(v, f"_atom_site_Cartn_{c}", path, i) for c, v in
                          zip("xyz", vals, strict=True)] for i, vals in
                         enumerate(zip(*cols, strict=True))])
        frac = cart @ np.linalg.inv(cell_a)
    occ_raw = _column(block, "_atom_site_occupancy", n, path)
    occ = np.ones(n)
    if occ_raw is not None:
        for i, v in enumerate(occ_raw):
            if isinstance(v, str) and v.strip() in _MISSING:
                continue
            occ[i] = _number(v, "_atom_site_occupancy", path, i)
            if not 0 < occ[i] <= 1 + _OCC_TOL:
                raise _err(path, f"_atom_site_occupancy (row {i + 1}) = {occ[i]} must be in "
                                 "(0, 1]")
    occ = np.minimum(occ, 1.0)

    rot, tr = _symmetry_ops(parser, header, block, path)
    sg_name = next((str(block[t]).strip() for t in ("_space_group_name_h-m_alt",
                                                    "_symmetry_space_group_name_h-m")
                    if t in block and str(block[t]).strip() not in _MISSING), "P 1")
    pos, zs, occs = [], [], []
    n_all = 0
    for i in range(n):
        sites = _orbit(frac[i], rot, tr)
        pos.append(sites)
        zs.append(np.full(len(sites), z[i]))
        occs.append(np.full(len(sites), occ[i]))
        n_all += len(sites)
        if n_all > MAX_ATOMS_PER_CELL:
            raise _err(path, f"the symmetry expansion ({sg_name}, {len(rot)} operations) "
                             f"gives more than the {MAX_ATOMS_PER_CELL} atoms per cell "
                             "allowed (time and memory of the projection)")
    pos_all = np.concatenate(pos)
    pos_all[np.isclose(pos_all, 1.0, atol=1e-9)] = 0.0
    z_all = np.concatenate(zs)
    occ_all = np.concatenate(occs)
    _check_site_occupancy(pos_all, occ_all, path)
    density = float(occ_all.sum()) / vol
    if density > MAX_ATOM_DENSITY_A3:
        raise _err(path, f"atom density {density:.3g} atoms/A^3 ({occ_all.sum():g} atoms in "
                         f"{vol:.4g} A^3) is above the maximum {MAX_ATOM_DENSITY_A3:g} atoms/A^3 "
                         "(diamond has 0.176): duplicated atoms, a wrong space group or cell "
                         "lengths not in Angstrom?")
    meta: dict = {"cell": "cif"}
    conv = None if _orthogonal_or_hexagonal(cellpar[3:]) else _conventional(
        cell_a, pos_all, z_all, occ_all, path)
    if conv is not None:
        meta = {"cell": "conventional", "cif_cellpar": cellpar, "space_group": conv[4]}
        cellpar, pos_all, z_all, occ_all = conv[:4]
        pos_all = np.mod(pos_all, 1.0)
        pos_all[np.isclose(pos_all, 1.0, atol=1e-9)] = 0.0
        cell_a = _cell_matrix(cellpar, path)
        if len(z_all) > MAX_ATOMS_PER_CELL:
            raise _err(path, f"the conventional cell ({conv[4]}) of this primitive cell has "
                             f"{len(z_all)} atoms, more than the {MAX_ATOMS_PER_CELL} atoms "
                             "per cell allowed (time and memory of the projection)")
    return Crystal(name=name or path.stem, path=str(path), cellpar=cellpar,
                   cell=cell_a / 10.0, frac=pos_all, z=z_all, occ=occ_all,
                   spacegroup=sg_name, meta=meta)


def _check_site_occupancy(frac: np.ndarray, occ: np.ndarray, path) -> None:
    """Species sharing one position must have total occupancy <= 1."""
    total = _same_site(frac).astype(float) @ occ
    bad = np.flatnonzero(total > 1 + _OCC_TOL)
    if bad.size:
        i = int(bad[0])
        raise _err(path, f"the site at fractional position {np.round(frac[i], 4).tolist()} has "
                         f"total occupancy {total[i]:.3f} > 1 (duplicated atom rows?)")


def list_cifs(folder: str | os.PathLike) -> list[Path]:
    """CIF files (``*.cif``, case-insensitive, hidden names skipped) in ``folder``, sorted."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise CIFError(f"CIF folder {str(root)!r} does not exist or is not a directory")
    files = sorted(p for p in root.iterdir()
                   if p.is_file() and p.suffix.lower() == ".cif" and not p.name.startswith("."))
    if not files:
        raise CIFError(f"CIF folder {str(root)!r} contains no *.cif files")
    return files


def load_crystals(folder: str | os.PathLike, on_error: str = "raise",
                  names: list[str] | None = None) -> dict[str, Crystal]:
    """Read every CIF of ``folder`` (or only ``names``, file stems) -> {name: Crystal}.

    ``on_error``: "raise" (stop with :class:`CIFError` naming the file) or "skip" (warn,
    leave the file out).
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error = {on_error!r}; allowed: 'raise', 'skip'")
    files = list_cifs(folder)
    if names is not None:
        by_name = {p.stem: p for p in files}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise CIFError(f"CIF folder {str(folder)!r} has no file for material(s) {missing}; "
                           f"available: {sorted(by_name)}")
        files = [by_name[n] for n in names]
    out: dict[str, Crystal] = {}
    for p in files:
        try:
            out[p.stem] = read_cif(p)
        except CIFError as exc:
            if on_error == "raise":
                raise
            warnings.warn(f"skipping {exc}", stacklevel=2)
    return out


# --------------------------------------------------------------------------- projection


def _complete_basis(uvw: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Integer 3x3 matrix with last row ``uvw`` and determinant +-1 (shortest projections)."""
    t = uvw @ cell
    e3 = t / np.linalg.norm(t)
    r = np.arange(-3, 4)
    cand = np.stack(np.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3)
    cand = cand[np.any(cand != 0, axis=1)]
    proj = cand @ cell
    proj = proj - np.outer(proj @ e3, e3)
    plen = np.linalg.norm(proj, axis=1)
    ok = plen > 1e-9
    cand, plen = cand[ok], plen[ok]
    order = np.argsort(plen, kind="stable")[:60]
    best, best_len = None, np.inf
    for ii, i in enumerate(order):
        for j in order[ii + 1:]:
            det = round(float(np.linalg.det(np.stack([cand[i], cand[j], uvw]))))
            if abs(det) == 1 and plen[i] + plen[j] < best_len:
                best, best_len = (cand[i], cand[j]), plen[i] + plen[j]
    if best is None:
        raise ValueError(f"zone axis {uvw.tolist()}: no short lattice basis completes it "
                         "(use a low-index axis)")
    return np.stack([best[0], best[1], uvw]).astype(np.int64)


def _gauss_reduce(b1: np.ndarray, b2: np.ndarray) -> np.ndarray:
    """Lagrange-Gauss reduction of a 2D basis; returns the integer 2x2 transform U (rows)."""
    u = np.eye(2, dtype=np.int64)
    for _ in range(100):
        if b1 @ b1 > b2 @ b2:
            b1, b2 = b2, b1
            u = u[::-1].copy()
        m = round(float(b1 @ b2 / (b1 @ b1)))
        if m == 0:
            break
        b2 = b2 - m * b1
        u[1] -= m * u[0]
    return u


def project(crystal: Crystal, zone_axis, tol_nm: float = 0.01) -> ProjectedCell:
    """Project ``crystal`` along the direct-lattice direction ``zone_axis`` = [u, v, w]."""
    uvw = np.asarray(zone_axis, dtype=np.int64).reshape(-1)
    if uvw.shape != (3,) or not np.any(uvw):
        raise ValueError(f"zone axis {list(zone_axis)!r} must be three integers, not all zero")
    g = math.gcd(*(abs(int(v)) for v in uvw))
    uvw = uvw // g
    cell = crystal.cell
    basis = _complete_basis(uvw, cell)
    vecs = basis @ cell  # rows b1, b2, t (nm)
    t = vecs[2]
    e3 = t / np.linalg.norm(t)
    p1 = vecs[0] - (vecs[0] @ e3) * e3
    e1 = p1 / np.linalg.norm(p1)
    e2 = np.cross(e3, e1)
    a = np.array([[vecs[0] @ e1, vecs[0] @ e2], [vecs[1] @ e1, vecs[1] @ e2]])
    f = np.mod(crystal.frac @ np.linalg.inv(basis.astype(np.float64)), 1.0)[:, :2]
    u = _gauss_reduce(a[0], a[1])
    a = u @ a
    f = np.mod(f @ np.linalg.inv(u.astype(np.float64)), 1.0)
    # rotate so that a1 is along +x, then make a2_y > 0 (mirror if needed)
    ang = math.atan2(a[0, 1], a[0, 0])
    rot = np.array([[math.cos(-ang), -math.sin(-ang)], [math.sin(-ang), math.cos(-ang)]])
    a = a @ rot.T
    if a[1, 1] < 0:
        a[:, 1] *= -1
    a[0, 1] = 0.0
    # cluster coincident projections (periodic) into columns
    # (each atom joins the first column within tol_nm, else starts one; vectorised over the
    # columns so that a cell of MAX_ATOMS_PER_CELL atoms projects in well under a second)
    cols = np.empty(len(f), dtype=np.int64)
    centres = np.empty_like(f)
    n_c = 0
    for i in range(len(f)):
        d = f[i] - centres[:n_c]
        d -= np.round(d)
        near = np.flatnonzero(np.sqrt(np.sum((d @ a) ** 2, axis=1)) < tol_nm)
        if near.size:
            cols[i] = near[0]
        else:
            centres[n_c] = f[i]
            cols[i] = n_c
            n_c += 1
    return ProjectedCell(
        material=crystal.name, zone_axis=tuple(int(v) for v in uvw), a1=a[0].copy(),
        a2=a[1].copy(), col_frac=np.mod(centres[:n_c], 1.0),
        atom_col=cols, atom_z=crystal.z.copy(),
        atom_occ=crystal.occ.copy(), repeat_nm=float(np.linalg.norm(t)))
