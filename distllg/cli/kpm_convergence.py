"""``distllg kpm-convergence [--out DIR]``: KPM against ED.

Two studies on random spins (the default s-d parameters):
* moments: L = 12 with exact traces (every site its own probe), relative field error
  ``|H_kpm - H_ed| / |H_ed|`` and energy error per site for M = 64 ... 2048 at kT = 0
  (Jackson damped), 0.05 and 0.1 (plain series);
* probing: L = 24, M = 128, kT = 0.1, probing distance d = 6, 8, 12 with one random-sign
  set, d = 12 with 4 sets, and exact traces (d = 24).
Writes ``kpm_convergence.json`` and ``kpm_convergence.png`` (both studies, log scales).
"""

from __future__ import annotations

from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="docs/img", help="output directory")


def execute(args) -> int:
    from distllg.analysis import kpm_convergence

    kpm_convergence.study(Path(args.out))
    return 0
