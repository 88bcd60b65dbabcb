"""Grand potentials of candidate magnetic orders on the infinite lattice.

Every candidate is a periodic texture, so its grand potential per site follows from
Bloch's theorem (:mod:`distllg.electrons.bloch`) without finite-size effects:

* ``spiral``: the planar spiral at its best ``|q|`` along the bond direction and along
  ``b1`` (continuous ``|q|``; 2 x 2 k-space blocks). A planar spiral is stationary, so no
  relaxation is needed.
* ``cone``: the conical spiral canted towards the field, best ``|q|`` and canting (only
  when h != 0; at h = 0 it is the spiral).
* ``ferromagnet``: all spins along +z.
* ``crystal2``: the Ozawa-Hayami-Motome crystal ``S ~ (cos Q1.r, cos Q2.r, cos Q3.r)``,
  two skyrmions per magnetic unit cell; ``crystal1``: the triple-Q helix crystal with a
  net moment, one skyrmion per cell; ``double_q``: the spiral along Q1 modulated along Q2,
  a non-coplanar stripe of alternating scalar chirality; ``random``: independent random
  spins (one start per seed), an unbiased probe for orders not in this list. Each is built
  on a P x P supercell (``|Q| = 4 pi / P`` along the bond directions; P = 12 is pi / 3) and
  relaxed.

Relaxation (decision): the twist-averaged fields drive the texture downhill to the
nearest stationary state, by L-BFGS on the unit sphere (the gradient flow that damped LLG
follows as alpha grows, reached in far fewer field evaluations). The fields of the
relaxation use ``relax_twists`` twists; the reported grand potential uses
``energy_twists`` (the energy is stationary at the relaxed state, so the small shift of the
minimum between the two costs second order: 1.3e-6 per site at kT = 0.01, docs/physics.md).
Every relaxed record carries its largest torque ``|S x H|`` under both sets of fields, so
that "relaxed" is checkable.

"The best ``|Q|``" of a supercell state is the lowest over the periods P scanned; the
wave numbers ``4 pi / P`` are discrete, so a state between two periods may lie slightly
lower (for every supercell order alike; the spirals take a continuous ``|q|``).

Units: grand potentials per site (t1), wave numbers in 1 / lattice constant.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import scipy.optimize

from distllg import lattice
from distllg import spins as spinlib
from distllg.dynamics import observables
from distllg.electrons import SDModel
from distllg.electrons.bloch import TwistAveragedSolver, cone_energy_per_site

UNIFORM = ("spiral", "cone", "ferromagnet")
SUPERCELL = ("crystal2", "crystal1", "double_q", "random")
CANDIDATES = UNIFORM + SUPERCELL

#: Unit k-space steps (grid fractions) of |q| = 1 along the bond direction and along b1.
_BOND = np.array([0.5, 0.25]) / np.linalg.norm(lattice.k_cartesian([0.5, 0.25]))
_B1 = np.array([1.0, 0.0]) / np.linalg.norm(lattice.k_cartesian([1.0, 0.0]))


@dataclasses.dataclass
class Phase:
    """One candidate's grand potential per site ``omega`` (t1) and what characterises it:
    wave number ``q`` (1 / lattice constant), supercell period (0 for k-space states),
    skyrmions per magnetic unit cell, magnetisation ``m_z``, the largest torque left
    ``max_torque`` (t1) under the relaxation's fields and ``max_torque_final`` under the
    fields of the reported ``omega``, the unrelaxed ``omega_start`` (same twists as
    ``omega``), the work done, the seed of the start and the rms scalar chirality per site
    (solid angle / 4 pi of the two triangles of a site)."""

    name: str
    omega: float
    q: float
    period: int = 0
    canting: float = 0.0
    skyrmions_per_cell: float = 0.0
    m_z: float = 0.0
    max_torque: float = 0.0
    omega_start: float = float("nan")
    evaluations: int = 0
    seconds: float = 0.0
    seed: int = 0
    chirality: float = 0.0
    max_torque_final: float = 0.0

    @property
    def order(self) -> str:
        """What the state is, whatever it started from: its own name for the k-space
        states; for a relaxed supercell ``crystal n_sk=<|Q| per magnetic cell>`` when it
        carries a skyrmion number, else ``noncoplanar`` (scalar chirality without net
        charge: chiral stripes, double-Q) or ``coplanar``."""
        if not self.period:
            return self.name
        if self.skyrmions_per_cell > 0.3:
            return f"crystal n_sk={self.skyrmions_per_cell:.3g}"
        return "noncoplanar" if self.chirality > 1e-4 else "coplanar"

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def k_points_for(model: SDModel) -> int:
    """k-grid for the k-space states: 1200^2 below kT = 0.03, else 600^2 (converged to
    1e-10 per site: docs/physics.md)."""
    return 1200 if model.kT < 0.03 else 600


def _best_q(energy, bounds=(0.3, 2.0)):
    """Minimise ``energy(|q| unit)`` over |q| along the bond direction and along b1."""
    best = None
    for unit in (_BOND, _B1):
        found = scipy.optimize.minimize_scalar(lambda q, unit=unit: energy(q * unit), bounds=bounds,
                                               method="bounded", options={"xatol": 1e-4})
        if best is None or found.fun < best[1]:
            best = (found.x, found.fun, unit)
    return best


def spiral(model: SDModel, k_points: int) -> Phase:
    """The planar spiral at its best |q| (bond direction or b1)."""
    start = time.time()
    q, omega, _ = _best_q(lambda qf: cone_energy_per_site(model, qf, 0.0, k_points))
    return Phase("spiral", float(omega), float(q), seconds=time.time() - start)


def cone(model: SDModel, k_points: int) -> Phase:
    """The cone canted towards +z: best canting for each |q|, then the best |q|."""
    start = time.time()
    canting = {}

    def energy(qf):
        found = scipy.optimize.minimize_scalar(
            lambda theta: cone_energy_per_site(model, qf, theta, k_points),
            bounds=(0.0, np.pi / 2), method="bounded", options={"xatol": 1e-4})
        canting[tuple(qf)] = found.x
        return found.fun

    q, omega, unit = _best_q(energy)
    theta = canting[tuple(q * unit)]
    return Phase("cone", float(omega), float(q), canting=float(theta), m_z=float(np.sin(theta)),
                 seconds=time.time() - start)


def ferromagnet(model: SDModel, k_points: int) -> Phase:
    """All spins along +z (the saturated state in a field)."""
    omega = cone_energy_per_site(model, np.zeros(2), np.pi / 2, k_points)
    return Phase("ferromagnet", float(omega), 0.0, m_z=1.0)


K_SPACE_STATES = {"spiral": spiral, "cone": cone, "ferromagnet": ferromagnet}


def ansatz(name: str, period: int, seed: int = 0) -> np.ndarray:
    """The starting texture of a supercell candidate on a ``period x period`` supercell,
    ``(3, P, P)``, ``|Q| = 4 pi / period`` (``seed`` only for ``random``)."""
    q = 4 * np.pi / period
    if name == "random":  # a stream of its own: the start's noise uses default_rng(seed)
        return spinlib.random(period, period, np.random.default_rng([seed, 1]))
    if name == "crystal2":
        return spinlib.triple_q_cosine(period, period, q)
    if name == "crystal1":  # the helix crystal with the moment of the (1.1, -0.22) optimum
        return spinlib.triple_q(period, period, q=q, inplane=1.1, offset=-0.22)
    if name == "double_q":
        return spinlib.double_q(period, period, q, modulation=0.5)
    raise ValueError(f"unknown supercell candidate {name!r}; choose one of {SUPERCELL}")


def sphere_objective(solver, shape: tuple[int, ...], record: dict | None = None):
    """``f(flat) -> (E / N, dE/dv / N)`` for unnormalised vectors ``v`` (flattened
    ``shape``) with ``S = v / |v|``: the energy per site and its exact gradient, the field's
    component perpendicular to ``S`` divided by ``|v|``. ``record["torque"]`` receives the
    largest ``|S x H|`` of each evaluation."""
    sites = int(np.prod(shape[1:]))

    def energy_and_gradient(flat):
        v = flat.reshape(shape)
        norm = np.sqrt(spinlib.dot(v, v))
        s = v / norm
        energy, fields = solver.energy_and_fields(s)
        if record is not None:
            torque = spinlib.cross(s, fields)
            record["torque"] = float(np.sqrt(spinlib.dot(torque, torque)).max())
        gradient = -fields / sites
        gradient -= spinlib.dot(gradient, s) * s
        return energy / sites, (gradient / norm).ravel()

    return energy_and_gradient


def relax(solver, spins: np.ndarray, tolerance: float, max_evaluations: int):
    """The stationary texture reached downhill from ``spins`` ``(3, Ly, Lx)``.

    L-BFGS over unnormalised vectors ``v`` with ``S = v / |v|`` (:func:`sphere_objective`),
    restarted from the normalised spins whenever it stops (``|v|`` drifts, which shrinks
    the gradient it sees), until the largest torque ``|S x H|`` is below ``tolerance`` (t1)
    or ``max_evaluations`` field evaluations are spent. Returns ``(spins, evaluations)``.
    """
    record = {"torque": np.inf}
    objective = sphere_objective(solver, spins.shape, record)
    sites = spins[0].size
    evaluations = 0
    while evaluations < max_evaluations:
        found = scipy.optimize.minimize(
            objective, spins.ravel(), jac=True, method="L-BFGS-B",
            options={"maxfun": max_evaluations - evaluations, "ftol": 1e-16,
                     "gtol": 0.1 * tolerance / sites, "maxcor": 20})
        spins = spinlib.normalize(found.x.reshape(spins.shape))
        evaluations += int(found.nfev)
        if found.nfev <= 2 or record["torque"] < tolerance:
            break  # converged, or no further progress possible
    return spins, evaluations


def max_torque(solver, spins: np.ndarray) -> float:
    """Largest ``|S_i x H_i|`` (t1) of a texture under ``solver``'s fields."""
    torques = spinlib.cross(spins, solver.energy_and_fields(spins)[1])
    return float(np.sqrt(spinlib.dot(torques, torques)).max())


def supercell_phase(model: SDModel, name: str, period: int, relax_twists: int,
                    energy_twists: int, tolerance: float, max_evaluations: int,
                    noise: float = 0.02, seed: int = 0):
    """A supercell candidate relaxed on its ``period x period`` supercell: ``(Phase, spins)``.

    The ansatz gets Gaussian noise of width ``noise`` (seeded) before relaxing, so that a
    symmetric ansatz that is only a saddle point can leave it. ``name`` stays the starting
    ansatz's; the record's skyrmion count and moment say what it relaxed into.
    """
    start = time.time()
    rng = np.random.default_rng(seed)
    spins = spinlib.normalize(ansatz(name, period, seed)
                              + noise * rng.standard_normal((3, period, period)))
    if model.h and observables.magnetization(spins)[2] < 0:
        spins = -spins  # start with the moment along the field
    relaxing = TwistAveragedSolver(model, (relax_twists, relax_twists))
    final = TwistAveragedSolver(model, (energy_twists, energy_twists))
    omega_start = final.energy_per_site(spins)
    spins, evaluations = relax(relaxing, spins, tolerance, max_evaluations)
    cells = 3.0  # a P x P supercell holds three magnetic unit cells of P^2 / 3 sites
    chirality = observables.chirality_density(spins)
    phase = Phase(name, final.energy_per_site(spins), 4 * np.pi / period, period=period,
                  skyrmions_per_cell=abs(float(chirality.sum())) / cells,
                  chirality=float(np.sqrt(np.mean(chirality**2))),
                  m_z=float(observables.magnetization(spins)[2]),
                  max_torque=max_torque(relaxing, spins),
                  max_torque_final=max_torque(final, spins), omega_start=omega_start,
                  evaluations=evaluations, seconds=time.time() - start, seed=seed)
    return phase, spins


def best_by_order(phases: list[Phase]) -> dict[str, Phase]:
    """The lowest ``omega`` of each order (:attr:`Phase.order`: what the relaxed states
    are, over supercell periods and starting ansatze)."""
    best: dict[str, Phase] = {}
    for phase in phases:
        if phase.order not in best or phase.omega < best[phase.order].omega:
            best[phase.order] = phase
    return best


#: Margins below this (t1 per site) are ties: 24 x 24 twists move the 12 x 12-twist
#: energies by up to 3e-6 per site at kT = 0.01, the relaxation twists by 1.3e-6.
TIE = 1e-5


def ranked(phases: list[Phase]) -> list[Phase]:
    """The best state of each order, lowest ``omega`` first."""
    return sorted(best_by_order(phases).values(), key=lambda p: p.omega)


def winner_and_margin(phases: list[Phase]) -> tuple[Phase, float]:
    """The lowest state and its margin over the lowest of another order (t1/site; below
    :data:`TIE` the two are a tie)."""
    order = ranked(phases)
    margin = order[1].omega - order[0].omega if len(order) > 1 else float("nan")
    return order[0], margin
