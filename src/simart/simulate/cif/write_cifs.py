"""Write the shipped CIF files of the STEM-lattice materials (the PINNED paper) with ASE.

Run from the repository root: ``python src/simart/simulate/cif/write_cifs.py``. Each file
is built with ``ase.spacegroup.crystal`` from published lattice parameters (no
download) and written with ``ase.io.write(format="cif")`` (symmetry-expanded P1 cell with
``_atom_site_occupancy``); a comment header records the structure type, the lattice
parameters and their reference. The table of references is in README.md beside this
script. Re-running it rewrites the files byte-identically.
"""

from __future__ import annotations

import io
from pathlib import Path

from ase.io import write
from ase.spacegroup import crystal

HERE = Path(__file__).resolve().parent


def vegard(x: float, p_a: float, p_b: float) -> float:
    """Linear (Vegard) interpolation: x * p_a + (1 - x) * p_b."""
    return round(x * p_a + (1 - x) * p_b, 4)


# Wurtzite nitrides: a, c (Angstrom) from Vurgaftman & Meyer, J. Appl. Phys. 94, 3675 (2003);
# internal parameter u from Schulz & Thiemann, Solid State Commun. 23, 815 (1977).
GAN = {"a": 3.189, "c": 5.185, "u": 0.377}
ALN = {"a": 3.112, "c": 4.982, "u": 0.382}
INN = {"a": 3.545, "c": 5.703, "u": 0.377}  # u of InN taken as that of GaN (close to ideal 0.375)
X_AL = 0.3  # Al fraction of the AlGaN alloy (a common HEMT-barrier composition)
X_MG = 0.2  # Mg fraction of the ZnMgTe alloy
ALGAN = {k: vegard(X_AL, ALN[k], GAN[k]) for k in ("a", "c", "u")}
ZNTE_A, MGTE_A = 6.1037, 6.42  # zinc-blende ZnTe and MgTe (see README)

# name: (comment, symbols, basis, spacegroup, cellpar, occupancies or None)
_NOTES: dict[str, str] = {
    "Si": "diamond, Fd-3m; a = 5.4310 A (NIST SRM 640 silicon line-position standard)",
    "GaN": (f"wurtzite, P6_3mc; a = {GAN['a']}, c = {GAN['c']} A (Vurgaftman & Meyer 2003), "
            f"u = {GAN['u']} (Schulz & Thiemann 1977)"),
    "AlGaN": (f"wurtzite Al{X_AL}Ga{1 - X_AL:.1f}N, P6_3mc, Al/Ga partially occupying one "
              f"site; a = {ALGAN['a']}, c = {ALGAN['c']} A, u = {ALGAN['u']} by Vegard's law "
              "between AlN and GaN (Vurgaftman & Meyer 2003; Schulz & Thiemann 1977)"),
    "InN": (f"wurtzite, P6_3mc; a = {INN['a']}, c = {INN['c']} A (Vurgaftman & Meyer 2003), "
            f"u = {INN['u']} assumed as GaN"),
    "BaTiO3": ("tetragonal perovskite, P4mm; a = 3.994, c = 4.038 A (ICDD PDF 05-0626); atoms "
               "at the ideal perovskite positions (ferroelectric shifts < 0.01 nm ignored)"),
    "SrTiO3": "cubic perovskite, Pm-3m; a = 3.905 A (room temperature, ICDD PDF 35-0734)",
    "graphene": ("graphene monolayer, P6/mmm; a = 2.46 A (C-C 1.42 A, the in-plane lattice "
                 "parameter of graphite); c = 10 A is vacuum spacing, not a lattice repeat"),
    "ZrO2": ("cubic fluorite zirconia (the yttria-stabilised form), Fm-3m; a = 5.14 A, typical "
             "of 8 mol% Y2O3-stabilised ZrO2; Y and O vacancies not modelled; the monoclinic "
             "ambient phase of pure ZrO2 is not shipped"),
    "NaCN": ("cubic NaCl-type phase of NaCN (stable above ~288 K), Fm-3m; a = 5.89 A; the "
             "orientationally disordered CN- dumbbell is represented by C 0.5 / N 0.5 on the "
             "anion site (its 0.117 nm length is below the probe size)"),
    "Al": "fcc aluminium, Fm-3m; a = 4.0495 A (room temperature)",
    "ZnMgTe": (f"zinc-blende Zn{1 - X_MG:.1f}Mg{X_MG}Te, F-43m, Zn/Mg partially occupying one "
               f"site; a = {vegard(X_MG, MGTE_A, ZNTE_A)} A by Vegard's law between ZnTe "
               f"({ZNTE_A} A) and zinc-blende MgTe ({MGTE_A} A)"),
    "GaAs": ("zinc-blende GaAs, F-43m; a = 5.6533 A (Vurgaftman, Meyer & Ram-Mohan, J. Appl. "
             "Phys. 89, 5815 (2001))"),
    "MgO": "rock-salt MgO (periclase), Fm-3m; a = 4.212 A (ICDD PDF 45-0946)",
}
_HEX = 90, 90, 120
_WZ = [(1 / 3, 2 / 3, 0), (1 / 3, 2 / 3, 0)]
MATERIALS: dict[str, tuple] = {
    "Si": (["Si"], [(0, 0, 0)], 227, [5.4310] * 3 + [90] * 3, None),
    "GaN": (["Ga", "N"], [(1 / 3, 2 / 3, 0), (1 / 3, 2 / 3, GAN["u"])], 186,
            [GAN["a"], GAN["a"], GAN["c"], *_HEX], None),
    "AlGaN": (["Ga", "Al", "N"], [*_WZ, (1 / 3, 2 / 3, ALGAN["u"])], 186,
              [ALGAN["a"], ALGAN["a"], ALGAN["c"], *_HEX], [1 - X_AL, X_AL, 1.0]),
    "InN": (["In", "N"], [(1 / 3, 2 / 3, 0), (1 / 3, 2 / 3, INN["u"])], 186,
            [INN["a"], INN["a"], INN["c"], *_HEX], None),
    "BaTiO3": (["Ba", "Ti", "O", "O"], [(0, 0, 0), (0.5, 0.5, 0.5), (0.5, 0.5, 0), (0.5, 0, 0.5)],
               99, [3.994, 3.994, 4.038, 90, 90, 90], None),
    "SrTiO3": (["Sr", "Ti", "O"], [(0, 0, 0), (0.5, 0.5, 0.5), (0.5, 0.5, 0)], 221,
               [3.905] * 3 + [90] * 3, None),
    "graphene": (["C"], [(1 / 3, 2 / 3, 0)], 191, [2.46, 2.46, 10.0, *_HEX], None),
    "ZrO2": (["Zr", "O"], [(0, 0, 0), (0.25, 0.25, 0.25)], 225, [5.14] * 3 + [90] * 3, None),
    "NaCN": (["Na", "C", "N"], [(0, 0, 0), (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)], 225,
             [5.89] * 3 + [90] * 3, [1.0, 0.5, 0.5]),
    "Al": (["Al"], [(0, 0, 0)], 225, [4.0495] * 3 + [90] * 3, None),
    "ZnMgTe": (["Zn", "Mg", "Te"], [(0, 0, 0), (0, 0, 0), (0.25, 0.25, 0.25)], 216,
               [vegard(X_MG, MGTE_A, ZNTE_A)] * 3 + [90] * 3, [1 - X_MG, X_MG, 1.0]),
    "GaAs": (["Ga", "As"], [(0, 0, 0), (0.25, 0.25, 0.25)], 216, [5.6533] * 3 + [90] * 3, None),
    "MgO": (["Mg", "O"], [(0, 0, 0), (0.5, 0.5, 0.5)], 225, [4.212] * 3 + [90] * 3, None),
}


def cif_text(name: str) -> str:
    """The CIF text of one material (comment header + ASE's CIF)."""
    symbols, basis, sg, cellpar, occ = MATERIALS[name]
    comment = _NOTES[name]
    atoms = crystal(symbols, basis=basis, spacegroup=sg, cellpar=cellpar, occupancies=occ,
                    onduplicates="keep" if occ else "warn")
    buf = io.BytesIO()
    write(buf, atoms, format="cif")
    body = buf.getvalue().decode()
    body = body.replace("data_image0", f"data_{name}", 1)
    # ASE's formula lines ignore partial occupancies (AlGaN would read 'Ga2N2'): drop them
    body = "\n".join(line for line in body.splitlines()
                     if not line.startswith("_chemical_formula")) + "\n"
    head = [f"# {name}: written by src/simart/simulate/cif/write_cifs.py (ASE crystal + write)"]
    head += ["# " + line for line in _wrap(comment)]
    return "\n".join(head) + "\n" + body


def _wrap(text: str, width: int = 86) -> list[str]:
    words, lines, cur = text.split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    return [*lines, cur] if cur else lines


def main() -> None:
    for name in MATERIALS:
        (HERE / f"{name}.cif").write_text(cif_text(name))
        print(f"wrote {name}.cif")


if __name__ == "__main__":
    main()
