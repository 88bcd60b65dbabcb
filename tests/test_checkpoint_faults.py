"""Faults injected for real into checkpoints and output directories of one-rank runs:
truncated and bit-flipped checkpoints (the restart walks back to the newest one that
verifies and keeps the damaged ones), a child process that crashes while reading, a file in
the way, a read-only and a full file system (small tmpfs mounts, where the machine allows
them), the stop file, and the ``legs`` record of an output file made again. The same faults
on two ranks under mpirun are in test_crash_safety.py."""

import io
import json
import os
import subprocess
import sys
import threading
import time

import h5py
import numpy as np
import pytest
from test_run import small_config

from distllg import config as configlib
from distllg import observers
from distllg import run as runlib
from distllg.io import checkpoint as ckpt
from distllg.io import isolated, preflight
from distllg.io import output as outputlib


def run(tmp_path, steps, restart=None, **output):
    data = small_config(tmp_path, steps=steps)
    data["output"].update(output)
    stream = io.StringIO()
    summary = runlib.run(configlib.from_dict(data), restart=restart, stream=stream)
    return summary, stream.getvalue()


def spin_offset(path) -> int:
    """Byte offset of the spin data of a (one-chunk) checkpoint file."""
    with h5py.File(path, "r") as f:
        return f["spins"].id.get_chunk_info(0).byte_offset


def flip(path, offset: int, mask: int = 0x01) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= mask
    path.write_bytes(bytes(data))


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def flip_lowest_spin_bit(path):
    flip(path, spin_offset(path) + 8 * 7)  # little endian: the lowest mantissa bit


def flip_config(path):
    data = path.read_bytes()
    flip(path, data.index(b'"integrator"') + 2, 0x20)  # a letter of the JSON changes case


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    folder = tmp_path_factory.mktemp("straight")
    run(folder, 30)
    return outputlib.read_series(folder / "run" / "output.h5"), \
        outputlib.read_frame(folder / "run" / "output.h5")[1]


@pytest.mark.parametrize("damage", [truncate, flip_lowest_spin_bit, flip_config])
def test_restart_walks_back_past_a_damaged_checkpoint(tmp_path, straight, damage):
    run(tmp_path, 20)  # checkpoints 10, 20
    newest = ckpt.latest(tmp_path / "run")
    damage(newest)
    with pytest.raises(ckpt.CheckpointError, match="is damaged"):
        ckpt.read_state(newest)
    summary, text = run(tmp_path, 30, restart="latest")
    assert f"warning: skipped checkpoint {newest} is damaged" in text
    assert "steps 10..30" in text
    assert newest.with_name(newest.name + ".damaged").is_file()  # kept, not deleted
    series = outputlib.read_series(tmp_path / "run" / "output.h5")
    np.testing.assert_array_equal(series["step"], straight[0]["step"])
    np.testing.assert_array_equal(series["skyrmion_number"], straight[0]["skyrmion_number"])
    np.testing.assert_array_equal(outputlib.read_frame(tmp_path / "run" / "output.h5")[1],
                                  straight[1])


def test_the_plan_reads_attributes_and_the_ranks_verify_the_spins_as_they_read_them(
        tmp_path):
    """A restart does not stream the spins through one process first: the plan takes the
    newest checkpoint whose attributes verify, spins unread; the ranks' collective read
    finds the flipped bit, and ``latest`` walks back while a named path is refused."""
    from distllg.io import restart as restartlib

    run(tmp_path, 20)
    newest = ckpt.latest(tmp_path / "run")
    flip_lowest_spin_bit(newest)
    config = configlib.from_dict(small_config(tmp_path, steps=30))
    assert restartlib.plan(config, "latest", False, "").checkpoint == newest
    assert ckpt.newest_verified(tmp_path / "run")[0] == newest  # a job chain's check
    assert ckpt.newest_verified(tmp_path / "run", verify_spins=True)[0] != newest
    older = restartlib.plan(config, "latest", False, "", rejected=[(newest, "bad spins")])
    assert older.checkpoint != newest and older.skipped == ((newest, "bad spins"),)
    with pytest.raises(runlib.SetupError, match="spins read by the ranks do not match"):
        run(tmp_path, 30, restart=str(newest))
    summary, text = run(tmp_path, 30, restart="latest")
    assert f"warning: skipped checkpoint {newest} is damaged" in text and "steps 10..30" in text


def test_a_rank_that_cannot_read_the_spins_sets_nothing_aside(tmp_path, monkeypatch):
    """An I/O failure while the ranks read a sound checkpoint (a file lock, a flaky file
    system) stops the restart and renames nothing: only verification walks back."""
    run(tmp_path, 20)
    before = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())

    def unavailable(*args, **kwargs):
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(ckpt, "open_file", unavailable)
    with pytest.raises(runlib.SetupError, match="could not be read .*nothing was changed"):
        run(tmp_path, 30, restart="latest")
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == before


def test_a_truncated_checkpoint_is_found_without_reading_its_spins(tmp_path):
    run(tmp_path, 10)
    newest = ckpt.latest(tmp_path / "run")
    truncate(newest)
    with pytest.raises(ckpt.CheckpointError, match="is damaged"):
        ckpt.read_state(newest, verify_spins=False)


def test_every_checkpoint_damaged_is_refused_and_nothing_changes(tmp_path):
    run(tmp_path, 20)
    for path in ckpt.complete(tmp_path / "run"):
        flip_lowest_spin_bit(path)
    before = {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file()}
    for restart in ("latest", "auto"):
        with pytest.raises(runlib.SetupError) as error:
            run(tmp_path, 30, restart=restart)
        message = str(error.value)
        assert f"--restart {restart}: no checkpoint in" in message
        assert message.count("do not match their checksum") == 2
        assert "--restart PATH" in message and "--overwrite" in message
    assert {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file()} == before


@pytest.mark.slow
def test_byte_flips_outside_the_spins_never_pass_unnoticed(tmp_path):
    """Flips at 40 random places of the file outside the spin data: each gives either the
    very state of the undamaged file (the byte was unused) or a CheckpointError."""
    run(tmp_path, 10)
    path = ckpt.latest(tmp_path / "run")
    good = ckpt.read_state(path)
    original = path.read_bytes()
    start = spin_offset(path)
    end = start + 3 * 6 * 6 * 8
    rng = np.random.default_rng(3)
    places = [int(p) for p in rng.integers(0, len(original) - (end - start), 40)]
    outcomes = {"same": 0, "refused": 0}
    for place in places:
        place = place if place < start else place + (end - start)
        flip(path, place, int(rng.integers(1, 256)))
        try:
            state = ckpt.read_state(path)
        except ckpt.CheckpointError as error:
            assert str(path) in str(error)
            outcomes["refused"] += 1
        else:
            assert state == good, f"a flip at byte {place} changed the state unnoticed"
            outcomes["same"] += 1
        path.write_bytes(original)
    assert outcomes["refused"] > 0


def test_a_reader_that_crashes_is_a_message(tmp_path, monkeypatch):
    run(tmp_path, 10)
    monkeypatch.setattr(isolated, "CHILD", "import os, signal; os.kill(os.getpid(), "
                                           "signal.SIGSEGV)")
    with pytest.raises(ckpt.CheckpointError, match=r"reading it crashed HDF5 \(SIGSEGV\)"):
        ckpt.read_state(ckpt.latest(tmp_path / "run"))


def test_output_directory_behind_a_file_is_refused_before_any_work(tmp_path):
    (tmp_path / "blocker").write_text("not a directory")
    data = small_config(tmp_path)
    data["output"]["directory"] = str(tmp_path / "blocker" / "run")
    config = tmp_path / "c.toml"
    config.write_text("\n".join(f"[{name}]\n" + "\n".join(f"{k} = {v!r}".replace("'", '"')
                                                           for k, v in section.items())
                                for name, section in data.items()))
    done = subprocess.run([sys.executable, "-m", "distllg.run", str(config)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert f"{tmp_path / 'blocker'} is a file, not a directory" in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_a_read_only_file_system_is_refused_before_any_work(tmp_path, small_disk):
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    data = small_config(tmp_path)
    data["output"]["directory"] = str(small_disk / "run")
    with pytest.raises(runlib.SetupError, match=f"{small_disk} is on a read-only file system"):
        runlib.run(configlib.from_dict(data), stream=io.StringIO())


def test_too_little_space_is_refused_before_any_work(tmp_path, small_disk):
    data = small_config(tmp_path)
    data["lattice"]["L"] = 192  # needs 3.3 MiB for a frame and a checkpoint
    data["output"]["directory"] = str(small_disk / "run")
    with pytest.raises(runlib.SetupError, match=r"MiB free on its file system, the first "
                                                r"frame and checkpoint need 3\.2 MiB"):
        runlib.run(configlib.from_dict(data), stream=io.StringIO())
    assert not (small_disk / "run").exists()


def test_a_full_disk_names_the_file_and_keeps_what_was_written(tmp_path, small_disk):
    data = small_config(tmp_path, steps=5000)
    data["output"].update(directory=str(small_disk / "run"), every=1, checkpoint_every=50)
    config = configlib.from_dict(data)
    free = preflight.bytes_needed(config) + 60_000
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (os.statvfs(small_disk).f_bavail
                                * os.statvfs(small_disk).f_frsize - free))
    with pytest.raises(OSError, match=r"run/(output\.h5|checkpoints/checkpoint_\d+\.h5|"
                                      r"output\.xdmf) failed: no space left on device"):
        runlib.run(config, stream=io.StringIO())
    assert not list((small_disk / "run").rglob("*.tmp"))
    filler.unlink()
    kept = outputlib.read_series(small_disk / "run" / "output.h5")["step"]
    assert kept.size > 0 and kept[0] == 0
    summary, _ = run(tmp_path, 5000, restart="latest", directory=str(small_disk / "run"),
                     every=1, checkpoint_every=50, stop_wall_time=1.0)
    assert summary is None  # continued from its newest checkpoint until the wall-time stop


def test_the_stop_file_stops_the_run_cleanly(tmp_path):
    out = tmp_path / "run"

    def touch_later():
        while not (out / "output.h5").exists():
            time.sleep(0.05)
        time.sleep(0.5)
        (out / observers.STOP_FILE).touch()

    threading.Thread(target=touch_later, daemon=True).start()
    summary, text = run(tmp_path, 10**6)
    assert summary is None
    assert f"stopped by the stop file {out / observers.STOP_FILE} at step" in text
    assert not (out / observers.STOP_FILE).exists()
    assert 0 < ckpt.read_state(ckpt.latest(out))["step"] < 10**6


def test_a_new_output_file_records_its_first_step(tmp_path):
    run(tmp_path, 20)
    (tmp_path / "run" / "output.h5").unlink()
    _, text = run(tmp_path, 30, restart="latest")
    assert "is missing; a new one starts at step 20" in text
    with h5py.File(tmp_path / "run" / "output.h5", "r") as f:
        legs = json.loads(f.attrs["legs"])
    assert [leg["first_step"] for leg in legs] == [20]
    assert outputlib.read_series(tmp_path / "run" / "output.h5")["step"][0] == 21


def test_a_damaged_output_file_stops_the_restart_and_is_kept(tmp_path):
    run(tmp_path, 20)
    output = tmp_path / "run" / "output.h5"
    output.write_bytes(output.read_bytes()[:1000])
    before = output.read_bytes()
    with pytest.raises(runlib.SetupError, match=f"{output}.*Move it aside"):
        run(tmp_path, 30, restart="latest")
    assert output.read_bytes() == before
    output.rename(tmp_path / "kept.h5")
    summary, _ = run(tmp_path, 30, restart="latest")
    assert summary["legs"][-1]["first_step"] == 20


def test_an_output_file_of_another_run_stops_the_restart(tmp_path):
    big = small_config(tmp_path, steps=10)
    big["lattice"]["L"] = 12
    big["output"]["directory"] = str(tmp_path / "big")
    runlib.run(configlib.from_dict(big), stream=io.StringIO())
    run(tmp_path, 20)
    output = tmp_path / "run" / "output.h5"
    output.write_bytes((tmp_path / "big" / "output.h5").read_bytes())
    before = output.read_bytes()
    with pytest.raises(runlib.SetupError, match=r"is not the output of this run \(format "
                                                r"distllg-output-1, run_hash \w+, lattice "
                                                r"\[12, 12\]; this run: .*lattice \[6, 6\]"):
        run(tmp_path, 30, restart="latest")
    assert output.read_bytes() == before
