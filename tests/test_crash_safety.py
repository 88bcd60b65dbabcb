"""Crash safety and clean stops of real ``mpirun -n 2 python -m distllg.run`` jobs.

SIGKILL at several moments (between checkpoints, while a checkpoint is being written, just
after one was renamed: injected by fault_injection.py; and from outside at an arbitrary
instant): the newest checkpoint on disk always loads, and ``--restart latest`` finishes the
run with the very frames and final state of an uninterrupted run (bit for bit: same rank
count). SIGTERM to the ranks (what SLURM sends to every task), SIGUSR1 to mpirun (which
forwards it) and the stop file make the run write a checkpoint and exit 0. Damaged
checkpoints are walked back past on 1 and 2 ranks; a full disk on two ranks exits 1 with one
line per rank naming the file.
"""

import os
import signal
import subprocess
import time

import h5py
import numpy as np
import pytest
from mpi_jobs import MPIRUN, mpirun, mpirun_command, read_output, write_config

from distllg.analysis import report
from distllg.io import checkpoint as ckpt

pytestmark = [pytest.mark.skipif(MPIRUN is None, reason="needs OpenMPI's mpirun"),
              pytest.mark.slow]
STEPS = 200


@pytest.fixture(scope="module")
def straight(tmp_path_factory, model_file):
    folder = tmp_path_factory.mktemp("straight")
    done, _ = mpirun(2, write_config(folder / "c.toml", model_file, folder / "out",
                                     steps=STEPS))
    assert done.returncode == 0, done.stderr
    return read_output(folder / "out")


def assert_same_run(out, reference):
    result = read_output(out)
    assert list(result["step"]) == list(reference["step"])  # no duplicated, no missing frame
    for key in ("spins", "skyrmion_number", "magnetization", "time"):
        np.testing.assert_array_equal(result[key], reference[key])


def wait_for(path, process, timeout=60):
    start = time.perf_counter()
    while not path.exists():
        assert process.poll() is None, "the run ended before it was interrupted"
        assert time.perf_counter() - start < timeout
        time.sleep(0.01)


def start_long_run(tmp_path, model_file):
    """A 20000-step run on 2 ranks, started in the background and past its first
    checkpoints: ``(output directory, process)``."""
    out = tmp_path / "out"
    config = write_config(tmp_path / "c.toml", model_file, out, steps=20000)
    command, env = mpirun_command(2, config)
    job = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, start_new_session=True)
    wait_for(ckpt.path_for(out, 40), job)
    return out, job


@pytest.mark.parametrize("fault, newest", [
    ("kill:0:50", 40),  # between checkpoints
    ("kill-in-checkpoint:1:60", 40),  # while the checkpoint of step 60 is being written
    ("kill:1:60", 60),  # just after the checkpoint of step 60 was renamed
])
def test_sigkill_then_restart_finishes_the_run(tmp_path, model_file, straight, fault, newest):
    out = tmp_path / "out"
    config = write_config(tmp_path / "c.toml", model_file, out, steps=STEPS)
    done, _ = mpirun(2, config, fault=fault)
    assert done.returncode != 0
    latest = ckpt.latest(out)
    assert ckpt.read_state(latest)["step"] == newest
    assert report.describe_checkpoint(latest)["step"] == newest
    leftover = ckpt.directory(out) / "checkpoint_000000060.h5.tmp"
    assert leftover.exists() == fault.startswith("kill-in-checkpoint")
    done, _ = mpirun(2, config, "--restart", "latest")
    assert done.returncode == 0, done.stderr
    assert f"steps {newest}..{STEPS}" in done.stdout
    assert_same_run(out, straight)
    assert not list(ckpt.directory(out).glob("*.tmp"))
    assert len(ckpt.complete(out)) == 3  # output.checkpoint_keep


def test_sigkill_from_outside_then_restart(tmp_path, model_file, straight):
    out = tmp_path / "out"
    config = write_config(tmp_path / "c.toml", model_file, out, steps=STEPS)
    command, env = mpirun_command(2, config)
    job = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    wait_for(ckpt.path_for(out, 40), job)
    time.sleep(0.05)
    os.killpg(job.pid, signal.SIGKILL)  # mpirun and both ranks, wherever they are
    job.wait(timeout=30)
    assert ckpt.read_state(ckpt.latest(out))["step"] >= 40
    done, _ = mpirun(2, config, "--restart", "latest")
    assert done.returncode == 0, done.stderr
    assert_same_run(out, straight)


@pytest.mark.parametrize("target, signum", [("ranks", signal.SIGTERM),
                                            ("mpirun", signal.SIGUSR1)])
def test_a_signal_checkpoints_and_exits_cleanly(tmp_path, model_file, target, signum):
    out, job = start_long_run(tmp_path, model_file)
    if target == "mpirun":
        job.send_signal(signum)
    else:  # as SLURM does for every task of a job step
        ranks = subprocess.run(["pgrep", "-P", str(job.pid)], capture_output=True, text=True)
        for pid in ranks.stdout.split():
            os.kill(int(pid), signum)
    stdout, stderr = job.communicate(timeout=60)
    assert job.returncode == 0, stderr
    name = signal.Signals(signum).name
    assert stdout.count(f"stopped by {name} at step") == 1, stdout
    assert "--restart latest" in stdout
    stopped = ckpt.read_state(ckpt.latest(out))["step"]
    assert 40 <= stopped < 20000
    # Continue 20 steps beyond the stop; equal to a straight run of the same length.
    total = stopped + 20
    done, _ = mpirun(2, write_config(tmp_path / "c.toml", model_file, out, steps=total),
                     "--restart", "latest")
    assert done.returncode == 0, done.stderr
    reference = tmp_path / "straight"
    done, _ = mpirun(2, write_config(tmp_path / "s.toml", model_file, reference, steps=total))
    assert done.returncode == 0, done.stderr
    assert_same_run(out, read_output(reference))


@pytest.mark.parametrize("ranks", [1, 2])
def test_restart_walks_back_past_damaged_checkpoints(tmp_path, model_file, straight, ranks):
    """The two newest checkpoints damaged (one truncated, one with the lowest bit of one
    spin flipped): --restart latest continues from the third, names both, keeps them."""
    out = tmp_path / "out"
    config = write_config(tmp_path / "c.toml", model_file, out, steps=STEPS)
    done, _ = mpirun(2, config)
    assert done.returncode == 0, done.stderr
    oldest, middle, newest = ckpt.complete(out)
    newest.write_bytes(newest.read_bytes()[:3000])
    with h5py.File(middle, "r") as f:
        offset = f["spins"].id.get_chunk_info(0).byte_offset
    data = bytearray(middle.read_bytes())
    data[offset] ^= 1
    middle.write_bytes(bytes(data))
    done, _ = mpirun(ranks, config, "--restart", "latest")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("warning: skipped checkpoint") == 2
    assert f"steps {ckpt.read_state(oldest)['step']}..{STEPS}" in done.stdout
    for damaged in (middle, newest):
        assert damaged.with_name(damaged.name + ".damaged").is_file()
    result = read_output(out)  # bit for bit on the same rank count, round-off on another
    assert list(result["step"]) == list(straight["step"])
    np.testing.assert_allclose(result["spins"], straight["spins"], rtol=0, atol=1e-12)
    if ranks == 2:
        assert_same_run(out, straight)


def test_all_checkpoints_damaged_exit_2_with_one_message(tmp_path, model_file):
    out = tmp_path / "out"
    config = write_config(tmp_path / "c.toml", model_file, out, steps=40)
    assert mpirun(2, config)[0].returncode == 0
    for path in ckpt.complete(out):
        path.write_bytes(path.read_bytes()[:2000])
    done, _ = mpirun(2, config, "--restart", "auto")
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.startswith(("error", "distllg"))]
    assert len(lines) == 1 and lines[0].startswith("error: --restart auto: no checkpoint in")
    assert lines[0].count("is damaged") == len(ckpt.complete(out)) == 2


def test_the_stop_file_under_mpirun_exits_0(tmp_path, model_file):
    out, job = start_long_run(tmp_path, model_file)
    (out / "STOP").touch()
    stdout, stderr = job.communicate(timeout=60)
    assert job.returncode == 0, stderr  # mpirun's own exit status
    assert stdout.count(f"stopped by the stop file {out / 'STOP'} at step") == 1, stdout
    assert not (out / "STOP").exists()


def test_a_full_disk_on_two_ranks_exits_1_naming_the_file(tmp_path, model_file, small_disk):
    config = write_config(tmp_path / "c.toml", model_file, small_disk / "out", steps=20000,
                          every=1, checkpoint_every=100)
    stat = os.statvfs(small_disk)
    (small_disk / "filler").write_bytes(b"\0" * (stat.f_bavail * stat.f_frsize - (1 << 20)
                                                 - 200_000))
    done, _ = mpirun(2, config)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    failed = [line for line in lines if line.startswith("distllg: rank")]
    assert failed and all("failed: no space left on device" in line for line in failed)
    assert all(str(small_disk / "out") in line for line in failed), lines
    assert not list(small_disk.rglob("*.tmp"))
    assert read_output(small_disk / "out")["step"][0] == 0  # what was flushed is kept
