"""Kernel polynomial method (KPM) on a distributed PETSc Hamiltonian: energy and local fields
in O(N M) for M Chebyshev moments (Weisse et al., RMP 78, 275 (2006); gradient-based probing
after Barros & Kato, PRB 88, 235101 (2013)).

Matrix. Debian's petsc4py is the real-scalar build, so the complex Hermitian s-d Hamiltonian
``H = A + iB`` (hamiltonian.py) is stored in its real symmetric form ``K = [[A, -B], [B, A]]``,
interleaved per site as 4x4 blocks over (Re up, Re down, Im up, Im down): a block-AIJ matrix
(block size 4) whose rows are partitioned like the tiles of the distributed engine (rank r
owns the sites of its tile, row-major). Hopping blocks are ``-t_ij 1_4``; the on-site block is
the real form of ``J S_i . sigma``. Every eigenvalue of H appears twice in K; probing only the
real parts counts each once.

Bounds. ``H = H_0 (x) 1 + J S . sigma`` with ``||J S_i . sigma|| = J``, so by Weyl's inequality
the spectrum lies in ``[min e(k) - J, max e(k) + J]`` for the bare bands e(k) on the lattice's
own k-grid: exact, independent of the spins (so that the energy is a smooth function of the
spins for finite differences), and tight. A 1 % margin is added. Bounds given by hand must
contain that interval; a spectrum outside the bounds would make the Chebyshev vectors grow
exponentially, which is checked at the end of every recursion.

Energy. The grand potential per state g(e) (``min(e - mu, 0)`` at kT = 0, ``-kT ln(1 +
exp(-(e - mu) / kT))`` otherwise: the ED definitions) is expanded in Chebyshev polynomials of
``K~ = (K - b) / a`` with Jackson damping: ``g ~ sum_m c_m T_m``. ``Tr g(H)`` is estimated with
probe vectors: sites coloured by ``(y mod d_y, x mod d_x)`` (``d`` the probing distance,
rounded up to divisors of Ly and Lx), one probe per colour and spin, each the sum of the unit
vectors of its sites (optionally with random signs, averaged over sets: ``probe_sets``);
off-diagonal elements between same-colour sites (at least d apart) are the probing error.

Fields. ``H_i = -dE/dS_i`` is the exact derivative of that estimate (same moments, same
probes): reverse-mode differentiation of the Chebyshev recursion. The adjoint vectors follow
``abar_m = c_m r + 2 K~ abar_{m+1} - abar_{m+2}``; the recursion's vectors are recomputed
backwards (``alpha_{m-1} = 2 K~ alpha_m - alpha_{m+1}``) instead of stored, so memory stays
O(N); the on-site 4x4 blocks of ``sum_m f_m abar_{m+1} alpha_m^T`` contract with the derivative
of the on-site block. Cost per evaluation: 3 M matrix-vector products per probe, 2 d_y d_x
probes.
"""

from __future__ import annotations

import warnings

import numpy as np

from distllg import lattice
from distllg.electrons import SDModel
from distllg.electrons import hamiltonian as ham

#: The smallest number of moments accepted.
MIN_MOMENTS = 32
#: Jackson-kernel energy resolution (pi a / M, units of t1) above which a warning is given.
RESOLUTION_WARNING = 0.1


class KPMError(ValueError):
    """Bad KPM parameters: too few moments, bounds that miss the spectrum, bad probing."""


def jackson_kernel(moments: int) -> np.ndarray:
    """Jackson damping factors ``g_m``, m = 0 .. M-1 (Weisse et al., eq. 71)."""
    m = np.arange(moments)
    q = np.pi / (moments + 1)
    return ((moments - m + 1) * np.cos(q * m) + np.sin(q * m) / np.tan(q)) / (moments + 1)


def chebyshev_coefficients(function, moments: int, scale: float, center: float) -> np.ndarray:
    """``c_m`` with ``function(scale x + center) ~ sum_m c_m T_m(x)`` on [-1, 1], Jackson
    damped; from Chebyshev-Gauss quadrature on 4 M nodes."""
    nodes = 4 * moments
    theta = np.pi * (np.arange(nodes) + 0.5) / nodes
    values = function(scale * np.cos(theta) + center)
    c = (2.0 / nodes) * (np.cos(np.outer(np.arange(moments), theta)) @ values)
    c[0] /= 2.0
    return c * jackson_kernel(moments)


def state_energy(model: SDModel):
    """The per-state grand potential g(e) of ED (see exact.py), vectorised."""
    if model.kT == 0.0:
        return lambda e: np.minimum(e - model.mu, 0.0)
    return lambda e: -model.kT * np.logaddexp(0.0, -(e - model.mu) / model.kT)


def spectral_bounds(model: SDModel, Ly: int, Lx: int) -> tuple[float, float]:
    """``(lower, upper)``: exact spin-independent bounds of the one-electron spectrum."""
    bands = ham.band_energy(model, lattice.k_fractions(Ly, Lx))
    return float(bands.min() - model.J), float(bands.max() + model.J)


def probe_periods(Ly: int, Lx: int, distance: int) -> tuple[int, int]:
    """``(d_y, d_x)``: the smallest divisors of Ly and Lx that are >= ``distance``."""
    def period(n: int) -> int:
        return next(d for d in range(min(max(distance, 1), n), n + 1) if n % d == 0)

    return period(Ly), period(Lx)


# Derivatives of the real 4x4 on-site block (Re up, Re dn, Im up, Im dn) by S^x, S^y, S^z,
# as the (p, q, sign) entries: dE/dS^a = sum sign * G_pq.
_BLOCK_DERIVATIVES = (
    ((0, 1, 1.0), (1, 0, 1.0), (2, 3, 1.0), (3, 2, 1.0)),
    ((0, 3, 1.0), (1, 2, -1.0), (2, 1, -1.0), (3, 0, 1.0)),
    ((0, 0, 1.0), (1, 1, -1.0), (2, 2, 1.0), (3, 3, -1.0)),
)


def onsite_blocks(J: float, spins: np.ndarray) -> np.ndarray:
    """Real forms ``(n, 4, 4)`` of ``J S_i . sigma`` for spins ``(3, n)``."""
    sx, sy, sz = (J * spins[a] for a in range(3))
    zero = np.zeros_like(sx)
    return np.stack([np.stack([sz, sx, zero, sy], -1), np.stack([sx, -sz, -sy, zero], -1),
                     np.stack([zero, -sy, sz, sx], -1), np.stack([sy, zero, sx, -sz], -1)],
                    axis=-2)


class KPMSolver:
    """Field provider by KPM: ``energy_and_fields(spins) -> (E, H)`` on this rank's tile.

    Parameters
    ----------
    model : SDModel
    shape : ``(Ly, Lx)`` of the whole lattice
    moments : number of Chebyshev moments M
    probe_distance : probing distance d (sites); ``None`` or >= L probes every site alone
        (exact traces, 2 N probes)
    comm : mpi4py communicator of the ranks (default: a one-rank COMM_SELF)
    tiles : every rank's ``(y0, y1, x0, x1)`` in rank order (default: one tile, the lattice)
    bounds : ``(lower, upper)`` of the spectrum; default: :func:`spectral_bounds`
    probe_sets : 0: every site enters its probe with +1; S >= 1: S sets of probes in which
        every site enters with a random sign (+-1, from ``probe_seed``, fixed per site
        whatever the rank count), averaged. Random signs turn the coherent sum of the
        same-colour off-diagonal elements into an incoherent one (halves the field error at
        d = 12), and averaging S sets shrinks it as 1 / sqrt(S), at S times the cost.
    probe_seed : seed of the random signs
    """

    def __init__(self, model: SDModel, shape: tuple[int, int], moments: int = 2048,
                 probe_distance: int | None = None, comm=None, tiles=None, bounds=None,
                 probe_sets: int = 0, probe_seed: int = 0):
        from mpi4py import MPI

        self.model = model
        self.Ly, self.Lx = Ly, Lx = int(shape[0]), int(shape[1])
        self.comm = MPI.COMM_SELF if comm is None else comm
        tiles = [(0, Ly, 0, Lx)] if tiles is None else [tuple(t) for t in tiles]
        if len(tiles) != self.comm.Get_size():
            raise KPMError(f"{len(tiles)} tiles for {self.comm.Get_size()} ranks")
        if moments < MIN_MOMENTS:
            raise KPMError(f"KPM needs at least {MIN_MOMENTS} Chebyshev moments; got "
                           f"moments = {moments}")
        self.moments = int(moments)
        exact = spectral_bounds(model, Ly, Lx)
        if bounds is None:
            width = exact[1] - exact[0]
            bounds = (exact[0] - 0.01 * width, exact[1] + 0.01 * width)
        elif not (bounds[0] <= exact[0] and exact[1] <= bounds[1]):
            raise KPMError(f"KPM bounds {tuple(bounds)} do not contain the spectrum, which "
                           f"reaches [{exact[0]:.4f}, {exact[1]:.4f}] (bands +- J)")
        self.lower, self.upper = float(bounds[0]), float(bounds[1])
        self.scale = (self.upper - self.lower) / 2.0
        self.center = (self.upper + self.lower) / 2.0
        resolution = np.pi * self.scale / self.moments
        if model.kT == 0.0:
            warnings.warn("KPM at kT = 0 converges slowly in the fields (1.6 % at M = 2048 on "
                          "L = 12, docs/physics.md): the Fermi step is resolved only to "
                          "pi a / M; use an electron temperature kT > 0 for ground truth",
                          stacklevel=2)
        elif resolution > RESOLUTION_WARNING:
            warnings.warn(f"KPM with {moments} moments resolves energies only to "
                          f"{resolution:.3f} t1 (pi a / M, spectrum half-width a = "
                          f"{self.scale:.2f}): use more moments", stacklevel=2)
        self.coefficients = chebyshev_coefficients(state_energy(model), self.moments,
                                                   self.scale, self.center)
        self.periods = probe_periods(Ly, Lx, Ly + Lx if probe_distance is None
                                     else int(probe_distance))
        rank = self.comm.Get_rank()
        self.tile = tiles[rank]
        y0, y1, x0, x1 = self.tile
        self.n_local = (y1 - y0) * (x1 - x0)
        # PETSc site index of every lattice site: the tiles in rank order, row-major within.
        self.index = np.empty((Ly, Lx), dtype=np.int64)
        offset = 0
        for ty0, ty1, tx0, tx1 in tiles:
            count = (ty1 - ty0) * (tx1 - tx0)
            self.index[ty0:ty1, tx0:tx1] = (offset + np.arange(count)).reshape(ty1 - ty0,
                                                                              tx1 - tx0)
            offset += count
        if offset != Ly * Lx:
            raise KPMError(f"the tiles cover {offset} sites, the lattice has {Ly * Lx}")
        self.first = int(self.index[y0, x0]) if self.n_local else 0
        ys, xs = np.mgrid[y0:y1, x0:x1]
        colour = (ys % self.periods[0]) * self.periods[1] + xs % self.periods[1]
        self.colour = colour.ravel()
        if probe_sets < 0:
            raise KPMError(f"probe_sets must be >= 0, got {probe_sets}")
        signs = (np.ones((1, Ly, Lx)) if probe_sets == 0 else np.random.default_rng(
            probe_seed).choice([-1.0, 1.0], size=(probe_sets, Ly, Lx)))
        self.signs = signs[:, y0:y1, x0:x1].reshape(len(signs), -1)
        self.matrix = self._hopping_matrix()

    # -- the matrix ----------------------------------------------------------------------

    def _hopping_matrix(self):
        from petsc4py import PETSc

        rows, cols, values = ham.bond_list(self.model, self.Ly, self.Lx)
        flat = self.index.ravel()
        y0, y1, x0, x1 = self.tile
        ys, xs = np.mgrid[y0:y1, x0:x1]
        mine = np.zeros(self.Ly * self.Lx, dtype=bool)
        mine[(ys * self.Lx + xs).ravel()] = True
        keep = mine[rows]
        rows, cols, values = flat[rows[keep]], flat[cols[keep]], values[keep]
        per_row = 1 + (np.bincount(rows - self.first, minlength=self.n_local).max()
                       if rows.size else 0)
        n = self.Ly * self.Lx
        matrix = PETSc.Mat().createBAIJ(size=((4 * self.n_local, 4 * n),) * 2, bsize=4,
                                        nnz=(per_row, per_row), comm=self.comm)
        matrix.setOption(PETSc.Mat.Option.NEW_NONZERO_ALLOCATION_ERR, True)
        eye = np.eye(4)
        for row, col, value in zip(rows, cols, values, strict=True):
            matrix.setValuesBlocked([row], [col], (value / self.scale) * eye,
                                    addv=PETSc.InsertMode.ADD_VALUES)
        matrix.assemble(PETSc.Mat.AssemblyType.FLUSH)  # before INSERT may follow ADD
        self._diagonal = np.arange(self.first, self.first + self.n_local, dtype=PETSc.IntType)
        self._set_onsite(matrix, np.zeros((3, self.n_local)))
        return matrix

    def _set_onsite(self, matrix, spins: np.ndarray) -> None:
        """On-site blocks of ``K~ = (K - center) / scale`` for local spins ``(3, n)``."""
        from petsc4py import PETSc

        blocks = (onsite_blocks(self.model.J, spins) - self.center * np.eye(4)) / self.scale
        for site, block in zip(self._diagonal, blocks, strict=True):
            matrix.setValuesBlocked([site], [site], block, addv=PETSc.InsertMode.INSERT_VALUES)
        matrix.assemble()

    # -- evaluation ----------------------------------------------------------------------

    def energy_and_fields(self, spins: np.ndarray) -> tuple[float, np.ndarray]:
        """Total energy (units of t1, all ranks) and this tile's fields ``(3, ny, nx)`` for
        this tile's spins ``(3, ny, nx)``; collective."""
        spins = np.asarray(spins, dtype=float)
        local = spins.reshape(3, -1)
        if local.shape[1] != self.n_local:
            raise KPMError(f"spins of {local.shape[1]} sites for a tile of {self.n_local}")
        self._set_onsite(self.matrix, local)
        energy, gradient = 0.0, np.zeros((3, self.n_local))
        for signs in self.signs:
            for colour in range(self.periods[0] * self.periods[1]):
                for spin in range(2):
                    e, g = self._probe(colour, spin, signs)
                    energy += e / len(self.signs)
                    gradient += g / len(self.signs)
        fields = -(self.model.J / self.scale) * gradient
        fields[2] += self.model.h
        zeeman = self.comm.allreduce(float(local[2].sum()))
        return energy - self.model.h * zeeman, fields.reshape(spins.shape)

    def _probe(self, colour: int, spin: int, signs: np.ndarray) -> tuple[float, np.ndarray]:
        """Energy estimate of one probe and its gradient by the on-site blocks, contracted
        with the block derivatives: ``(E_r, (3, n_local))``."""
        K, c, M = self.matrix, self.coefficients, self.moments
        r = K.createVecRight()
        view = r.getArray().reshape(self.n_local, 4)
        chosen = self.colour == colour
        view[chosen, spin] = signs[chosen]
        r.assemble()
        # forward: alpha_0 = r, alpha_1 = K r, alpha_{m+1} = 2 K alpha_m - alpha_{m-1}
        previous, current, work = r.copy(), r.duplicate(), r.duplicate()
        K.mult(previous, current)
        energy = c[0] * r.dot(previous) + c[1] * r.dot(current)
        for m in range(1, M - 1):
            K.mult(current, work)
            previous.axpby(2.0, -1.0, work)  # previous <- 2 K alpha_m - alpha_{m-1}
            previous, current = current, previous
            energy += c[m + 1] * r.dot(current)
        if current.norm() > 10.0 * r.norm():
            raise KPMError(f"the Chebyshev vectors grow (|alpha_M| = {current.norm():.3g} "
                           f"for |r| = {r.norm():.3g}): the spectrum is not inside the KPM "
                           f"bounds [{self.lower}, {self.upper}]")
        # backward: alpha_m = current (m = M-1), alpha_{m-1} = previous (m-1 = M-2);
        # adjoints abar_{m+1} = 0, abar_{m+2} = 0.
        alpha_m, alpha_prev = current, previous
        bar_next, bar_next2 = r.duplicate(), r.duplicate()
        bar_next.set(0.0)
        bar_next2.set(0.0)
        bar = r.duplicate()
        gradient = np.zeros((3, self.n_local))
        for m in range(M - 1, 0, -1):
            # abar_m = c_m r + 2 K abar_{m+1} - abar_{m+2}
            K.mult(bar_next, bar)
            bar.axpby(-1.0, 2.0, bar_next2)  # bar <- 2 K abar_{m+1} - abar_{m+2}
            bar.axpy(c[m], r)
            # alpha_{m-1} is alpha_prev; gradient += f_{m-1} abar_m alpha_{m-1}^T
            weight = 1.0 if m == 1 else 2.0
            self._accumulate(gradient, bar, alpha_prev, weight)
            if m >= 2:  # alpha_{m-2} = 2 K alpha_{m-1} - alpha_m (alpha_0 = r)
                K.mult(alpha_prev, work)
                alpha_m.axpby(2.0, -1.0, work)
                alpha_m, alpha_prev = alpha_prev, alpha_m
                if m == 2:
                    alpha_prev = r
            bar_next2, bar_next, bar = bar_next, bar, bar_next2
        return energy, gradient

    def _accumulate(self, gradient: np.ndarray, bar, alpha, weight: float) -> None:
        u = bar.getArray(readonly=True).reshape(self.n_local, 4)
        v = alpha.getArray(readonly=True).reshape(self.n_local, 4)
        for a, entries in enumerate(_BLOCK_DERIVATIVES):
            for p, q, sign in entries:
                gradient[a] += (weight * sign) * u[:, p] * v[:, q]
