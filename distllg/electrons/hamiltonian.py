"""The s-d Hamiltonian as a dense matrix, its band structure and the bare susceptibility.

Basis: orbital ``2 i + s`` is spin ``s`` (0 = up, 1 = down along z) on flat site
``i = y * Lx + x``. The one-electron Hamiltonian for local spins ``S_i`` is

    H = -sum_{i,j} t_ij (c+_i c_j) (x) 1  +  J sum_i S_i . sigma_i

(the Zeeman term -h sum_i S_i^z acts on the local spins only; it enters the energy, not H).
Energies are in units of t1.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from distllg import lattice
from distllg.electrons import SDModel


def bond_list(model: SDModel, Ly: int, Lx: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed bonds ``(i, j, -t_ij)`` of all non-zero hopping shells, both directions.

    Checks first that the lattice keeps every used shell distinct (:func:`lattice.check_size`).
    """
    shells = tuple(model.hoppings)
    lattice.check_size(Ly, Lx, shells)
    rows, cols, values = [], [], []
    for shell, t in model.hoppings.items():
        table = lattice.neighbour_table(Ly, Lx, shell)
        rows.append(np.repeat(np.arange(Ly * Lx), table.shape[1]))
        cols.append(table.ravel())
        values.append(np.full(table.size, -t))
    if not rows:
        empty = np.zeros(0, dtype=int)
        return empty, empty, np.zeros(0)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(values)


def hopping_matrix(model: SDModel, Ly: int, Lx: int) -> np.ndarray:
    """Spin-independent hopping part ``<i|H|j> = -t_ij`` on sites, real ``(N, N)``."""
    n = Ly * Lx
    rows, cols, values = bond_list(model, Ly, Lx)
    matrix = np.zeros((n, n))
    np.add.at(matrix, (rows, cols), values)
    return matrix


def exchange_blocks(model: SDModel, spins: np.ndarray) -> np.ndarray:
    """On-site 2x2 blocks ``J S_i . sigma``, complex ``(N, 2, 2)`` for spins ``(3, Ly, Lx)``."""
    sx, sy, sz = (model.J * spins[a].ravel() for a in range(3))
    blocks = np.empty((sx.size, 2, 2), dtype=complex)
    blocks[:, 0, 0] = sz
    blocks[:, 0, 1] = sx - 1j * sy
    blocks[:, 1, 0] = sx + 1j * sy
    blocks[:, 1, 1] = -sz
    return blocks


def bare_hamiltonian(model: SDModel, Ly: int, Lx: int) -> np.ndarray:
    """Spin-independent part ``-t_ij (x) 1`` in the orbital basis, complex ``(2N, 2N)``."""
    return np.kron(hopping_matrix(model, Ly, Lx), np.eye(2)).astype(complex)


def assemble(bare: np.ndarray, blocks: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Full Hamiltonian: the bare part ``(2N, 2N)`` plus on-site blocks ``(N, 2, 2)``.

    ``out`` (complex ``(2N, 2N)``, may not be ``bare``) is overwritten and returned when given.
    The blocks are added to the on-site blocks of ``bare``: zero on a periodic lattice, not
    in a twisted supercell narrower than the hopping range (:mod:`distllg.electrons.bloch`),
    where a site hops to its own images.
    """
    n = blocks.shape[0]
    if out is None:
        out = np.empty_like(bare)
    np.copyto(out, bare)
    site = np.arange(n)
    out.reshape(n, 2, n, 2)[site, :, site, :] += blocks
    return out


def hamiltonian(model: SDModel, spins: np.ndarray) -> np.ndarray:
    """Dense complex Hermitian ``(2N, 2N)`` Hamiltonian for spins ``(3, Ly, Lx)``."""
    _, Ly, Lx = spins.shape
    return assemble(bare_hamiltonian(model, Ly, Lx), exchange_blocks(model, spins))


def band_energy(model: SDModel, k_frac) -> np.ndarray:
    """Bare band ``e(k) = -sum_delta t_delta cos(k . delta)`` (J = 0), units of t1.

    ``k_frac`` are wave vectors as grid fractions ``(..., 2)`` (see :mod:`distllg.lattice`);
    the sum runs over the six offsets of every hopping shell. In a fully polarised state
    along n the spectrum is ``e(k) + J`` (electron spin along n) and ``e(k) - J``.
    """
    k_frac = np.asarray(k_frac, dtype=float)
    energy = np.zeros(k_frac.shape[:-1])
    for shell, t in model.hoppings.items():
        offsets = lattice.NEIGHBOUR_OFFSETS[shell]
        phase = 2.0 * np.pi * (k_frac @ offsets.T.astype(float))
        energy -= t * np.cos(phase).sum(axis=-1)
    return energy


def fermi(energy, mu: float, kT: float) -> np.ndarray:
    """Fermi occupation ``1 / (exp((e - mu) / kT) + 1)``; a step ``e < mu`` when kT = 0."""
    energy = np.asarray(energy, dtype=float)
    if kT == 0.0:
        return (energy < mu).astype(float)
    return expit(-(energy - mu) / kT)


def bare_susceptibility(model: SDModel, q_frac, k_frac, kT: float | None = None) -> np.ndarray:
    """Static Lindhard susceptibility of the J = 0 electrons, per spin species and per site.

        chi0(q) = (1 / N_k) sum_k [f(e_k) - f(e_{k+q})] / (e_{k+q} - e_k)   (>= 0, units 1/t1)

    ``q_frac`` ``(..., 2)`` and the k-grid ``k_frac`` ``(..., 2)`` are grid fractions. Equal
    energies use the limit ``-f'(e)``. A finite grid needs ``kT > 0`` (default ``model.kT``)
    to smooth the Fermi surface. Second-order perturbation theory links it to the
    real-space model: ``E(J) - E(0) = -J^2 sum_q chi0(q) |S_q|^2 / N + O(J^4)``.
    """
    kT = model.kT if kT is None else float(kT)
    if not kT > 0.0:
        raise ValueError(
            "bare_susceptibility needs an electron temperature kT > 0 to smooth the Fermi "
            f"surface on a finite k-grid; got kT = {kT}"
        )
    q_frac = np.asarray(q_frac, dtype=float)
    k_flat = np.asarray(k_frac, dtype=float).reshape(-1, 2)
    e_k = band_energy(model, k_flat)
    f_k = fermi(e_k, model.mu, kT)
    q_flat = q_frac.reshape(-1, 2)
    chi = np.empty(len(q_flat))
    for index, q in enumerate(q_flat):
        e_kq = band_energy(model, k_flat + q)
        f_kq = fermi(e_kq, model.mu, kT)
        de = e_kq - e_k
        close = np.abs(de) < 1e-9
        ratio = np.where(close, f_k * (1.0 - f_k) / kT, (f_k - f_kq) / np.where(close, 1.0, de))
        chi[index] = ratio.mean()
    return chi.reshape(q_frac.shape[:-1])


def susceptibility_map(model: SDModel, n_q: int, n_k: int, kT: float) -> tuple[np.ndarray,
                                                                               np.ndarray]:
    """``chi0`` on the ``n_q x n_q`` grid of wave vectors, summed over an ``n_k x n_k`` k-grid.

    Returns ``(q_frac (n_q, n_q, 2), chi0 (n_q, n_q))``; see :func:`bare_susceptibility`.
    """
    q_frac = lattice.k_fractions(n_q, n_q)
    return q_frac, bare_susceptibility(model, q_frac, lattice.k_fractions(n_k, n_k), kT)
