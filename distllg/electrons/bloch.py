"""Exact energies and fields of periodic textures on the infinite lattice (Bloch's theorem).

A texture that repeats with a ``Ly x Lx`` supercell has eigenstates ``psi(r + R) =
exp(i theta . w) psi(r)`` for the supercell translations ``R = (wx Lx, wy Ly)``: the
Hamiltonian splits into one ``2N x 2N`` block per twist ``theta`` (N = Ly Lx), the
supercell Hamiltonian with the hopping across its edges multiplied by the phase of the
windings. Averaging the grand potential and the spin density over the ``ny x nx`` twists
``theta = 2 pi (a / nx, b / ny)`` is *exactly* ED of the texture tiled ``ny x nx`` times
(periodic lattice of ``ny Ly x nx Lx`` sites, tests), at the cost of ``nx ny`` small
diagonalisations instead of one of size ``2 N nx ny``; with many twists it converges to
the thermodynamic limit. This settles which periodic state (spiral, cone, crystal) has
the lowest energy without the finite-size effects of the lattices ED can hold
(docs/physics.md).

A uniform cone ``S_i = (cos theta cos q.r_i, cos theta sin q.r_i, sin theta)`` (a planar
spiral for theta = 0, the ferromagnet for theta = pi / 2) needs no supercell at all: it is
invariant under a translation followed by a spin rotation about z, which couples only
``(k, up)`` with ``(k + q, down)``; :func:`cone_energy_per_site` sums those 2 x 2 blocks
over a k-grid, for any q (a second method for the tests).

Units: energies per supercell (t1; ``energy_per_site`` divides by N), fields in t1.
"""

from __future__ import annotations

import numpy as np

from distllg import lattice
from distllg import spins as spinlib
from distllg.electrons import SDModel
from distllg.electrons import hamiltonian as ham
from distllg.electrons.exact import ExactSolver, occupied_eigenpairs, spin_density_from_states


def cone_energy_per_site(model: SDModel, q_frac, theta: float, k_points: int) -> float:
    """Energy per site (t1) of the infinite cone with wave vector ``q_frac`` (grid
    fractions: the phase advances ``2 pi q_frac`` per grid step along x, y) and canting
    ``theta`` (rad) towards +z, from the ``2 x 2`` blocks
    ``[[e(k) + J sin theta, J cos theta], [J cos theta, e(k + q) - J sin theta]]`` on a
    ``k_points x k_points`` grid (= ED of the cone on that periodic lattice when q fits it).
    """
    k = lattice.k_fractions(k_points, k_points).reshape(-1, 2)
    e_k = ham.band_energy(model, k)
    e_kq = ham.band_energy(model, k + np.asarray(q_frac, dtype=float))
    mean = 0.5 * (e_k + e_kq)
    split = np.hypot(0.5 * (e_k - e_kq) + model.J * np.sin(theta), model.J * np.cos(theta))
    levels = np.concatenate([mean - split, mean + split])
    exact = ExactSolver(model)
    band = exact.band_energy(levels[levels <= exact.occupation_cutoff()])
    return band / len(k) - model.h * np.sin(theta)


def twisted_hopping(model: SDModel, Ly: int, Lx: int, twist) -> np.ndarray:
    """Hopping part ``-t_ij exp(i theta . w_ij)`` of the supercell, complex ``(N, N)``.

    ``w_ij`` counts how often the bond from site i to its neighbour j wraps around the
    supercell along x and y; ``twist = (theta_x, theta_y)`` in radians. Bonds that wrap onto
    the same pair (small supercells) add up, so any ``Ly, Lx >= 1`` is allowed.
    """
    n = Ly * Lx
    y, x = np.divmod(np.arange(n), Lx)
    out = np.zeros((n, n), dtype=complex)
    for shell, t in model.hoppings.items():
        for dx, dy in lattice.NEIGHBOUR_OFFSETS[shell]:
            wx, xj = np.divmod(x + dx, Lx)
            wy, yj = np.divmod(y + dy, Ly)
            phase = np.exp(1j * (twist[0] * wx + twist[1] * wy))
            np.add.at(out, (np.arange(n), yj * Lx + xj), -t * phase)
    return out


class TwistAveragedSolver:
    """Field provider for periodic textures: ``energy_and_fields(spins) -> (E, H)`` of the
    supercell ``spins`` ``(3, Ly, Lx)`` repeated ``twists = (ny, nx)`` times along each axis
    (E per supercell, H on the supercell's sites), by one diagonalisation per twist, on the
    CPU or on the torch ``device`` (:func:`distllg.electrons.exact.occupied_eigenpairs`)."""

    #: Twisted hoppings kept between calls up to this many orbitals squared (4 twists of a
    #: 24 x 24 supercell: 85 MB); larger supercells rebuild them per call.
    KEEP_HOPPINGS = 4 * 1152**2

    def __init__(self, model: SDModel, twists: tuple[int, int], device=None):
        if min(twists) < 1:
            raise ValueError(f"twists must be >= 1 along each axis, got {twists}")
        self.model = model
        self.twists = tuple(int(n) for n in twists)
        self._exact = ExactSolver(model)  # band energy and occupation cut-off
        self.device = device
        self._kept: tuple[tuple[int, int], list[np.ndarray]] | None = None

    def _hoppings(self, Ly: int, Lx: int):
        """The ``2N x 2N`` twisted hopping of every twist in turn."""
        if self._kept is not None and self._kept[0] == (Ly, Lx):
            yield from self._kept[1]
            return
        ny, nx = self.twists
        built = []
        for b in range(ny):
            for a in range(nx):
                twist = (2 * np.pi * a / nx, 2 * np.pi * b / ny)
                hopping = np.kron(twisted_hopping(self.model, Ly, Lx, twist), np.eye(2))
                built.append(hopping)
                yield hopping
        if nx * ny * (2 * Ly * Lx) ** 2 <= self.KEEP_HOPPINGS:
            self._kept = ((Ly, Lx), built)

    def _matrices(self, spins: np.ndarray):
        """The ``2N x 2N`` Hamiltonian of every twist in turn (built when needed: storing
        them all would take ``16 (2N)^2`` bytes per twist)."""
        _, Ly, Lx = spins.shape
        blocks = ham.exchange_blocks(self.model, spins)
        for hopping in self._hoppings(Ly, Lx):
            yield ham.assemble(hopping, blocks)

    def _occupied(self, matrix: np.ndarray, vectors: bool):
        return occupied_eigenpairs(matrix, self._exact.occupation_cutoff(), self.device,
                                   vectors)

    def energy_and_fields(self, spins) -> tuple[float, np.ndarray]:
        """Energy per supercell (t1) and fields ``H = -dE/dS`` ``(3, Ly, Lx)`` (t1)."""
        spins = spinlib.validate(spins)
        _, Ly, Lx = spins.shape
        band, density = 0.0, np.zeros((3, Ly * Lx))
        for matrix in self._matrices(spins):
            energies, states = self._occupied(matrix, vectors=True)
            band += self._exact.band_energy(energies)
            density += spin_density_from_states(
                states, ham.fermi(energies, self.model.mu, self.model.kT))
        count = self.twists[0] * self.twists[1]
        fields = -self.model.J * density.reshape(3, Ly, Lx) / count
        fields[2] += self.model.h
        return band / count - self.model.h * spins[2].sum(), fields

    def energy(self, spins) -> float:
        """Energy per supercell, t1 (eigenvalues only)."""
        spins = spinlib.validate(spins)
        band = sum(self._exact.band_energy(self._occupied(matrix, vectors=False))
                   for matrix in self._matrices(spins))
        return band / (self.twists[0] * self.twists[1]) - self.model.h * float(spins[2].sum())

    def energy_per_site(self, spins) -> float:
        """Energy per site of the infinite tiled texture, t1."""
        return self.energy(spins) / (spins.shape[1] * spins.shape[2])


def exact_solver(model: SDModel, twists: int = 1, device=None):
    """The exact field provider of a periodic lattice: plain ED for ``twists = 1``, else the
    average over ``twists x twists`` twisted boundary conditions (ED of the lattice tiled
    that many times; removes the finite-size error of the band structure); diagonalised on
    the CPU, or on the torch ``device``."""
    if twists == 1:
        return ExactSolver(model, device)
    return TwistAveragedSolver(model, (twists, twists), device)
