"""Cu(111) surface-state LDOS with point scatterers: full multiple scattering (the PDA-Net paper §IV-A).

Model (lengths in nm, energies in eV relative to the Fermi level, E = e V_bias):

* Shockley surface state ``H0 = hbar^2 k^2 / (2 m*) - mu``, m* = 0.38 m_e, mu = 0.45 eV, so
  ``k(E) = sqrt(2 m* (E + mu)) / hbar`` (k_F = 2.12 nm^-1 = 0.212 A^-1, lambda_F = 2.97 nm;
  the LDOS around an impurity oscillates with period pi / k = 1.48 nm at E_F). Broadening
  ``eta`` enters as ``E + i eta`` (complex k, Im k > 0: waves decay).
* Free retarded Green's function in 2D: ``G0(r, r') = -i m*/(2 hbar^2) H0^(1)(k |r - r'|)``
  (eV^-1 nm^-2), whose on-site imaginary part gives the clean LDOS
  ``rho0 = m* / (2 pi hbar^2)`` = 0.79 states / (eV nm^2) (per spin).
* s-wave point scatterers at R_i with phase shift delta and absorption a (Heller et al.,
  Nature 369, 464 (1994): a = 1 is their "black dot"): S = (1 - a) e^{2 i delta},
  ``t = (i hbar^2 / m*) (S - 1)``. A single scatterer then adds the outgoing wave
  ``(S - 1)/2 H0^(1)(k r)`` to the s-wave, as the partial-wave solution requires.
* Multiple scattering (T-matrix over all scatterers): ``T = (1 - t Gt)^-1 t`` with
  ``Gt_ij = G0(R_i, R_j)`` for i != j and 0 on the diagonal (the on-site divergence is part
  of t), and ``G(r, r) = G0(r, r) + sum_ij G0(r, R_i) T_ij G0(R_j, r)``;
  ``A(r, E) = -(1/pi) Im G(r, r)``. Maps are returned as ``rho / rho0`` (1 far from
  scatterers). ``order="single"`` gives the sum of independent single-scatterer results (T = diag t),
  ``order="born"`` the first-order Born result (t linearised in the phase shift).
* Distances are clamped at ``r_min_nm`` (default 0.1 nm, about an atomic radius): the point
  model's logarithmic divergence of Re G0 at a scatterer is not physical below that.

Speed: G0 from all N scatterers to all P pixels is one (N, P) complex array. H0^(1) is
evaluated with ``scipy.special.hankel1`` on a fine 1-D radial grid (|k| dr <= 0.004) and
linearly interpolated at the N x P distances (relative error < 1e-5, see the tests); a
direct call on 3.3 M complex arguments (50 scatterers x 256^2) costs > 1 s on one core.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.special as sp

__all__ = [
    "ETA_DEFAULT_EV",
    "HBAR2_2ME_EV_NM2",
    "MU_EV",
    "M_EFF",
    "R_MIN_NM",
    "corral",
    "g0",
    "ldos_map",
    "ldos_points",
    "line_of_scatterers",
    "rho0",
    "t_matrix",
    "t_single",
    "wavelength_nm",
    "wavenumber",
]

HBAR2_2ME_EV_NM2 = 0.0380998212  # hbar^2 / (2 m_e) in eV nm^2 (CODATA 2018)
M_EFF = 0.38  # effective mass of the Cu(111) surface state, units of m_e
MU_EV = 0.45  # band bottom below E_F (eV)
ETA_DEFAULT_EV = 0.005
R_MIN_NM = 0.1
_KDR = 0.004  # |k| dr of the radial table
_CHUNK = 1 << 16  # scatterer-point pairs per block: ~1 MB arrays, reused (no page faults)


def _max_distance(pts: np.ndarray, pos: np.ndarray) -> float:
    """Largest point-scatterer distance (bounding-box bound), nm."""
    lo = np.minimum(pts.min(0), pos.min(0))
    hi = np.maximum(pts.max(0), pos.max(0))
    return float(np.linalg.norm(hi - lo))


def _c(m_eff: float) -> float:
    """hbar^2 / (2 m*) in eV nm^2."""
    return HBAR2_2ME_EV_NM2 / m_eff


def wavenumber(energy_ev, eta_ev: float = 0.0, m_eff: float = M_EFF,
               mu_ev: float = MU_EV) -> np.ndarray:
    """Complex k(E + i eta) in nm^-1 (principal root, Im k >= 0)."""
    e = np.asarray(energy_ev, dtype=np.complex128) + mu_ev + 1j * eta_ev
    k = np.sqrt(e / _c(m_eff))
    return np.where(k.imag < 0, -k, k)


def wavelength_nm(energy_ev: float, m_eff: float = M_EFF, mu_ev: float = MU_EV) -> float:
    """Electron wavelength 2 pi / k (nm); the LDOS period around a scatterer is half of it."""
    return float(2 * math.pi / wavenumber(energy_ev, 0.0, m_eff, mu_ev).real)


def rho0(m_eff: float = M_EFF) -> float:
    """Clean 2D LDOS m* / (2 pi hbar^2) in states / (eV nm^2) (one spin)."""
    return 1.0 / (4 * math.pi * _c(m_eff))


def g0(r_nm: np.ndarray, k: complex, m_eff: float = M_EFF, r_min_nm: float = R_MIN_NM) -> np.ndarray:
    """Free 2D retarded Green's function -i m*/(2 hbar^2) H0^(1)(k r), r clamped at r_min."""
    r = np.maximum(np.asarray(r_nm, dtype=np.float64), r_min_nm)
    return (-0.25j / _c(m_eff)) * sp.hankel1(0, k * r)


class _RadialTable:
    """H0^(1)(k r) on a uniform radial grid for fast linear interpolation."""

    def __init__(self, k: complex, r_max: float, r_min: float):
        self.r_min = r_min
        self.dr = _KDR / max(abs(k), 1e-6)
        n = math.ceil((r_max - r_min) / self.dr) + 2
        self.r = r_min + self.dr * np.arange(n)
        self.h = sp.hankel1(0, k * self.r)

    def __call__(self, r: np.ndarray) -> np.ndarray:
        x = (np.maximum(r, self.r_min) - self.r_min) / self.dr
        i = np.minimum(x.astype(np.int64), len(self.r) - 2)
        f = x - i
        return self.h[i] * (1 - f) + self.h[i + 1] * f


def t_single(phase_shift: float, absorption: float = 0.0, m_eff: float = M_EFF) -> complex:
    """s-wave t-matrix (eV nm^2) of one point scatterer: (i hbar^2/m*)((1 - a) e^{2i delta} - 1)."""
    if not 0.0 <= absorption <= 1.0:
        raise ValueError(f"absorption = {absorption} must be in [0, 1]")
    s = (1.0 - absorption) * np.exp(2j * phase_shift)
    return complex(2j * _c(m_eff) * (s - 1.0))


def _as_array(values, n: int, name: str) -> np.ndarray:
    arr = np.broadcast_to(np.asarray(values, dtype=np.float64), (n,)).copy()
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def t_matrix(scatterers_nm: np.ndarray, k: complex, t: np.ndarray, m_eff: float = M_EFF,
             r_min_nm: float = R_MIN_NM) -> np.ndarray:
    """Full multiple-scattering T = (1 - t Gt)^-1 t for N scatterers (N, N) complex."""
    pos = np.asarray(scatterers_nm, dtype=np.float64).reshape(-1, 2)
    n = len(pos)
    d = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=-1)
    gt = g0(d, k, m_eff, r_min_nm)
    np.fill_diagonal(gt, 0.0)
    a = np.eye(n, dtype=np.complex128) - t[:, None] * gt
    return np.linalg.solve(a, np.diag(t.astype(np.complex128)))


def ldos_points(
    points_nm: np.ndarray,
    scatterers_nm: np.ndarray,
    energies_ev: float | Sequence[float],
    *,
    phase_shift: float | Sequence[float] = math.pi / 2,
    absorption: float | Sequence[float] = 0.0,
    eta_ev: float = ETA_DEFAULT_EV,
    order: str = "full",
    m_eff: float = M_EFF,
    mu_ev: float = MU_EV,
    r_min_nm: float = R_MIN_NM,
    exact: bool = False,
) -> np.ndarray:
    """LDOS rho(r, E) / rho0 at ``points_nm`` (P, 2) for each energy: (n_E, P) float64.

    ``order``: "full" (T-matrix), "single" (sum of the N independent single-scatterer
    corrections: T = diag(t), exact for each scatterer alone) or "born" (first order in the
    scattering strength: t linearised, ``S - 1 -> ln S = 2 i delta + ln(1 - a)``, so
    ``t_B = -2 hbar^2 delta / m*`` for a = 0; needs a < 1). ``exact``: evaluate H0^(1) directly
    instead of through the radial table (slow; for tests).
    """
    if order not in ("full", "born", "single"):
        raise ValueError(f"order = {order!r}; allowed: 'full', 'born', 'single'")
    if eta_ev < 0:
        raise ValueError(f"eta_ev = {eta_ev} must be >= 0")
    pts = np.asarray(points_nm, dtype=np.float64).reshape(-1, 2)
    pos = np.asarray(scatterers_nm, dtype=np.float64).reshape(-1, 2)
    energies = np.atleast_1d(np.asarray(energies_ev, dtype=np.float64))
    n = len(pos)
    out = np.ones((len(energies), len(pts)))
    if n == 0:
        return out
    t_vals = np.array([t_single(d, a, m_eff) for d, a in
                       zip(_as_array(phase_shift, n, "phase_shift"),
                           _as_array(absorption, n, "absorption"), strict=True)])
    t_born = np.array([2j * _c(m_eff) * (2j * d + np.log1p(-a)) for d, a in
                       zip(_as_array(phase_shift, n, "phase_shift"),
                           _as_array(absorption, n, "absorption"), strict=True)]) \
        if order == "born" else t_vals
    pref = -0.25j / _c(m_eff)
    norm = -1.0 / (math.pi * rho0(m_eff))
    chunk = max(256, _CHUNK // n)
    r_max = _max_distance(pts, pos)
    for e_i, energy in enumerate(energies):
        k = complex(wavenumber(energy, eta_ev, m_eff, mu_ev))
        table = None if exact else _RadialTable(k, r_max + 1.0, r_min_nm)
        if order == "full":
            tm = t_matrix(pos, k, t_vals, m_eff, r_min_nm)
        for p0 in range(0, len(pts), chunk):
            sl = slice(p0, p0 + chunk)
            dist = np.sqrt((pts[None, sl, 0] - pos[:, None, 0]) ** 2
                           + (pts[None, sl, 1] - pos[:, None, 1]) ** 2)  # (N, P)
            # G0 from every scatterer to every point of the chunk, one (N, P) array
            gp = g0(dist, k, m_eff, r_min_nm) if table is None else pref * table(dist)
            if order == "full":
                corr = np.einsum("ip,ip->p", gp, tm @ gp)
            else:
                # single: each scatterer alone (exact for one point scatterer: T = t);
                # born: first order in the scattering strength, t linearised in ln S
                corr = np.einsum("ip,i,ip->p", gp, t_vals if order == "single" else t_born, gp)
            out[e_i, sl] = 1.0 + norm * corr.imag
    return out


def ldos_map(
    shape: tuple[int, int],
    pixel_size_nm: float,
    scatterers_nm: np.ndarray,
    energies_ev: float | Sequence[float],
    **kwargs,
) -> np.ndarray:
    """LDOS maps rho/rho0 on an (H, W) pixel grid: (n_E, H, W) float64.

    Pixel (i, j) is at (x, y) = (j, i) * ``pixel_size_nm``; scatterer positions are (x, y)
    in nm in the same frame. Keyword arguments as :func:`ldos_points`.
    """
    h, w = int(shape[0]), int(shape[1])
    if not pixel_size_nm > 0:
        raise ValueError(f"pixel_size_nm = {pixel_size_nm} must be > 0")
    yy, xx = np.mgrid[0:h, 0:w]
    pts = np.stack([xx.ravel(), yy.ravel()], axis=1) * pixel_size_nm
    return ldos_points(pts, scatterers_nm, energies_ev, **kwargs).reshape(-1, h, w)


# --------------------------------------------------------------------------- layouts


def corral(center_nm: Sequence[float], radius_nm: float, n_atoms: int,
           phase: float = 0.0) -> np.ndarray:
    """Scatterers evenly on a circle (a quantum corral), (n_atoms, 2) nm."""
    ang = phase + 2 * math.pi * np.arange(n_atoms) / n_atoms
    return np.stack([center_nm[0] + radius_nm * np.cos(ang),
                     center_nm[1] + radius_nm * np.sin(ang)], axis=1)


def line_of_scatterers(start_nm: Sequence[float], angle_rad: float, spacing_nm: float,
                       n_atoms: int) -> np.ndarray:
    """Scatterers on a straight line from ``start_nm`` (n_atoms, 2) nm."""
    s = spacing_nm * np.arange(n_atoms)
    return np.stack([start_nm[0] + s * math.cos(angle_rad),
                     start_nm[1] + s * math.sin(angle_rad)], axis=1)
