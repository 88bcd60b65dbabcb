"""The layers load only what they need (the import contracts themselves: setup.cfg,
``make lint``)."""

import subprocess
import sys


def imports_cleanly(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (nothing imported by the tests before)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_the_parallel_layer_loads_no_scipy():
    done = imports_cleanly("import distllg.parallel, sys; assert 'scipy' not in sys.modules")
    assert done.returncode == 0, done.stderr


def test_the_package_still_exports_the_model_and_the_solver():
    done = imports_cleanly("import sys, distllg; assert 'scipy' not in sys.modules; "
                           "from distllg import ExactSolver, SDModel; "
                           "from distllg.electrons.exact import ExactSolver as E; "
                           "assert ExactSolver is E and SDModel().J == 1.0")
    assert done.returncode == 0, done.stderr
