"""Exact-solver demo: ``distllg electrons {fields,chi0} [options]``.

``fields``  diagonalises the s-d model for one spin configuration (random, ferromagnetic,
            triple-Q ansatz, or a ``.npy`` file of shape (3, Ly, Lx)), prints the energy and
            writes PNGs of the spins and of the local fields H_i = -dE/dS_i.
``chi0``    maps the bare susceptibility chi0(q) of the J = 0 electrons over the Brillouin
            zone, prints its peaks and writes a PNG.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from distllg import lattice
from distllg import spins as spinlib
from distllg.analysis import plots
from distllg.cli import error
from distllg.electrons import SDModel
from distllg.electrons import hamiltonian as ham
from distllg.electrons.exact import ExactSolver


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("s-d model (units of t1)")
    defaults = SDModel()
    for name, text in (("t1", "nearest-neighbour hopping"), ("t2", "second-neighbour hopping"),
                       ("t3", "third-neighbour hopping"), ("J", "s-d coupling"),
                       ("mu", "chemical potential"), ("h", "Zeeman field on the local spins"),
                       ("kT", "electron temperature (0 = ground state)")):
        group.add_argument(f"--{name}", type=float, default=getattr(defaults, name),
                           help=f"{text} (default {getattr(defaults, name)})")


def _model(args) -> SDModel:
    return SDModel(**{k: getattr(args, k) for k in ("t1", "t2", "t3", "J", "mu", "h", "kT")})


def _initial_spins(args) -> np.ndarray:
    if args.spins is not None:
        path = Path(args.spins)
        if not path.is_file():
            raise ValueError(f"--spins file {path} does not exist")
        try:
            data = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise ValueError(f"--spins file {path} is not a readable .npy array: {error}") from None
        return spinlib.validate(data, name=f"spins in {path}")
    Ly = args.Ly or args.L
    Lx = args.Lx or args.L
    if args.state == "random":
        return spinlib.random(Ly, Lx, np.random.default_rng(args.seed))
    if args.state == "ferro":
        return spinlib.uniform(Ly, Lx)
    return spinlib.triple_q(Ly, Lx)


def run_fields(args) -> int:
    model = _model(args)
    spins = _initial_spins(args)
    _, Ly, Lx = spins.shape
    solver = ExactSolver(model)
    start = time.perf_counter()
    result = solver.solve(spins)
    elapsed = time.perf_counter() - start
    n = Ly * Lx
    torque = spinlib.torques(spins, result.fields)
    print(f"lattice {Ly} x {Lx} ({n} sites), {model}")
    print(f"E = {result.energy:.12f}   E/N = {result.energy / n:.12f}")
    print(f"electrons per site = {result.electrons / n:.6f}   "
          f"mean |H| = {np.linalg.norm(result.fields, axis=0).mean():.6f}   "
          f"max |T| = {np.linalg.norm(torque, axis=0).max():.6f}")
    print(f"exact diagonalisation of {2 * n} x {2 * n}: {elapsed:.3f} s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "spins.npy", spins)
    np.save(out / "fields.npy", result.fields)
    plots.vector_texture(spins, out / "spins.png", title=f"spins ({Ly} x {Lx})",
                         label="$S^z$")
    plots.vector_texture(result.fields, out / "fields.png",
                         title=f"local fields $H_i=-\\partial E/\\partial S_i$, E/N = "
                               f"{result.energy / n:.4f}", label="$H^z$")
    print(f"wrote {out / 'spins.png'}, {out / 'fields.png'} and the arrays as .npy")
    return 0


def run_chi0(args) -> int:
    model = _model(args)
    start = time.perf_counter()
    q_frac, chi = ham.susceptibility_map(model, args.nq, args.nk, args.chi_kT)
    values, q_cart = lattice.k_peaks(chi, q_frac, count=6, relative=0.99)
    print(f"chi0(q) on {args.nq} x {args.nq} q-points, {args.nk} x {args.nk} k-points, "
          f"kT = {args.chi_kT} ({time.perf_counter() - start:.1f} s); {model}")
    for value, q in zip(values, q_cart, strict=True):
        angle = np.degrees(np.arctan2(q[1], q[0]))
        print(f"  peak chi0 = {value:.6f} at q = ({q[0]:+.4f}, {q[1]:+.4f}), "
              f"|q| = {np.linalg.norm(q):.4f} (pi/3 = {np.pi / 3:.4f}), angle {angle:+.1f} deg")
    path = plots.k_space_map(chi, q_frac, Path(args.out) / "chi0.png",
                             title=f"bare susceptibility $\\chi_0(q)$, t3 = {model.t3}, "
                                   f"mu = {model.mu}", label="$\\chi_0$", marks=q_cart)
    print(f"wrote {path}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True)
    fields = sub.add_parser("fields", help="energy and local fields of one spin configuration")
    fields.add_argument("--L", type=int, default=12, help="lattice size Lx = Ly (default 12)")
    fields.add_argument("--Lx", type=int, default=None, help="lattice size along a1")
    fields.add_argument("--Ly", type=int, default=None, help="lattice size along a2")
    fields.add_argument("--state", choices=("random", "ferro", "triple-q"), default="random",
                        help="spin configuration when no --spins file is given")
    fields.add_argument("--spins", default=None, help=".npy file with spins (3, Ly, Lx)")
    fields.add_argument("--seed", type=int, default=0, help="random-state seed")
    fields.add_argument("--out", default="out/electrons", help="folder for PNGs and arrays")
    _add_model_options(fields)
    chi0 = sub.add_parser("chi0", help="bare susceptibility map and its peaks")
    chi0.add_argument("--nq", type=int, default=48, help="q-grid size (default 48)")
    chi0.add_argument("--nk", type=int, default=120, help="k-grid size of the sum (default 120)")
    chi0.add_argument("--chi-kT", type=float, default=0.02,
                      help="smearing temperature of the k-sum (default 0.02)")
    chi0.add_argument("--out", default="out/electrons", help="folder for the PNG")
    _add_model_options(chi0)


def execute(args) -> int:
    try:
        return run_fields(args) if args.command == "fields" else run_chi0(args)
    except ValueError as problem:
        return error(problem)
