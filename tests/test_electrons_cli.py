"""The exact-solver demo CLI: prints the energy, writes PNGs, refuses bad input clearly."""

import subprocess
import sys

import numpy as np

from distllg import spins as spinlib
from distllg.electrons import SDModel
from distllg.electrons.exact import ExactSolver


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "distllg", "electrons", *args],
                          capture_output=True, text=True, timeout=120)


def test_fields_from_spin_file(tmp_path, rng):
    s = spinlib.random(6, 7, rng)
    np.save(tmp_path / "in.npy", s)
    done = run_cli("fields", "--spins", str(tmp_path / "in.npy"), "--kT", "0.05",
                   "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    energy = ExactSolver(SDModel(kT=0.05)).energy(s)
    assert f"E = {energy:.12f}" in done.stdout
    for name in ("spins.png", "fields.png"):
        data = (tmp_path / "out" / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 10_000
    np.testing.assert_allclose(np.load(tmp_path / "out" / "fields.npy"),
                               ExactSolver(SDModel(kT=0.05)).solve(s).fields, atol=1e-12)


def test_chi0_reports_peaks(tmp_path):
    done = run_cli("chi0", "--nq", "12", "--nk", "36", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("|q| = 1.0472") == 6
    assert (tmp_path / "chi0.png").stat().st_size > 10_000


def test_missing_and_bad_spin_files_are_named(tmp_path):
    done = run_cli("fields", "--spins", str(tmp_path / "nope.npy"), "--out", str(tmp_path))
    assert done.returncode == 2
    assert "nope.npy does not exist" in done.stderr
    np.save(tmp_path / "bad.npy", np.ones((3, 6, 6)))
    done = run_cli("fields", "--spins", str(tmp_path / "bad.npy"), "--out", str(tmp_path))
    assert done.returncode == 2
    assert "bad.npy must be unit vectors" in done.stderr
    assert "Traceback" not in done.stderr


def test_too_small_lattice_is_a_clear_error(tmp_path):
    done = run_cli("fields", "--L", "4", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "too small" in done.stderr and "Traceback" not in done.stderr
