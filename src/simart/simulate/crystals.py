"""Crystals from CIF files: reading (ASE's CIF parser), partial occupancies, zone-axis projection.

Reading (:func:`read_cif`). ASE's CIF tokenizer (``ase.io.cif.parse_cif``) gives the data
block; the asymmetric unit (element, fractional or Cartesian position, occupancy) is taken
from the ``_atom_site_*`` loop and expanded by the space group's operations
(``ase.spacegroup.Spacegroup``: from ``_space_group_symop_operation_xyz`` /
``_symmetry_equiv_pos_as_xyz`` when listed, else the number or Hermann-Mauguin symbol,
else P1), one asymmetric row at a time so that species sharing a site (partial
occupancies, e.g. Ga 0.7 / Al 0.3 in AlGaN) are all kept, each with its occupancy. Every
problem raises :class:`CIFError` naming the file and what is wrong (missing cell or atom
loop, a non-numeric or out-of-range value, an unknown element, a site whose occupancies
add up to more than 1, an unreadable space group).

Projection (:func:`project`). For a zone axis ``[uvw]`` (a direct-lattice direction of the
CIF's cell, ``t = u a + v b + w c``), two integer lattice vectors ``b1, b2`` complete
``t`` to a unimodular basis, so the crystal is periodic along the beam with repeat
``|t|`` and its projection is a 2D crystal with cell ``P(b1), P(b2)`` (the components
perpendicular to ``t``; Gauss-reduced). Atoms whose projections coincide (within
``tol_nm``) form one column; a column keeps its atoms' (Z, occupancy) per repeat, so its
HAADF weight per repeat is ``sum occ * Z^n`` for any exponent ``n``.

Lengths: CIF cells are in Angstrom; everything returned here is in nm.
"""

from __future__ import annotations

import io
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
_SITE_TOL = 1e-3  # fractional distance under which two asymmetric rows share a site
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
        from ase.data import chemical_symbols

        parts = []
        for zz in sorted(set(self.z.tolist()), key=lambda v: chemical_symbols[v]):
            n = float(self.occ[self.z == zz].sum())
            parts.append(chemical_symbols[zz] + ("" if abs(n - 1) < 1e-9 else f"{n:g}"))
        return "".join(parts)

    @property
    def partial(self) -> bool:
        """True if any site is partially occupied."""
        return bool(np.any(self.occ < 1.0 - 1e-9))


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


def _column(block, tag: str, n: int, path) -> list | None:
    values = block.get(tag)
    if values is None:
        return None
    if not isinstance(values, list):
        values = [values]
    if len(values) != n:
        raise _err(path, f"loop column {tag} has {len(values)} values for {n} atom sites")
    return values


def _cell_matrix(cellpar: tuple[float, ...]) -> np.ndarray:
    """Rows a, b, c (same length unit as cellpar) with a along x, b in the xy plane."""
    a, b, c, al, be, ga = cellpar
    al, be, ga = np.radians([al, be, ga])
    cx = c * np.cos(be)
    cy = c * (np.cos(al) - np.cos(be) * np.cos(ga)) / np.sin(ga)
    cz2 = c * c - cx * cx - cy * cy
    if not cz2 > 0:
        return np.full((3, 3), np.nan)
    return np.array([[a, 0.0, 0.0], [b * np.cos(ga), b * np.sin(ga), 0.0],
                     [cx, cy, math.sqrt(cz2)]])


def _symbol(label, path, row: int) -> int:
    from ase.data import atomic_numbers

    s = str(label).strip()
    m = re.match(r"([A-Z][a-z]?)", s)
    if m is None or s in _MISSING:
        raise _err(path, f"atom site row {row + 1}: {s!r} is not an element symbol")
    sym = m.group(1)
    if sym == "D":
        sym = "H"
    if sym not in atomic_numbers or atomic_numbers[sym] == 0:
        raise _err(path, f"atom site row {row + 1}: unknown element {sym!r} (from {s!r})")
    return int(atomic_numbers[sym])


def _spacegroup(block, path):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return block.get_spacegroup(True)
    except Exception as exc:  # ASE raises assorted errors for bad symmetry data
        raise _err(path, f"cannot interpret the space group / symmetry operations: "
                         f"{type(exc).__name__}: {exc}") from exc


def read_cif(path: str | os.PathLike, name: str | None = None) -> Crystal:
    """Read a CIF file into a symmetry-expanded :class:`Crystal` (first structure block).

    Raises :class:`CIFError` naming the file and the problem.
    """
    from ase.io.cif import parse_cif

    path = Path(path)
    if not path.is_file():
        raise _err(path, "does not exist or is not a file")
    try:
        raw = path.read_bytes()
        if not re.search(rb"(?im)^\s*data_", raw):
            raise _err(path, "contains no data block (no line starting with 'data_'): "
                             "not a CIF file")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            blocks = list(parse_cif(io.BytesIO(raw)))
    except CIFError:
        raise
    except Exception as exc:  # tokenizer errors: unterminated strings, bad loops, ...
        raise _err(path, f"cannot be parsed as CIF: {type(exc).__name__}: "
                         f"{exc or 'malformed loop or value'}") from exc
    if not blocks:
        raise _err(path, "contains no data block ('data_...')")
    block = next((b for b in blocks if "_atom_site_fract_x" in b or "_atom_site_cartn_x" in b),
                 None)
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
    cell_a = _cell_matrix(cellpar)
    if not np.all(np.isfinite(cell_a)):
        raise _err(path, f"cell angles {cellpar[3:]} do not form a valid cell (zero volume)")
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
    z = np.array([_symbol(s, path, i) for i, s in enumerate(labels)], dtype=np.int64)
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

    sg = _spacegroup(block, path)
    pos, zs, occs = [], [], []
    n_all = 0
    for i in range(n):
        try:
            sites, _ = sg.equivalent_sites([frac[i]], onduplicates="keep", symprec=1e-3)
        except Exception as exc:  # ASE: assorted errors for impossible sites
            raise _err(path, f"atom site row {i + 1}: symmetry expansion failed: {exc}") from exc
        pos.append(np.mod(sites, 1.0))
        zs.append(np.full(len(sites), z[i]))
        occs.append(np.full(len(sites), occ[i]))
        n_all += len(sites)
        if n_all > MAX_ATOMS_PER_CELL:
            raise _err(path, f"the symmetry expansion ({getattr(sg, 'symbol', '?')}) gives more "
                             f"than the {MAX_ATOMS_PER_CELL} atoms per cell allowed (time and "
                             "memory of the projection)")
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
    return Crystal(name=name or path.stem, path=str(path), cellpar=cellpar,
                   cell=cell_a / 10.0, frac=pos_all, z=z_all, occ=occ_all,
                   spacegroup=str(getattr(sg, "symbol", "P 1")))


def _check_site_occupancy(frac: np.ndarray, occ: np.ndarray, path) -> None:
    """Species sharing one position must have total occupancy <= 1."""
    d = frac[:, None, :] - frac[None, :, :]
    d -= np.round(d)
    same = np.all(np.abs(d) < _SITE_TOL, axis=-1)
    total = same.astype(float) @ occ
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
