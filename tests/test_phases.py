"""The phase tool: twist averages converge to the infinite lattice, relaxed states carry no
torque, supercell energies equal ED of the tiled lattice, the scan resumes and reports."""

import json

import numpy as np
import pytest

from distllg import cli
from distllg import config as configlib
from distllg import spins as spinlib
from distllg.analysis import phase_scan, phases
from distllg.dynamics import observables
from distllg.electrons import SDModel
from distllg.electrons.bloch import TwistAveragedSolver, cone_energy_per_site
from distllg.electrons.exact import ExactSolver

MODEL = SDModel(J=0.7, mu=-3.5, kT=0.1)


def test_twist_average_converges_to_the_infinite_lattice():
    """A spiral of |q| = 4 pi / 6 on a 6 x 6 supercell with n x n twists equals the k-space
    blocks on the (6 n)^2 grid (ED of the tiled lattice), and approaches the 600^2 grid (the
    infinite lattice at kT = 0.1) as n grows."""
    q_frac = np.array([1 / 3, 1 / 6])  # 2 pi / 3 per step along x: fits 6 x 6
    phase = 2 * np.pi * np.tensordot(q_frac, np.mgrid[0:6, 0:6][::-1], axes=(0, 0))
    s = np.stack([np.cos(phase), np.sin(phase), np.zeros_like(phase)])
    limit = cone_energy_per_site(MODEL, q_frac, 0.0, 600)
    errors = []
    for n in (1, 2, 4, 8):
        twisted = TwistAveragedSolver(MODEL, (n, n)).energy_per_site(s)
        assert twisted == pytest.approx(cone_energy_per_site(MODEL, q_frac, 0.0, 6 * n),
                                        abs=1e-12)
        errors.append(abs(twisted - limit))
    assert errors == sorted(errors, reverse=True) and errors[-1] < errors[0] / 100


def test_relaxed_supercell_has_no_torque_and_equals_ed_of_the_tiled_lattice():
    """The n_sk = 2 crystal on the 12 x 12 supercell at the crystal point, relaxed with one
    twist and reported with 2 x 2: its largest torque under the relaxing fields, recomputed
    independently, is below the tolerance; it stays a crystal with two skyrmions per
    magnetic cell; relaxing lowered the reported grand potential; and that grand potential
    is ED of the texture tiled on 24 x 24."""
    model = SDModel(J=0.5, mu=-3.5, kT=0.05)
    phase, s = phases.supercell_phase(model, "crystal1", 12, relax_twists=1, energy_twists=2,
                                      tolerance=1e-6, max_evaluations=400)
    torques = spinlib.cross(s, ExactSolver(model).energy_and_fields(s)[1])
    assert np.sqrt(spinlib.dot(torques, torques)).max() < 1e-6
    assert phase.max_torque < 1e-6 and phase.max_torque_final > phase.max_torque
    assert phase.order == "crystal n_sk=2" and observables.skyrmion_number(s) == pytest.approx(
        6 * np.sign(observables.skyrmion_number(s)))
    assert phase.omega < phase.omega_start
    tiled = np.tile(s, (1, 2, 2))
    assert phase.omega == pytest.approx(ExactSolver(model).energy(tiled) / 576, abs=1e-12)


def test_sphere_objective_is_the_exact_gradient_off_the_sphere(rng):
    """The gradient of E(v / |v|) / N with respect to unnormalised v (|v| from 0.5 to 2)
    equals central finite differences."""
    solver = TwistAveragedSolver(MODEL, (1, 2))
    shape = (3, 5, 6)
    objective = phases.sphere_objective(solver, shape)
    v = spinlib.random(5, 6, rng) * rng.uniform(0.5, 2.0, (1, 5, 6))
    _, gradient = objective(v.ravel())
    for index in rng.choice(v.size, 8, replace=False):
        step = np.zeros(v.size)
        step[index] = 1e-5
        numeric = (objective(v.ravel() + step)[0] - objective(v.ravel() - step)[0]) / 2e-5
        assert gradient[index] == pytest.approx(numeric, rel=1e-5, abs=1e-10)


def test_relax_follows_the_energy_gradient_on_the_sphere(rng):
    """From random spins the relaxation reaches a stationary state below the start; a
    perturbation of the result along any tangent direction raises the energy (a minimum,
    not a saddle, to second order)."""
    solver = TwistAveragedSolver(MODEL, (1, 1))
    start = spinlib.random(6, 6, rng)
    s, evaluations = phases.relax(solver, start, 1e-6, 1000)
    assert 1 < evaluations <= 1000
    assert solver.energy(s) < solver.energy(start)
    assert phases.max_torque(solver, s) < 1e-6
    for _ in range(3):
        moved = spinlib.normalize(s + 0.02 * rng.standard_normal(s.shape))
        assert solver.energy(moved) > solver.energy(s)


def test_k_space_states_and_ansatze():
    """The best spiral lies at or below the pi/3 spiral; the ferromagnet's k-space energy is
    ED of the uniform state on the same grid; the ansatze have the advertised skyrmion
    numbers and chirality on their supercells."""
    spiral = phases.spiral(MODEL, 120)
    pi3 = cone_energy_per_site(MODEL, np.array([1 / 6, 1 / 12]), 0.0, 120)
    assert spiral.omega <= pi3 + 1e-12 and 0.3 < spiral.q < 2.0
    ed = ExactSolver(MODEL).energy(spinlib.uniform(12, 12)) / 144
    assert phases.ferromagnet(MODEL, 12).omega == pytest.approx(ed, abs=1e-12)
    assert abs(observables.skyrmion_number(phases.ansatz("crystal2", 12))) == pytest.approx(6)
    assert abs(observables.skyrmion_number(phases.ansatz("crystal1", 12))) == pytest.approx(3)
    stripe = phases.ansatz("double_q", 12)
    assert observables.skyrmion_number(stripe) == pytest.approx(0, abs=1e-9)
    assert np.abs(observables.chirality_density(stripe)).max() > 0.01
    with pytest.raises(ValueError, match="unknown supercell candidate"):
        phases.ansatz("vortex", 12)


def test_cone_in_a_field_cants_towards_it():
    model = SDModel(J=0.7, mu=-3.5, kT=0.1, h=0.02)
    cone = phases.cone(model, 120)
    assert 0 < cone.canting < np.pi / 2 and cone.m_z > 0
    assert cone.omega <= phases.spiral(model, 120).omega + 1e-12


def test_states_are_grouped_by_what_they_relaxed_into():
    """Two ansatze that relaxed into the same n_sk = 2 crystal are one order; the margin is
    over the best state of any other order; a charged state is a crystal from 0.3 skyrmions
    per cell, an uncharged one non-coplanar above 1e-4 rms chirality, else coplanar."""
    found = [phases.Phase("spiral", -1.0, 1.0),
             phases.Phase("crystal2", -1.2, 1.0, period=12, skyrmions_per_cell=2.0),
             phases.Phase("crystal1", -1.2000001, 1.0, period=12, skyrmions_per_cell=2.0),
             phases.Phase("crystal2", -1.1, 1.1, period=11, skyrmions_per_cell=2.0),
             phases.Phase("double_q", -1.15, 1.0, period=12, chirality=0.02),
             phases.Phase("random", -1.05, 1.0, period=12, skyrmions_per_cell=1 / 3),
             phases.Phase("double_q", -1.01, 1.0, period=13, chirality=0.9e-4,
                          skyrmions_per_cell=0.29)]
    assert [p.order for p in found[4:]] == ["noncoplanar", "crystal n_sk=0.333", "coplanar"]
    best = phases.best_by_order(found)
    assert set(best) == {"spiral", "crystal n_sk=2", "noncoplanar", "crystal n_sk=0.333",
                         "coplanar"}
    winner, margin = phases.winner_and_margin(found)
    assert (winner.name, winner.period, winner.order) == ("crystal1", 12, "crystal n_sk=2")
    assert margin == pytest.approx(0.0500001)
    assert [p.order for p in phases.ranked(found)][:2] == ["crystal n_sk=2", "noncoplanar"]


def test_a_margin_below_the_convergence_level_is_a_tie(tmp_path):
    config = configlib.from_dict({"phases": {"directory": str(tmp_path)}})
    point = {k: getattr(config.hamiltonian, k) for k in phase_scan.SCANNED}
    records = [{"point": point, "phase": phases.Phase("spiral", -1.0, 1.0).as_dict()},
               {"point": point, "phase": phases.Phase(
                   "crystal2", -1.0 - phases.TIE / 2, 1.0, period=12,
                   skyrmions_per_cell=2.0).as_dict()}]
    rows = phase_scan.summarise(records, config)
    assert rows[0]["tie"].order == "spiral"
    assert "| tie: crystal n_sk=2 (P 12, from crystal2) ~ spiral" in phase_scan.table(rows)


def test_config_names_the_candidates():
    assert configlib.PHASE_CANDIDATES == phases.CANDIDATES
    with pytest.raises(configlib.ConfigError, match="phases.candidates"):
        configlib.from_dict({"phases": {"candidates": ["vortex"]}})
    with pytest.raises(configlib.ConfigError, match="phases.periods"):
        configlib.from_dict({"phases": {"periods": [2]}})
    assert configlib.from_dict({"phases": {"J": [0.5, 1]}}).phases.J == (0.5, 1.0)


def test_the_command_scans_resumes_and_reports(tmp_path, capsys):
    """Two points, a small supercell: the table, the PNG and one JSON line per (point,
    candidate, period, random seed); a second run computes nothing new; a bad key exits 2
    naming it."""
    config = tmp_path / "phases.toml"
    config.write_text(f"""
[hamiltonian]
J = 0.7
kT = 0.1
[phases]
mu = [-3.5, -3.3]
candidates = ["spiral", "ferromagnet", "crystal2", "random"]
random_starts = 2
periods = [6]
relax_twists = 1
energy_twists = 2
k_points = 60
directory = "{tmp_path / 'out'}"
""")
    assert cli.main(["phases", str(config)]) == 0
    lines = (tmp_path / "out" / "phases.jsonl").read_text().splitlines()
    assert len(lines) == 10
    records = [json.loads(line) for line in lines]
    assert {r["point"]["mu"] for r in records} == {-3.5, -3.3}
    assert sorted(r["phase"]["seed"] for r in records if r["phase"]["name"] == "random") \
        == [0, 0, 1, 1]
    assert (tmp_path / "out" / "phase_diagram.png").stat().st_size > 10_000
    assert len(list((tmp_path / "out" / "states").glob("*.npy"))) == 6
    table = (tmp_path / "out" / "phases.md").read_text()
    assert table.count("\n| -3") == 2 and "winner" in table
    assert cli.main(["phases", str(config)]) == 0
    assert len((tmp_path / "out" / "phases.jsonl").read_text().splitlines()) == 10
    config.write_text(config.read_text().replace("energy_twists = 2", "energy_twists = 3"))
    assert cli.main(["phases", str(config)]) == 2  # other settings: not mixed into the directory
    assert "other hoppings, accuracy settings" in capsys.readouterr().err
    config.write_text(config.read_text().replace("periods", "period"))
    capsys.readouterr()
    assert cli.main(["phases", str(config)]) == 2
    assert "phases.period" in capsys.readouterr().err
