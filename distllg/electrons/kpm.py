"""Kernel polynomial method (KPM) on a distributed PETSc Hamiltonian: energy and local fields
in O(N M) for M Chebyshev moments (Weisse et al., RMP 78, 275 (2006); gradient-based probing
after Barros & Kato, PRB 88, 235101 (2013)).

Matrix. Debian's petsc4py is the real-scalar build, so the complex Hermitian s-d Hamiltonian
``H = A + iB`` (hamiltonian.py) is stored in its real symmetric form ``K = [[A, -B], [B, A]]``,
interleaved per site as (Re up, Re down, Im up, Im down): a distributed AIJ matrix whose rows
are partitioned like the tiles of the distributed engine (rank r owns the sites of its tile,
row-major), holding only its structural non-zeros (``-t_ij`` on each of the four components
of a bond, three per row on site: the real form of ``J S_i . sigma``). Every eigenvalue of H
appears twice in K; probing only the real parts counts each once.

Bounds. ``H = H_0 (x) 1 + J S . sigma`` with ``||J S_i . sigma|| = J``, so by Weyl's inequality
the spectrum lies in ``[min e(k) - J, max e(k) + J]`` for the bare bands e(k) on the lattice's
own k-grid: exact, independent of the spins (so that the energy is a smooth function of the
spins for finite differences), and tight. A 1 % margin is added. Bounds given by hand must
contain that interval; a spectrum outside the bounds would make the Chebyshev vectors grow
exponentially, which is checked at the end of every recursion.

Energy. The grand potential per state g(e) (``min(e - mu, 0)`` at kT = 0, ``-kT ln(1 +
exp(-(e - mu) / kT))`` otherwise: the ED definitions) is expanded in Chebyshev polynomials of
``K~ = (K - b) / a``: ``g ~ sum_m c_m T_m``. At kT > 0 g is analytic in a strip of half-width
pi kT around the real axis, and the plain truncated series converges geometrically, about as
exp(-c M pi kT / a) (field error 3e-5 at M = 128, kT = 0.1; the Jackson-damped series gives
2.8e-3 at M = 256, docs/physics.md); at kT = 0 the kink of g needs Jackson damping.
``Tr g(H)`` is estimated with probe vectors: sites coloured by ``(y mod d_y, x mod d_x)``
(``d`` the probing distance, rounded up to divisors of Ly and Lx), one probe per colour and
spin, each the sum of the unit vectors of its sites (optionally with random signs, averaged
over sets: ``probe_sets``); off-diagonal elements between same-colour sites (at least d apart)
are the probing error.

Fields. ``H_i = -dE/dS_i`` is the exact derivative of that estimate (same moments, same
probes): reverse-mode differentiation of the Chebyshev recursion. The adjoint vectors follow
``abar_m = c_m r + 2 K~ abar_{m+1} - abar_{m+2}``; the recursion's vectors are kept from the
forward pass where they fit in HISTORY_MEMORY, else recomputed backwards (``alpha_{m-1} =
2 K~ alpha_m - alpha_{m+1}``), so memory stays O(N); the on-site 4x4 blocks of ``sum_m f_m
abar_{m+1} alpha_m^T`` contract with the derivative of the on-site block. Cost per evaluation:
2 M (kept) or 3 M (recomputed) matrix products per probe, 2 d_y d_x probes per set. The
probes advance together in blocks (``block`` probes, PETSc dense matrices multiplied by the
sparse K~ with MatMatMult), which reads the matrix once per block and moment instead of once
per probe.
"""

from __future__ import annotations

import warnings

import numpy as np

from distllg import lattice
from distllg.electrons import SDModel
from distllg.electrons import hamiltonian as ham

#: The smallest number of moments accepted.
MIN_MOMENTS = 32
#: At kT > 0 the plain series converges as exp(-c M pi kT / a) (a: spectrum half-width);
#: below this many e-foldings the field error exceeds about 1e-3 and a warning is given.
MIN_EFOLDINGS = 4.0
#: Probes advanced together by default (fastest on one core from L = 24 to 48: 32 probes
#: take 30 % less time per probe than 288 at L = 24, the same at L = 48), at most as many as
#: fit in BLOCK_MEMORY bytes per rank.
BLOCK_PROBES = 32
BLOCK_MEMORY = 256 * 2**20
#: Memory (bytes per rank) for the Chebyshev vectors of one block kept for the backward pass;
#: beyond it they are recomputed (one more matrix product per moment).
HISTORY_MEMORY = 512 * 2**20


class KPMError(ValueError):
    """Bad KPM parameters: too few moments, bounds that miss the spectrum, bad probing."""


def jackson_kernel(moments: int) -> np.ndarray:
    """Jackson damping factors ``g_m``, m = 0 .. M-1 (Weisse et al., eq. 71)."""
    m = np.arange(moments)
    q = np.pi / (moments + 1)
    return ((moments - m + 1) * np.cos(q * m) + np.sin(q * m) / np.tan(q)) / (moments + 1)


def chebyshev_coefficients(function, moments: int, scale: float, center: float,
                           damped: bool = True) -> np.ndarray:
    """``c_m`` with ``function(scale x + center) ~ sum_m c_m T_m(x)`` on [-1, 1], Jackson
    damped or (``damped=False``) the plain truncated series; from Chebyshev-Gauss
    quadrature on 4 M nodes."""
    nodes = 4 * moments
    theta = np.pi * (np.arange(nodes) + 0.5) / nodes
    values = function(scale * np.cos(theta) + center)
    c = (2.0 / nodes) * (np.cos(np.outer(np.arange(moments), theta)) @ values)
    c[0] /= 2.0
    return c * jackson_kernel(moments) if damped else c


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


#: Columns (within the site's four) of the three on-site non-zeros of each real component row
#: (Re up, Re dn, Im up, Im dn) of the real form of ``J S . sigma``:
#: ``[[Sz, Sx, 0, Sy], [Sx, -Sz, -Sy, 0], [0, -Sy, Sz, Sx], [Sy, 0, Sx, -Sz]]`` times J.
_ONSITE_COLUMNS = np.array([[0, 1, 3], [0, 1, 2], [1, 2, 3], [0, 2, 3]])


class KPMOperator:
    """``K~ = (K - center) / scale`` of the s-d Hamiltonian for the spins of the latest
    :meth:`set_spins`, as a distributed PETSc AIJ matrix: the rows of this rank's tile (4
    real rows per site: Re and Im of both spin components), in the PETSc site order of
    :attr:`index` (the tiles in rank order, row-major within). Stores only the structural
    non-zeros: 4 per hopping (``-t_ij / scale`` on each real component) and 3 per row on
    site, which :meth:`set_spins` overwrites.

    ``tiles``: every rank's ``(y0, y1, x0, x1)`` in the rank order of ``comm``."""

    def __init__(self, model: SDModel, shape: tuple[int, int], tiles: list, comm,
                 center: float, scale: float):
        self.model, self.comm, self.center, self.scale = model, comm, center, scale
        self.Ly, self.Lx = Ly, Lx = shape
        self.tile = tiles[comm.Get_rank()]
        y0, y1, x0, x1 = self.tile
        self.n_local = (y1 - y0) * (x1 - x0)
        # Sizes that change the sequence of collective products are decided from the largest
        # tile, the same on every rank.
        self.n_largest = max((t[1] - t[0]) * (t[3] - t[2]) for t in tiles)
        self.index = np.empty((Ly, Lx), dtype=np.int64)
        offset = 0
        for ty0, ty1, tx0, tx1 in tiles:
            count = (ty1 - ty0) * (tx1 - tx0)
            self.index[ty0:ty1, tx0:tx1] = (offset + np.arange(count)).reshape(ty1 - ty0,
                                                                              tx1 - tx0)
            offset += count
        self.first = int(self.index[y0, x0]) if self.n_local else 0
        self.matrix, self._onsite_rows, self._onsite_cols = self._build()

    def _build(self):
        """The matrix with zeros on site, and the global rows and columns of the on-site
        entries, ``(4 n, 1)`` and ``(4 n, 3)``."""
        import scipy.sparse as sparse
        from petsc4py import PETSc

        rows, cols, values = ham.bond_list(self.model, self.Ly, self.Lx)
        flat = self.index.ravel()
        y0, y1, x0, x1 = self.tile
        ys, xs = np.mgrid[y0:y1, x0:x1]
        mine = np.zeros(self.Ly * self.Lx, dtype=bool)
        mine[(ys * self.Lx + xs).ravel()] = True
        keep = mine[rows]
        rows, cols = flat[rows[keep]] - self.first, flat[cols[keep]]
        values = values[keep] / self.scale
        if np.any(rows + self.first == cols):  # its entries would be overwritten on site
            raise KPMError(f"a site is its own neighbour on the {self.Ly} x {self.Lx} lattice")
        component = np.arange(4)
        hop_rows = (4 * rows[:, None] + component).ravel()
        hop_cols = (4 * cols[:, None] + component).ravel()
        site_rows = 4 * np.arange(self.n_local)[:, None] + component  # (n, 4)
        onsite_rows = np.repeat(site_rows.ravel(), 3)
        onsite_cols = (4 * (self.first + np.arange(self.n_local))[:, None, None]
                       + _ONSITE_COLUMNS).ravel()
        n = self.Ly * self.Lx
        local = sparse.coo_matrix(
            (np.concatenate([np.repeat(values, 4), np.zeros(onsite_rows.size)]),
             (np.concatenate([hop_rows, onsite_rows]), np.concatenate([hop_cols, onsite_cols]))),
            shape=(4 * self.n_local, 4 * n)).tocsr()
        local.sum_duplicates()
        local.sort_indices()
        matrix = PETSc.Mat().createAIJ(size=((4 * self.n_local, 4 * n),) * 2,
                                       csr=(local.indptr.astype(PETSc.IntType),
                                            local.indices.astype(PETSc.IntType), local.data),
                                       comm=self.comm)
        offset = 4 * self.first
        return (matrix, (onsite_rows.reshape(-1, 3)[:, :1] + offset).astype(PETSc.IntType),
                onsite_cols.reshape(-1, 3).astype(PETSc.IntType))

    def set_spins(self, spins: np.ndarray) -> None:
        """Write the on-site blocks for local spins ``(3, n)``: the real form of
        ``(J S . sigma - center) / scale`` (_ONSITE_COLUMNS)."""
        from petsc4py import PETSc

        J, c, a = self.model.J, self.center, self.scale
        plus, minus = (J * spins[2] - c) / a, (-J * spins[2] - c) / a
        sx, sy = J * spins[0] / a, J * spins[1] / a
        entries = np.stack([np.stack([plus, sx, sy], -1), np.stack([sx, minus, -sy], -1),
                            np.stack([-sy, plus, sx], -1), np.stack([sy, sx, minus], -1)],
                           axis=1).reshape(-1, 3)  # rows 4 i + q, columns _ONSITE_COLUMNS[q]
        self.matrix.setValuesRCV(self._onsite_rows, self._onsite_cols, entries[:, None, :],
                                 addv=PETSc.InsertMode.INSERT_VALUES)
        self.matrix.assemble()

    def dense(self, probes: int):
        """A zeroed dense block of ``probes`` columns, rows like the operator."""
        from petsc4py import PETSc

        block = PETSc.Mat().createDense(size=((4 * self.n_local, 4 * self.Ly * self.Lx),
                                              (PETSc.DECIDE, probes)), comm=self.comm)
        block.setUp()
        block.getDenseArray()[...] = 0.0
        block.assemble()
        return block

    def components(self, block) -> np.ndarray:
        """View ``(probes, n_local, 4)`` of a dense block's local rows."""
        local = block.getDenseArray()  # (4 n_local, P), column-major
        return local.T.reshape(local.shape[1], self.n_local, 4)


def kpm_bounds(model: SDModel, shape: tuple[int, int], moments: int,
               bounds=None) -> tuple[float, float]:
    """``(lower, upper)`` of the spectrum for KPM: 1 % beyond the exact bounds by default, or
    ``bounds`` if they contain them; warns when ``moments`` cannot resolve the Fermi
    function (kT = 0, or M pi kT / a < MIN_EFOLDINGS)."""
    exact = spectral_bounds(model, *shape)
    if bounds is None:
        width = exact[1] - exact[0]
        bounds = (exact[0] - 0.01 * width, exact[1] + 0.01 * width)
    elif not (bounds[0] <= exact[0] and exact[1] <= bounds[1]):
        raise KPMError(f"KPM bounds {tuple(bounds)} do not contain the spectrum, which "
                       f"reaches [{exact[0]:.4f}, {exact[1]:.4f}] (bands +- J)")
    scale = (bounds[1] - bounds[0]) / 2.0
    if model.kT == 0.0:
        warnings.warn("KPM at kT = 0 converges slowly in the fields (1.6 % at M = 2048 on "
                      "L = 12, docs/physics.md): the Fermi step is resolved only to "
                      "pi a / M; use an electron temperature kT > 0 for ground truth",
                      stacklevel=3)
    elif moments * np.pi * model.kT / scale < MIN_EFOLDINGS:
        needed = int(np.ceil(MIN_EFOLDINGS * scale / (np.pi * model.kT)))
        warnings.warn(f"KPM with {moments} moments at kT = {model.kT} truncates the Fermi "
                      f"function at about 1e-3 or worse (M pi kT / a = "
                      f"{moments * np.pi * model.kT / scale:.2f} < {MIN_EFOLDINGS}, spectrum "
                      f"half-width a = {scale:.2f}): use at least {needed} moments",
                      stacklevel=3)
    return float(bounds[0]), float(bounds[1])


class Probes:
    """The probe vectors on this tile: sites coloured by their position modulo
    ``periods`` (sites of one colour are at least the probing distance apart), with signs
    per probe set; ``items`` lists ``(sign set, colour, spin component)`` of every probe, and
    ``block`` how many advance together."""

    def __init__(self, shape: tuple[int, int], tile: tuple[int, int, int, int],
                 probe_distance, probe_sets: int, probe_seed: int, block, n_largest: int):
        Ly, Lx = shape
        self.periods = probe_periods(Ly, Lx, Ly + Lx if probe_distance is None
                                     else int(probe_distance))
        y0, y1, x0, x1 = tile
        ys, xs = np.mgrid[y0:y1, x0:x1]
        self.colour = ((ys % self.periods[0]) * self.periods[1] + xs % self.periods[1]).ravel()
        signs = (np.ones((1, Ly, Lx)) if probe_sets == 0 else np.random.default_rng(
            probe_seed).choice([-1.0, 1.0], size=(probe_sets, Ly, Lx)))
        self.signs = signs[:, y0:y1, x0:x1].reshape(len(signs), -1)
        colours = self.periods[0] * self.periods[1]
        self.items = [(sign_set, colour, spin) for sign_set in range(len(signs))
                      for colour in range(colours) for spin in range(2)]
        if block is None:  # seven dense blocks, 4 rows per site, 8 bytes each
            block = max(1, min(BLOCK_PROBES, BLOCK_MEMORY // (7 * 4 * 8 * n_largest)))
        if int(block) < 1:
            raise KPMError(f"KPM block = {block}: at least one probe per block product")
        self.block = int(min(block, len(self.items)))

    def fill(self, start: np.ndarray, items) -> None:
        """Write the probes ``items`` into the zeroed block view ``start`` ``(P, n, 4)``."""
        for column, (sign_set, colour, spin) in enumerate(items):
            chosen = self.colour == colour
            start[column, chosen, spin] = self.signs[sign_set, chosen]


class KPMSolver:
    """Field provider by KPM: ``energy_and_fields(spins) -> (E, H)`` on this rank's tile.

    Parameters
    ----------
    model : SDModel
    shape : ``(Ly, Lx)`` of the whole lattice
    moments : number of Chebyshev moments M
    probe_distance : probing distance d (sites); ``None`` or >= L probes every site alone
        (exact traces, 2 N probes)
    decomposition : the :class:`distllg.parallel.decomposition.Decomposition` of ``shape``
        whose tiles the ranks own (default: one rank, PETSc's COMM_SELF, holding the
        lattice); its communicator is the only MPI this module sees
    bounds : ``(lower, upper)`` of the spectrum; default: :func:`spectral_bounds`
    probe_sets : 0: every site enters its probe with +1; S >= 1: S sets of probes in which
        every site enters with a random sign (+-1, from ``probe_seed``, fixed per site
        whatever the rank count), averaged. Random signs turn the coherent sum of the
        same-colour off-diagonal elements into an incoherent one (halves the field error at
        d = 12), and averaging S sets shrinks it as 1 / sqrt(S), at S times the cost.
    probe_seed : seed of the random signs
    block : probes advanced together per matrix product (default: BLOCK_PROBES, fewer when
        their dense blocks would exceed BLOCK_MEMORY); the result does not depend on it
    """

    def __init__(self, model: SDModel, shape: tuple[int, int], moments: int = 256,
                 probe_distance: int | None = None, decomposition=None, bounds=None,
                 probe_sets: int = 0, probe_seed: int = 0, block: int | None = None):
        self.model = model
        self.Ly, self.Lx = Ly, Lx = int(shape[0]), int(shape[1])
        if decomposition is None:
            from petsc4py import PETSc

            self.comm, tiles = PETSc.COMM_SELF.tompi4py(), [(0, Ly, 0, Lx)]
        else:
            if decomposition.shape != (Ly, Lx):
                raise KPMError(f"the decomposition is of a {decomposition.shape} lattice, "
                               f"the solver of a {(Ly, Lx)} one")
            self.comm = decomposition.cart
            tiles = [(t.y0, t.y1, t.x0, t.x1) for t in decomposition.tiles]
        if moments < MIN_MOMENTS:
            raise KPMError(f"KPM needs at least {MIN_MOMENTS} Chebyshev moments; got "
                           f"moments = {moments}")
        if probe_sets < 0:
            raise KPMError(f"probe_sets must be >= 0, got {probe_sets}")
        self.moments = int(moments)
        self.lower, self.upper = kpm_bounds(model, (Ly, Lx), self.moments, bounds)
        self.scale = (self.upper - self.lower) / 2.0
        self.center = (self.upper + self.lower) / 2.0
        self.coefficients = chebyshev_coefficients(state_energy(model), self.moments,
                                                   self.scale, self.center,
                                                   damped=model.kT == 0.0)
        self.operator = KPMOperator(model, (Ly, Lx), tiles, self.comm, self.center,
                                    self.scale)
        self.n_local = self.operator.n_local
        self.probes = Probes((Ly, Lx), self.operator.tile, probe_distance, probe_sets,
                             probe_seed, block, self.operator.n_largest)

    # -- evaluation ----------------------------------------------------------------------

    def energy_and_fields(self, spins: np.ndarray) -> tuple[float, np.ndarray]:
        """Total energy (units of t1, all ranks) and this tile's fields ``(3, ny, nx)`` for
        this tile's spins ``(3, ny, nx)``; collective."""
        spins = np.asarray(spins, dtype=float)
        local = spins.reshape(3, -1)
        if local.shape[1] != self.n_local:
            raise KPMError(f"spins of {local.shape[1]} sites for a tile of {self.n_local}")
        self.operator.set_spins(local)
        traces, gradient = np.zeros(self.moments), np.zeros((3, self.n_local))
        items, block = self.probes.items, self.probes.block
        for first in range(0, len(items), block):
            self._probe_block(items[first:first + block], traces, gradient)
        sets = len(self.probes.signs)
        energy = float(self.coefficients @ self.comm.allreduce(traces)) / sets
        fields = -(self.model.J / self.scale) * gradient / sets
        fields[2] += self.model.h
        zeeman = self.comm.allreduce(float(local[2].sum()))
        return energy - self.model.h * zeeman, fields.reshape(spins.shape)

    def _probe_block(self, probes, traces: np.ndarray, gradient: np.ndarray) -> None:
        """One block of probes advanced together: adds this rank's parts of ``<r|T_m|r>``
        (summed over the block) to ``traces`` and of the energy gradient by the on-site
        blocks to ``gradient`` ``(3, n_local)``."""
        c, M = self.coefficients, self.moments
        op = self.operator
        blocks = [op.dense(len(probes)) for _ in range(7)]
        r, previous, current, work, bar, bar_next, bar_next2 = blocks
        self.probes.fill(op.components(r), probes)
        r0, prev_, cur_, work_ = (op.components(b) for b in (r, previous, current, work))
        # alpha_0 .. alpha_{M-2} kept for the backward pass when they fit in HISTORY_MEMORY
        # (2 M products per probe), else recomputed backwards (3 M products)
        kept = (M - 1) * len(probes) * op.n_largest * 4 * r0.itemsize <= HISTORY_MEMORY
        history = np.empty((M - 1,) + r0.shape) if kept else None  # the same on every rank
        # forward: alpha_0 = r, alpha_1 = K r, alpha_{m+1} = 2 K alpha_m - alpha_{m-1}
        prev_[...] = r0
        op.matrix.matMult(previous, result=current)
        traces[0] += np.vdot(r0, prev_)
        traces[1] += np.vdot(r0, cur_)
        if history is not None:
            history[0], history[1] = r0, cur_
        for m in range(1, M - 1):
            op.matrix.matMult(current, result=work)
            np.multiply(work_, 2.0, out=work_)
            np.subtract(work_, prev_, out=prev_)  # previous <- 2 K alpha_m - alpha_{m-1}
            previous, current, prev_, cur_ = current, previous, cur_, prev_
            traces[m + 1] += np.vdot(r0, cur_)
            if history is not None and m + 1 < M - 1:
                history[m + 1] = cur_
        self._check_growth(np.vdot(cur_, cur_), np.vdot(r0, r0))
        # backward: alpha_m = current (m = M-1), alpha_{m-1} = previous; abar_{M}, abar_{M+1}
        # are zero; abar_m = c_m r + 2 K abar_{m+1} - abar_{m+2}.
        alpha_m, alpha_prev = (current, cur_), (previous, prev_)
        bar_, next_, next2_ = (op.components(b) for b in (bar, bar_next, bar_next2))
        next_[...] = 0.0
        next2_[...] = 0.0
        for m in range(M - 1, 0, -1):
            op.matrix.matMult(bar_next, result=bar)
            bar_ += bar_
            bar_ -= next2_
            bar_ += c[m] * r0
            # gradient += f_{m-1} abar_m alpha_{m-1}^T (f_0 = 1, else 2)
            _contract(gradient, bar_, alpha_prev[1] if history is None else history[m - 1],
                      1.0 if m == 1 else 2.0)
            if history is None and m >= 2:  # alpha_{m-2} = 2 K alpha_{m-1} - alpha_m
                op.matrix.matMult(alpha_prev[0], result=work)
                np.multiply(work_, 2.0, out=work_)
                np.subtract(work_, alpha_m[1], out=alpha_m[1])
                alpha_m, alpha_prev = alpha_prev, alpha_m
                if m == 2:
                    alpha_prev = (r, r0)
            bar_next2, bar_next, bar = bar_next, bar, bar_next2
            next2_, next_, bar_ = next_, bar_, next2_
        for block in blocks:
            block.destroy()

    def _check_growth(self, last: float, first: float) -> None:
        """Refuse Chebyshev vectors that grow: the spectrum would lie outside the bounds."""
        last, first = self.comm.allreduce(float(last)), self.comm.allreduce(float(first))
        if last > 100.0 * first:
            raise KPMError(f"the Chebyshev vectors grow (|alpha_M| = {np.sqrt(last):.3g} "
                           f"for |r| = {np.sqrt(first):.3g}): the spectrum is not inside the "
                           f"KPM bounds [{self.lower}, {self.upper}]")


def _contract(gradient: np.ndarray, bar: np.ndarray, alpha: np.ndarray, weight: float) -> None:
    """``gradient[a] += weight * sum over probes of the on-site block derivative by S^a
    contracted with bar alpha^T`` (blocks ``(probes, n, 4)``)."""
    for a, entries in enumerate(_BLOCK_DERIVATIVES):
        for p, q, sign in entries:
            gradient[a] += (weight * sign) * np.einsum("ci,ci->i", bar[..., p], alpha[..., q])
