"""``distllg phases CONFIG``: which magnetic order has the lowest grand potential
on the infinite lattice, over a scan of (mu, J, kT, h).

The config's ``[hamiltonian]`` gives the hoppings and the values not scanned; ``[phases]`` the
scanned lists and the candidates (spiral, cone, ferromagnet, and the relaxed supercell
states crystal2, crystal1, double_q and, if asked, relaxed random starts at every period P:
:mod:`distllg.analysis.phases`).
Writes to ``phases.directory``:

* ``phases.jsonl``: one line per (point, candidate, period), appended as each finishes; a
  rerun skips what is there, so a long scan continues where it stopped;
* ``states/*.npy``: the relaxed supercell textures ``(3, P, P)``;
* ``phases.md``: the table (per point: the winner, its margin over the best state of any
  other order, every order's best grand potential relative to the spiral). Relaxed states
  are grouped by what they became (``Phase.order``: a crystal by its skyrmion number per
  magnetic cell, else non-coplanar or coplanar), not by the ansatz they started from;
* ``phase_diagram.png``: the winner over the scanned parameters with its margin, and each
  order relative to the spiral.
"""

from __future__ import annotations

from distllg.cli import with_config


def add_arguments(parser) -> None:
    parser.add_argument("config", help="TOML config with [hamiltonian] and [phases] "
                                       "(distllg/config.py)")


def execute(args) -> int:
    from distllg.analysis import phase_scan

    return with_config(args.config, phase_scan.run)
