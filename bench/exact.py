"""ED cost of one energy + field evaluation against the floor of a plain eigen-decomposition.

For each L the same run times (best of R):
  * ``ExactSolver.solve`` on a random spin state (what LLG calls every stage),
  * the same with all eigenpairs (``all_eigenvalues=True``, scipy's full 'evd' driver),
  * ``numpy.linalg.eigh`` of a random complex Hermitian matrix of the same size 2 L^2: the
    floor. Target: solve <= 1.3 x floor.

Usage: ``python bench/exact.py [--sizes 12 18 24 30 36] [--repeats 3]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_time, publish, size_arguments  # noqa: E402

from distllg import spins as spinlib  # noqa: E402
from distllg.electrons.exact import ExactSolver  # noqa: E402


def main(argv=None) -> None:
    args = size_arguments(__doc__, [12, 18, 24, 30, 36], argv)
    rng = np.random.default_rng(0)
    solver = ExactSolver()
    rows = []
    for L in args.sizes:
        s = spinlib.random(L, L, rng)
        n = 2 * L * L
        a = rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))
        a = a + a.conj().T
        repeats = args.repeats if L <= 24 else max(1, args.repeats - 1)
        solver.solve(s)  # builds the cached bare Hamiltonian
        t_solve = best_time(lambda s=s: solver.solve(s), repeats)
        t_full = best_time(lambda s=s: solver.solve(s, all_eigenvalues=True), repeats)
        t_floor = best_time(lambda a=a: np.linalg.eigh(a), repeats)
        occupied = len(solver.solve(s).eigenvalues)
        rows.append({"L": L, "matrix": n, "occupied": occupied, "solve_s": t_solve,
                     "solve_all_s": t_full, "eigh_floor_s": t_floor,
                     "ratio_solve_to_floor": t_solve / t_floor})
        print(f"L={L}: solve {t_solve:.3f} s, all eigenpairs {t_full:.3f} s, "
              f"numpy eigh {t_floor:.3f} s, ratio {t_solve / t_floor:.2f}", flush=True)
    publish("exact", rows, [
        ("L", "L", "d"), ("matrix", "2N", "d"), ("occupied", "eigenpairs kept", "d"),
        ("solve_s", "ED solve (s)", ".4f"), ("solve_all_s", "ED, all eigenpairs (s)", ".4f"),
        ("eigh_floor_s", "numpy eigh floor (s)", ".4f"),
        ("ratio_solve_to_floor", "solve / floor", ".2f"),
    ], extra={"target": "solve / floor <= 1.3"})


if __name__ == "__main__":
    main()
