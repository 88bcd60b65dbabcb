"""Exact diagonalisation (ED) of the s-d model: energy, local fields and torques.

The ``2N x 2N`` Hamiltonian is diagonalised densely; only the eigenvectors that carry weight
(``e < mu`` at kT = 0, ``f(e) > exp(-40)`` otherwise) are computed, which is cheaper than a
full ``eigh`` at the low fillings of the skyrmion phase. With a torch ``device`` (a GPU) the
decomposition runs there instead, in float64 (:func:`occupied_eigenpairs`): the same
results to round-off, at a fraction of the time of one CPU core (docs/PERFORMANCE.md).

Energy (units of t1, total over the lattice):

* kT = 0: ``E = sum_n (e_n - mu) theta(mu - e_n) - h sum_i S_i^z`` (design, section 1);
* kT > 0: the grand potential ``E = -kT sum_n ln(1 + exp(-(e_n - mu) / kT)) - h sum_i S_i^z``,
  which tends to the kT = 0 expression and whose exact gradient is the Hellmann-Feynman
  field below. (``sum_n (e_n - mu) f(e_n)`` is not: its derivative carries an extra
  ``(e - mu) f'(e)`` term, so it would not be a potential of the fields.)

Local field ``H_i = -dE/dS_i = -J <c+_i sigma c_i> + h z`` and torque ``T_i = S_i x H_i``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.linalg

from distllg import spins as spinlib
from distllg.electrons import SDModel
from distllg.electrons import hamiltonian as ham

#: States with ``(e - mu) / kT`` above this carry occupation below ``exp(-40) ~ 4e-18``.
FERMI_CUTOFF = 40.0


@dataclasses.dataclass(frozen=True)
class ExactResult:
    """Everything one diagonalisation gives.

    energy: total energy (grand potential at kT > 0), units of t1.
    fields: local fields ``H_i = -dE/dS_i``, ``(3, Ly, Lx)``, units of t1.
    spin_density: ``<c+_i sigma c_i>``, ``(3, Ly, Lx)`` (dimensionless, |.| <= 1).
    eigenvalues: the computed one-electron energies, ascending (all of them when
        ``all_eigenvalues`` was asked for, else those up to the occupation cut-off).
    electrons: number of electrons ``sum_n f(e_n)``.
    """

    energy: float
    fields: np.ndarray
    spin_density: np.ndarray
    eigenvalues: np.ndarray
    electrons: float


def occupied_eigenpairs(matrix: np.ndarray, upper: float, device=None, vectors: bool = True):
    """Eigenvalues ``e <= upper`` of the Hermitian ``matrix`` (ascending) and, for ``vectors``,
    their eigenvectors as columns: ``(energies, states)``, else ``energies`` alone.

    ``device`` None: LAPACK's MRRR driver computes just that subset on the CPU (scipy);
    a ``torch.device``: ``torch.linalg.eigh`` of the whole matrix in complex128 there (on a
    GPU much faster than the subset on one core), the subset copied back.
    """
    if device is None:
        return scipy.linalg.eigh(matrix, eigvals_only=not vectors, driver="evr",
                                 subset_by_value=(-np.inf, upper), overwrite_a=True,
                                 check_finite=False)
    import torch

    on_device = torch.from_numpy(np.ascontiguousarray(matrix, dtype=np.complex128)).to(device)
    if not vectors:
        energies = torch.linalg.eigvalsh(on_device).cpu().numpy()
        return energies[energies <= upper]
    energies, states = torch.linalg.eigh(on_device)
    count = int((energies <= upper).sum())
    return energies[:count].cpu().numpy(), states[:, :count].cpu().numpy()


def spin_density_from_states(states: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``<c+_i sigma c_i> = sum_n w_n psi_n(i)^+ sigma psi_n(i)``, shape ``(3, N)``.

    ``states`` ``(2N, M)`` are orthonormal eigenvectors in the orbital order ``2 i + s``,
    ``weights`` ``(M,)`` their occupations.
    """
    n_sites = states.shape[0] // 2
    up = states[0::2]
    down = states[1::2]
    weighted_up = up.conj() * weights
    g_ud = np.einsum("im,im->i", weighted_up, down)  # <c+_up c_down>
    n_up = np.einsum("im,im->i", weighted_up, up).real
    n_down = np.einsum("im,im->i", down.conj() * weights, down).real
    out = np.empty((3, n_sites))
    out[0] = 2.0 * g_ud.real
    out[1] = 2.0 * g_ud.imag
    out[2] = n_up - n_down
    return out


class ExactSolver:
    """Field provider by exact diagonalisation: ``energy_and_fields(spins) -> (E, H)``.

    Parameters
    ----------
    model : SDModel
        Hamiltonian parameters.

    device : torch.device, optional
        Where the eigen-decomposition runs (:func:`occupied_eigenpairs`); None: the CPU.

    Cost is one dense Hermitian eigen-decomposition of size ``2 Ly Lx`` per call; the
    spin-independent part of the Hamiltonian is built once per lattice shape and kept
    (``16 (2N)^2`` bytes: 107 MB at L = 36).
    """

    def __init__(self, model: SDModel | None = None, device=None):
        self.model = SDModel() if model is None else model
        self.device = device
        self._shape: tuple[int, int] | None = None
        self._bare: np.ndarray | None = None

    def _bare_for(self, Ly: int, Lx: int) -> np.ndarray:
        if self._shape != (Ly, Lx):
            self._bare = ham.bare_hamiltonian(self.model, Ly, Lx)
            self._shape = (Ly, Lx)
        return self._bare

    def hamiltonian(self, spins) -> np.ndarray:
        """Validated dense ``(2N, 2N)`` Hamiltonian for spins ``(3, Ly, Lx)``."""
        return self._assemble(spinlib.validate(spins))

    def _assemble(self, spins: np.ndarray) -> np.ndarray:
        bare = self._bare_for(*spins.shape[1:])
        return ham.assemble(bare, ham.exchange_blocks(self.model, spins))

    def spectrum(self, spins) -> np.ndarray:
        """All one-electron energies for spins ``(3, Ly, Lx)``, ascending, units of t1."""
        return scipy.linalg.eigvalsh(self.hamiltonian(spins), overwrite_a=True, check_finite=False)

    def band_energy(self, occupied: np.ndarray) -> float:
        """Electronic part of the energy (t1) of the one-electron levels ``occupied`` (those
        up to :meth:`occupation_cutoff`): the grand potential at kT > 0."""
        model = self.model
        if model.kT == 0.0:
            return float(np.sum(np.minimum(occupied - model.mu, 0.0)))
        # Grand potential; states above the cut-off add less than kT exp(-40) each.
        return float(-model.kT * np.sum(np.logaddexp(0.0, -(occupied - model.mu) / model.kT)))

    def occupation_cutoff(self) -> float:
        """Level (t1) above which occupations are below ``exp(-FERMI_CUTOFF)``."""
        return self.model.mu + FERMI_CUTOFF * self.model.kT

    def solve(self, spins, all_eigenvalues: bool = False) -> ExactResult:
        """Diagonalise and return energy, fields, spin density and spectrum."""
        spins = spinlib.validate(spins)
        model = self.model
        _, Ly, Lx = spins.shape
        matrix = self._assemble(spins)
        if all_eigenvalues:
            energies, states = scipy.linalg.eigh(matrix, overwrite_a=True, check_finite=False)
            keep = energies <= self.occupation_cutoff()
            occupied, states = energies[keep], states[:, keep]
        else:
            energies, states = occupied_eigenpairs(matrix, self.occupation_cutoff(),
                                                   self.device)
            occupied = energies
        weights = ham.fermi(occupied, model.mu, model.kT)
        density = spin_density_from_states(states, weights).reshape(3, Ly, Lx)
        fields = -model.J * density
        fields[2] += model.h
        return ExactResult(
            energy=self.band_energy(occupied) - model.h * spins[2].sum(),
            fields=fields,
            spin_density=density,
            eigenvalues=energies,
            electrons=float(weights.sum()),
        )

    def energy_and_fields(self, spins) -> tuple[float, np.ndarray]:
        """Total energy (units of t1) and local fields ``H = -dE/dS`` ``(3, Ly, Lx)``."""
        result = self.solve(spins)
        return result.energy, result.fields

    def energy(self, spins) -> float:
        """Total energy, units of t1 (eigenvalues only: cheaper than :meth:`solve`)."""
        spins = spinlib.validate(spins)
        occupied = occupied_eigenpairs(self._assemble(spins), self.occupation_cutoff(),
                                       self.device, vectors=False)
        return self.band_energy(occupied) - self.model.h * float(spins[2].sum())

    def torques(self, spins) -> np.ndarray:
        """Torques ``T_i = S_i x H_i``, ``(3, Ly, Lx)``, units of t1."""
        spins = spinlib.validate(spins)
        return spinlib.torques(spins, self.solve(spins).fields)


def field_response(solver: ExactSolver, spins, centre: tuple[int, int]) -> np.ndarray:
    """Exact linear response ``dH_c^a / dS_j^b`` of the field at ``centre = (y, x)`` to
    every spin, ``(3, 3, Ly, Lx)`` (a, b, y, x), units of t1, for the s-d parameters of
    ``solver``.

    Static Kubo formula with all eigenpairs of one diagonalisation:
    ``dH_c^a/dS_j^b = -J^2 sum_nm F_nm <n|sigma_c^a|m> <m|sigma_j^b|n>``,
    ``F_nm = (f_n - f_m) / (e_n - e_m)`` and ``F_nn = f'(e_n)`` (zero at kT = 0, where
    the response of a finite lattice is that of its discrete levels). The spins enter
    only through the Hamiltonian, so this is the derivative of the fields of
    :meth:`ExactSolver.solve` with respect to unconstrained ``S_j`` (tests: central finite
    differences). Cost: one
    full ``eigh`` and three ``2N x 2N`` matrix products, instead of the ``4 N``
    diagonalisations of finite differences.
    """
    spins = spinlib.validate(spins)
    model = solver.model
    _, Ly, Lx = spins.shape
    energies, states = scipy.linalg.eigh(solver.hamiltonian(spins), overwrite_a=True,
                                         check_finite=False)
    f = ham.fermi(energies, model.mu, model.kT)
    gap = energies[:, None] - energies[None, :]
    same = np.abs(gap) < 1e-10
    slope = -f * (1.0 - f) / model.kT if model.kT > 0 else np.zeros_like(f)
    with np.errstate(divide="ignore", invalid="ignore"):
        F = np.where(same, slope[:, None] + 0.0 * gap, (f[:, None] - f[None, :]) / gap)
    c = 2 * (centre[0] * Lx + centre[1])
    up, down = states[0::2], states[1::2]  # (N, M): psi_m(j, s)
    cu, cd = states[c].conj(), states[c + 1].conj()
    # <n|sigma_c^a|m> = sum_ss' conj(psi_n(c,s)) sigma^a_ss' psi_m(c,s')
    sigma_c = [np.outer(cu, states[c + 1]) + np.outer(cd, states[c]),
               -1j * np.outer(cu, states[c + 1]) + 1j * np.outer(cd, states[c]),
               np.outer(cu, states[c]) - np.outer(cd, states[c + 1])]
    out = np.empty((3, 3, Ly * Lx))
    for a in range(3):
        G = F * sigma_c[a]  # G_nm; the sum over n, m with <m|sigma_j^b|n>:
        # sum_nm G_nm conj(psi_m(j,s)) psi_n(j,s') = sum_m conj(psi_m(j,s)) (G^T psi)(j,s')
        Gu, Gd = up @ G, down @ G  # (N, M): sum_n psi_n(j, s') G_nm
        uu = np.einsum("jm,jm->j", up.conj(), Gu)
        dd = np.einsum("jm,jm->j", down.conj(), Gd)
        ud = np.einsum("jm,jm->j", up.conj(), Gd)  # s = up, s' = down
        du = np.einsum("jm,jm->j", down.conj(), Gu)
        out[a, 0] = (ud + du).real
        out[a, 1] = (-1j * ud + 1j * du).real
        out[a, 2] = (uu - dd).real
    return -model.J**2 * out.reshape(3, 3, Ly, Lx)
