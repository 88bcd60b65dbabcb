"""The run entry point: config validation, a short ED-LLG run, and bit-for-bit restart."""

import dataclasses
import io
import json
import pickle
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import h5py
import numpy as np
import pytest

from distllg import config as configlib
from distllg import initial
from distllg import run as runlib
from distllg.dynamics import observables as obs
from distllg.io import checkpoint as ckpt
from distllg.io import output as outputlib

REPOSITORY = Path(__file__).resolve().parent.parent


def small_config(tmp_path, steps=30, **dynamics):
    data = {
        "lattice": {"L": 6},
        "hamiltonian": {"kT": 0.02},
        "dynamics": {"integrator": "heun", "dt": 0.2, "alpha": 0.5, "steps": steps, **dynamics},
        "initial": {"state": "random", "seed": 4},
        "output": {"directory": str(tmp_path / "run"), "every": 3, "log_every": 10,
                   "checkpoint_every": 10, "snapshots": 2},
    }
    return data


@pytest.mark.parametrize(
    "change, message",
    [
        ({"dynamics": {"dtt": 0.1}}, "unknown key 'dynamics.dtt'"),
        ({"lattice": {"L": 12.5}}, "'lattice.L' must be int"),
        ({"hamiltonian": {"J": "strong"}}, "'hamiltonian.J' must be float"),
        ({"hamiltonian": {"kT": -1.0}}, r"\[hamiltonian\]: SDModel.kT"),
        ({"dynamic": {}}, r"unknown section \[dynamic\]"),
        ({"dynamics": {"integrator": "euler"}}, "'dynamics.integrator' = 'euler'"),
        ({"dynamics": {"dt": 0}}, "'dynamics.dt' must be > 0"),
        ({"engine": {"kind": "magic"}}, "'engine.kind' = 'magic'"),
        ({"engine": {"precision": "half"}}, "'engine.precision' = 'half'"),
        ({"engine": {"halo": "gpu"}}, "'engine.halo' = 'gpu'"),
        ({"initial": {"state": "file", "file": "/nonexistent.npy"}}, "'initial.file'"),
        ({"training": {"kind": "gcnn"}}, "'training.kind' = 'gcnn'"),
        ({"training": {"kind": "symmetric", "channels": 16}}, "'training.channels' = 16"),
        ({"training": {"gradient_clip": -1.0}}, "'training.gradient_clip'"),
        ({"training": {"kind": "symmetric", "channels": 12, "window": 4, "tail": 3}},
         "'training.tail' = 3"),
        ({"training": {"kind": "equivariant", "tail": 6}}, "'training.tail' = 6"),
        ({"training": {"end_kernel": 2}}, "'training.end_kernel' must be odd"),
        ({"training": {"end_kernel": -1}}, "'training.end_kernel' must be odd"),
        ({"training": {"end_kernel": 1}}, "'training.end_kernel' applies to kind"),
    ],
)
def test_bad_config_names_the_key(change, message):
    with pytest.raises(configlib.ConfigError, match=message):
        configlib.from_dict(change)


def test_config_file_errors(tmp_path):
    with pytest.raises(configlib.ConfigError, match="does not exist"):
        configlib.load(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("[lattice\nL = 3")
    with pytest.raises(configlib.ConfigError, match="not valid TOML"):
        configlib.load(tmp_path / "bad.toml")


def test_boolean_keys_take_true_or_false_only():
    assert configlib.from_dict({"training": {"transfer": True}}).training.transfer is True
    with pytest.raises(configlib.ConfigError, match="'training.transfer' must be bool"):
        configlib.from_dict({"training": {"transfer": 1}})


def test_shipped_configs_are_valid():
    configs = sorted((Path(__file__).parent.parent / "configs").glob("*.toml"))
    assert configs
    for path in configs:
        configlib.load(path)


def test_restart_continues_bit_for_bit(tmp_path):
    straight = configlib.from_dict(small_config(tmp_path / "a", steps=30))
    runlib.run(straight, stream=io.StringIO())
    first_leg = configlib.from_dict(small_config(tmp_path / "b", steps=20))
    runlib.run(first_leg, stream=io.StringIO())
    second_leg = configlib.from_dict(small_config(tmp_path / "b", steps=30))
    runlib.run(second_leg, restart="latest", stream=io.StringIO())
    a = tmp_path / "a" / "run" / "output.h5"
    b = tmp_path / "b" / "run" / "output.h5"
    series_a, series_b = outputlib.read_series(a), outputlib.read_series(b)
    for key in ("step", "time", "energy_per_site", "skyrmion_number", "magnetization"):
        np.testing.assert_array_equal(series_a[key], series_b[key])
    assert list(series_b["step"]) == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30]
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        np.testing.assert_array_equal(fa["tasks/spins"][:], fb["tasks/spins"][:])
        assert [leg["first_step"] for leg in json.loads(fb.attrs["legs"])] == [0, 20]


def test_the_restart_plan_says_what_a_run_starts_from(tmp_path):
    from distllg.io import restart

    config = configlib.from_dict(small_config(tmp_path, steps=20))
    fresh = restart.plan(config, None, False, "")
    assert (fresh.checkpoint, fresh.state, fresh.clear, fresh.skipped) == (None, None, False, ())
    assert (fresh.step, fresh.wall_time) == (0, 0.0)
    assert fresh.run_hash == restart.run_hash(config, "")
    runlib.run(config, stream=io.StringIO())
    again = restart.plan(config, "auto", False, "")
    assert again.checkpoint == ckpt.latest(tmp_path / "run") and again.step == 20
    assert again.wall_time == again.state["wall_time"] > 0 and not again.clear
    assert pickle.loads(pickle.dumps(again)) == again  # what comm.bcast sends
    assert restart.plan(config, None, True, "").clear
    with pytest.raises(dataclasses.FrozenInstanceError):
        again.clear = True


def test_exact_engine_with_twists_runs_on_the_tiled_lattice_fields(tmp_path):
    """engine.twists = 2: the run's trajectory is LLG under the fields of the lattice tiled
    2 x 2, and a checkpoint of it does not continue a plain-ED run (other physics)."""
    from distllg.dynamics import stepper
    from distllg.electrons.bloch import TwistAveragedSolver

    data = small_config(tmp_path, steps=6)
    data["engine"] = {"twists": 2}
    config = configlib.from_dict(data)
    runlib.run(config, stream=io.StringIO())
    expected = stepper.integrate(initial.spins(config),
                             TwistAveragedSolver(config.hamiltonian, (2, 2)).energy_and_fields,
                             0.2, 0.5, 6, "heun")
    _, final = outputlib.read_frame(tmp_path / "run" / "output.h5")
    np.testing.assert_allclose(final, expected, rtol=0, atol=1e-12)
    plain = small_config(tmp_path, steps=12)
    with pytest.raises(runlib.SetupError, match="written for other physics"):
        runlib.run(configlib.from_dict(plain), restart="latest")


def test_restart_refuses_other_physics(tmp_path):
    runlib.run(configlib.from_dict(small_config(tmp_path, steps=10)), stream=io.StringIO())
    other = small_config(tmp_path, steps=20, alpha=0.1)
    with pytest.raises(runlib.SetupError, match="written for other physics"):
        runlib.run(configlib.from_dict(other), restart="latest")
    bigger = small_config(tmp_path, steps=20)
    bigger["lattice"]["L"] = 8
    with pytest.raises(runlib.SetupError, match="holds a 6 x 6 lattice; .* asks for 8 x 8"):
        runlib.run(configlib.from_dict(bigger), restart="latest")


@pytest.mark.slow
def test_a_fresh_run_does_not_overwrite_a_run(tmp_path):
    config = configlib.from_dict(small_config(tmp_path, steps=10))
    runlib.run(config, stream=io.StringIO())
    before = {p: p.read_bytes() for p in (tmp_path / "run").rglob("*.h5")}
    with pytest.raises(runlib.SetupError, match="already holds a run .* --overwrite"):
        runlib.run(config, stream=io.StringIO())
    assert {p: p.read_bytes() for p in (tmp_path / "run").rglob("*.h5")} == before
    runlib.run(config, stream=io.StringIO(), overwrite=True)
    # 'auto' on a finished run rewrites its last frame and summary only
    stream = io.StringIO()
    summary = runlib.run(config, restart="auto", stream=stream)
    assert "the run is complete at step 10" in stream.getvalue()
    assert summary["frames_written"] == 5
    with pytest.raises(runlib.SetupError, match="--restart latest: no checkpoint"):
        runlib.run(configlib.from_dict(small_config(tmp_path / "new")), restart="latest")


@pytest.mark.slow
def test_run_cli_writes_results_and_plots(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"""
[lattice]
L = 6
[hamiltonian]
h = 0.05
[dynamics]
integrator = "midpoint"
dt = 0.2
alpha = 0.5
steps = 40
[output]
directory = "{tmp_path / 'out'}"
every = 4
log_every = 20
""")
    done = subprocess.run([sys.executable, "-m", "distllg.run", str(cfg)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "step      40" in done.stdout and "ETA" in done.stdout
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["steps"] == 40
    energy = outputlib.read_series(tmp_path / "out" / "output.h5")["energy_per_site"]
    assert np.all(np.diff(energy) < 0)  # damped: the energy falls
    assert energy[-1] == pytest.approx(summary["energy_per_site"])
    for name in ("energy.png", "skyrmion_number.png", "spins_final.png", "chirality_final.png",
                 "crystal_final.png", "structure_factor_final.png"):
        assert (tmp_path / "out" / name).stat().st_size > 5000
    final = outputlib.read_frame(tmp_path / "out" / "output.h5")[1]
    from distllg.analysis.report import crystal_wave_number
    from distllg.dynamics import observables
    assert summary["crystal_share"] == pytest.approx(
        observables.crystal_share(final, crystal_wave_number(final)))
    assert f"crystal share {summary['crystal_share']:.2f}" in done.stdout
    # the documented layout, read with plain h5py
    with h5py.File(tmp_path / "out" / "output.h5", "r") as f:
        assert f["tasks/spins"].shape == (11, 3, 6, 6)
        for name in ("scales/iteration", "scales/sim_time", "scales/wall_time", "tasks/energy",
                     "tasks/skyrmion_number"):
            assert f[name].shape == (11,)
        assert f["tasks/magnetization"].shape == (11, 3)
        assert f["geometry/xy"].shape == (6, 6, 2)
        assert json.loads(f.attrs["config"])["dynamics"]["steps"] == 40
        assert "numpy" in json.loads(f.attrs["versions"])
    check_xdmf(tmp_path / "out" / "output.xdmf", frames=11)
    done = subprocess.run([sys.executable, "-m", "distllg", "inspect", str(tmp_path / "out" /
                           "output.h5"), "--plots", str(tmp_path / "plots")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "11 of 11 frames written, steps [0, 40]" in done.stdout
    assert (tmp_path / "plots" / "skyrmion_number.png").stat().st_size > 5000


def check_xdmf(path, frames):
    """The XDMF parses, has one grid per frame, and every HDF reference names an existing
    dataset of the stated dimensions."""
    root = ET.parse(path).getroot()
    grids = root.findall(".//Grid[@GridType='Uniform']")
    assert len(grids) == frames
    times = [float(g.find("Time").get("Value")) for g in grids]
    assert times == sorted(times)
    references = [item for item in root.iter("DataItem") if item.get("Format") == "HDF"]
    assert references
    for item in references:
        name, dataset = item.text.strip().split(":")
        with h5py.File(path.parent / name, "r") as f:
            assert f[dataset].shape == tuple(int(n) for n in item.get("Dimensions").split())
    # Grid k shows written frame k: its time, and Sx, Sy, Sz as hyperslabs of its spins.
    with h5py.File(path.with_suffix(".h5"), "r") as f:
        written = outputlib.written_frames(f)
        shape = f["tasks/spins"].shape
        assert times == list(f["scales/sim_time"][:][written])
        for grid, k in zip(grids, written, strict=True):
            attributes = grid.findall("Attribute")
            assert [a.get("Name") for a in attributes] == list(outputlib.COMPONENTS)
            for component, attribute in enumerate(attributes):
                selection, source = attribute.find("DataItem").findall("DataItem")
                numbers = [int(n) for n in selection.text.split()]
                assert numbers == [k, component, 0, 0, 1, 1, 1, 1, 1, 1, *shape[2:]]
                assert source.text.strip() == "output.h5:/tasks/spins"


@pytest.mark.skipif(shutil.which("pvbatch") is None or shutil.which("xvfb-run") is None,
                    reason="needs ParaView's pvbatch and xvfb-run (python3-paraview, xvfb)")
@pytest.mark.slow
def test_paraview_renders_the_output_without_errors(tmp_path):
    runlib.run(configlib.from_dict(small_config(tmp_path, steps=6)), stream=io.StringIO())
    image = tmp_path / "frame.png"
    command = ["xvfb-run", "-a", "pvbatch",
               str(REPOSITORY / "docs" / "scripts" / "render_paraview.py"),
               str(tmp_path / "run" / "output.xdmf"), str(image)]
    for _ in range(3):  # xvfb-run -a can hand out a display before its server is up
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if "bad X server connection" not in done.stderr:
            break
    assert done.returncode == 0, done.stderr
    text = done.stdout + done.stderr
    assert "HDF5-DIAG" not in text and "Error" not in text, text
    assert "wrote" in done.stdout and image.stat().st_size > 10000


def test_run_cli_reports_bad_config(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[dynamics]\nalpha = -1.0\n")
    done = subprocess.run([sys.executable, "-m", "distllg.run", str(cfg)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert "'dynamics.alpha' must be >= 0" in done.stderr and "Traceback" not in done.stderr


def test_restart_refuses_a_corrupted_checkpoint(tmp_path):
    config = configlib.from_dict(small_config(tmp_path, steps=10))
    runlib.run(config, stream=io.StringIO())
    checkpoint = ckpt.latest(tmp_path / "run")
    checkpoint.write_bytes(checkpoint.read_bytes()[:300])
    before = {p: p.read_bytes() for p in (tmp_path / "run").rglob("*.h5")}
    longer = configlib.from_dict(small_config(tmp_path, steps=20))
    with pytest.raises(runlib.SetupError, match="no checkpoint in .* verifies .*is damaged: "
                                                "HDF5 cannot open it .*--restart PATH"):
        runlib.run(longer, restart="latest")
    with pytest.raises(runlib.SetupError, match="checkpoint .*nope.h5 does not exist"):
        runlib.run(longer, restart=str(tmp_path / "nope.h5"))
    assert {p: p.read_bytes() for p in (tmp_path / "run").rglob("*.h5")} == before


def test_restart_refuses_flipped_bytes_in_the_spins(tmp_path):
    config = configlib.from_dict(small_config(tmp_path, steps=10))
    runlib.run(config, stream=io.StringIO())
    checkpoint = ckpt.latest(tmp_path / "run")
    with h5py.File(checkpoint, "r") as f:
        offset = f["spins"].id.get_chunk_info(0).byte_offset
    data = bytearray(checkpoint.read_bytes())
    data[offset + 8 * 7 + 6] ^= 0x10  # the lowest exponent bit of one spin component
    checkpoint.write_bytes(bytes(data))
    with pytest.raises(runlib.SetupError, match="do not match their checksum"):
        runlib.run(configlib.from_dict(small_config(tmp_path, steps=20)), restart="latest")


def test_stop_wall_time_checkpoints_and_the_run_continues(tmp_path):
    data = small_config(tmp_path, steps=100000)
    data["output"]["stop_wall_time"] = 1.0
    stream = io.StringIO()
    assert runlib.run(configlib.from_dict(data), stream=stream) is None
    assert "stopped by 'output.stop_wall_time' = 1 s at step" in stream.getvalue()
    stopped = ckpt.read_state(ckpt.latest(tmp_path / "run"))["step"]
    assert 0 < stopped < 100000
    data["dynamics"]["steps"] = stopped + 7
    data["output"]["stop_wall_time"] = 0.0
    summary = runlib.run(configlib.from_dict(data), restart="latest", stream=io.StringIO())
    series = outputlib.read_series(tmp_path / "run" / "output.h5")
    expected = list(range(0, stopped + 7, 3)) + [stopped + 7]
    assert list(series["step"]) == expected and summary["steps"] == stopped + 7


@pytest.mark.slow
def test_checkpoints_by_wall_time_and_the_newest_k_kept(tmp_path):
    """``checkpoint_minutes`` adds checkpoints between the step-based ones; only the newest
    ``checkpoint_keep`` stay."""
    data = small_config(tmp_path, steps=1000)
    data["output"].update(checkpoint_every=100000, checkpoint_minutes=0.005, checkpoint_keep=2)
    runlib.run(configlib.from_dict(data), stream=io.StringIO())
    kept = [ckpt.read_state(p)["step"] for p in ckpt.complete(tmp_path / "run")]
    assert len(kept) == 2 and kept[-1] == 1000
    assert 0 < kept[0] < 1000  # written by the clock (every 0.3 s), not by the step count


def test_summaries_of_a_wide_lattice_read_a_window_only(tmp_path, monkeypatch):
    """Beyond ``report.WINDOW`` sites a side, S(q), crystal share and plots use the first
    window (read alone from the file); Q and |m| stay the run's global values."""
    from distllg.analysis import report

    runlib.run(configlib.from_dict(small_config(tmp_path, steps=6)), stream=io.StringIO())
    path = tmp_path / "run" / "output.h5"
    monkeypatch.setattr(report, "WINDOW", 4)
    summary = report.describe_output(path)
    _, spins = outputlib.read_frame(path)
    assert summary["window"] == [4, 4]
    assert summary["skyrmion_number"] == pytest.approx(obs.skyrmion_number(spins), abs=1e-12)
    np.testing.assert_allclose(summary["magnetization"], obs.magnetization(spins), atol=1e-12)
    assert summary["crystal_share"] == pytest.approx(
        obs.crystal_share(spins[:, :4, :4], report.crystal_wave_number(spins[:, :4, :4])))
    written = report.write_output_plots(path, tmp_path / "plots", snapshots=2)
    assert all(p.stat().st_size > 5000 for p in written)


def test_a_constant_field_ramp_is_the_zeeman_field_of_the_hamiltonian(tmp_path):
    """The ramp adds h z to the local fields of any engine: held at h, the exact run follows
    the run whose [hamiltonian] has h (the ED fields carry its Zeeman term) to round-off."""
    finals = []
    for name, hamiltonian, dynamics in (
            ("static", {"h": 0.05}, {}),
            ("ramp", {}, {"field_steps": [0], "field_values": [0.05]})):
        data = small_config(tmp_path / name, steps=12, **dynamics)
        data["hamiltonian"].update(hamiltonian)
        runlib.run(configlib.from_dict(data), stream=io.StringIO())
        finals.append(outputlib.read_frame(tmp_path / name / "run" / "output.h5")[1])
    start = initial.spins(configlib.from_dict(small_config(tmp_path)))
    assert np.abs(finals[0] - start).max() > 1e-3  # the spins moved
    np.testing.assert_allclose(finals[1], finals[0], rtol=0, atol=1e-12)


def test_plots_of_a_ramped_run_name_the_field_of_their_step():
    from distllg.analysis.report import title_of

    config = {"dynamics": {"alpha": 1.0, "field_steps": [0, 10], "field_values": [0.0, 0.01]},
              "hamiltonian": {"h": 0.001}}
    assert title_of(config, (48, 48), 5).endswith("h = 0.006")
    assert title_of(config, (48, 48)).endswith("h ramped")
    assert title_of({"dynamics": {"alpha": 0.5}, "hamiltonian": {"h": 0.0}}, (6, 6)) == \
        "L = 6x6, alpha = 0.5, h = 0"
