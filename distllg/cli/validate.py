"""``distllg validate MODEL --engine kpm --L 96``: a CNN's torques against an
electronic solver on a lattice of your choice.

Spin states: ``--states`` snapshots of a CNN-driven relaxation from random spins (seed
``--seed``; the model's own dynamics, so the states are the textures the model meets in a
run: disordered at first, then |q| = pi/3 textures), taken evenly over ``--steps`` steps of
the run's default ``[dynamics]`` (integrator, dt, alpha of :class:`distllg.config.
DynamicsConfig`), the network in float64 on the CPU. The KPM defaults differ from the
run's on purpose: ``--moments 512`` (the run's 256), a reference resolved twice as finely;
``--probe-distance 12 --probe-sets 4`` (the run's exact traces, ``probe_distance = 0``,
cost 2 N probes, out of reach at L = 96). Reference torques ``S x H`` from
``--engine kpm`` (PETSc,
``--moments``, ``--probe-distance``, ``--probe-sets``; runs under mpirun too: rows split
over the ranks) or ``exact`` (ED, L <= 36), for the Hamiltonian parameters stored in the
model file (``--kT`` overrides the temperature: KPM converges at kT > 0, docs/physics.md).
``--h``: a Zeeman field for the relaxation and the reference (the model itself is the same
at every h: it predicts the electronic torque, :mod:`distllg.training.data`); the comparison
is of the electronic torques ``S x (H - h z)``. Prints torque RMSE, relative RMSE and R^2
per component, writes ``validate.json`` and ``parity.png`` to ``--out``.
"""

from __future__ import annotations

import dataclasses

from distllg.cli import error


def add_arguments(parser) -> None:
    parser.add_argument("model", help="model file, or the name of a shipped model")
    parser.add_argument("--engine", choices=("kpm", "exact"), default="kpm")
    parser.add_argument("--L", type=int, default=96)
    parser.add_argument("--states", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200, help="CNN-LLG steps spanned")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--moments", type=int, default=512)
    parser.add_argument("--probe-distance", type=int, default=12)
    parser.add_argument("--probe-sets", type=int, default=4,
                        help="random-sign probe sets averaged (0: plain probes)")
    parser.add_argument("--kT", type=float, default=None, help="electron temperature")
    parser.add_argument("--h", type=float, default=0.0, help="Zeeman field (t1, along z)")
    parser.add_argument("--out", default="out/validate")


def execute(args) -> int:
    from mpi4py import MPI

    from distllg.analysis import validate

    comm = MPI.COMM_WORLD
    settings = validate.Settings(**{field.name: getattr(args, field.name)
                                    for field in dataclasses.fields(validate.Settings)})
    try:
        network, reference, parameters = validate.engines_for(settings, comm)
    except ValueError as problem:
        return error(problem) if comm.Get_rank() == 0 else 2
    validate.validate(settings, network, reference, parameters, comm)
    return 0
