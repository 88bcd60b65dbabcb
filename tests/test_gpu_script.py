"""bench/gpu.sh, the prepared GPU check, in its CPU fallback: every part runs and passes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mpi_jobs import ENV

ROOT = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.slow  # every test here takes more than a few seconds


def test_gpu_check_runs_on_the_cpu(tmp_path):
    env = dict(ENV, PYTHON=sys.executable, GPU_CHECK_SIZES="64", GPU_CHECK_L="48")
    done = subprocess.run(["bash", str(ROOT / "bench" / "gpu.sh"), str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(CPU fallback)" in done.stdout
    check = json.loads((tmp_path / "gpu_check.json").read_text())
    assert check["pass"] and check["device"] == "cpu"
    step = json.loads((tmp_path / "gpu_step.json").read_text())
    errors = {row["precision"]: row["field_error_vs_float64"] for row in step["rows"]}
    assert errors["float32"] < 1e-5 < errors["bfloat16"] < 2e-2
    assert all(row["step_ns_per_spin"] > row["evaluation_ns_per_spin"] > 0
               and row["host_path_step_ns_per_spin"] > 0 for row in step["rows"])
    assert "3 steps" in (tmp_path / "gpu_profile.txt").read_text()
    for place in ("host", "device"):
        halo = json.loads((tmp_path / f"gpu_halo_{place}.json").read_text())
        assert halo["pass"] and halo["ranks"] == 2
    assert "host memory" in json.loads((tmp_path / "gpu_halo_host.json").read_text())["note"]
    labels = json.loads((tmp_path / "gpu_labels.json").read_text())
    assert labels["pass"] and labels["L"] == 24 and labels["twists"] == 2
