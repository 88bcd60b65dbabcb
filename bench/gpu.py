"""The GPU checks of bench/gpu.sh, one part per call (CPU fallback where no GPU is seen).

* ``check``: one CNN evaluation and 10 midpoint LLG steps of the shipped J1_mu-3.5_kT0.1
  model in float64 on the GPU against the CPU, spins resident where they are stepped
  (target: <= 1e-12);
* ``step``: the whole stochastic midpoint step (two network evaluations, the torque
  assembly, the counter-based noise and the integrator, spins resident on the device) of the
  crystal-point model J0.5_mu-3.5_kT0.05 at ``--sizes`` in bfloat16 and float32 (on a GPU
  the float32 convolutions run in TF32, PyTorch's default): ns per spin-step and spin-steps
  per second, next to one bare network evaluation and the previous host path (numpy spins,
  the integrator on the host, the tile copied to the device and the fields back at each
  evaluation), in the same run; bfloat16's field error against float64;
* ``profile``: torch.profiler over three whole steps (bfloat16, the largest size): the
  kernels and copies that take the time, as a table;
* ``halo``: under ``mpirun -n 2``, both ranks on the one GPU, 10 midpoint steps of the tiled
  engine, the padded tile on the device and its halo strips staged through pinned host
  memory (``--halo host``) or handed to MPI on the device (``--halo device``: GPU to GPU
  where the MPI library is CUDA-aware, else staged, and said so), against one serial run
  (float64, target: <= 1e-10), and the time per step;
* ``labels``: one training label of the crystal-point recipe (2 x 2 twist-averaged ED of a
  random 24 x 24 frame, configs/recipes/J0.5_mu-3.5_kT0.05) with the eigen-decompositions on
  the device against LAPACK's subset driver on one CPU core: field difference (target:
  <= 1e-10) and time of each.
Each part prints one JSON line and writes it to ``--out``/gpu_PART[_HALO].json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from distllg import spins as spinlib  # noqa: E402
from distllg.dynamics import llg  # noqa: E402
from distllg.dynamics.stepper import Stepper  # noqa: E402
from distllg.dynamics.thermal import Thermostat  # noqa: E402
from distllg.model import io as modelio  # noqa: E402
from distllg.model.provider import PeriodicCNNFields, TiledCNNFields  # noqa: E402

STEPS, DT, ALPHA = 10, 0.1, 0.5
#: the model of the step measurement (the one runs use) and its spin temperature
STEP_MODEL, STEP_TEMPERATURE = "J0.5_mu-3.5_kT0.05", 0.002


def device() -> torch.device:
    return torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def fields(where: torch.device, dtype=torch.float64,
           model: str = "J1_mu-3.5_kT0.1") -> PeriodicCNNFields:
    return PeriodicCNNFields(modelio.load_model(model), device=where, dtype=dtype)


def steps(spins: torch.Tensor, provider, count: int = STEPS) -> torch.Tensor:
    """``count`` midpoint steps of resident spins (a tensor on the provider's device)."""
    for _ in range(count):
        spins, _ = llg.midpoint_step(spins, provider.fields, DT, ALPHA)
    return spins


def check(L: int) -> dict:
    """float64 on the device against the CPU: one evaluation, then 10 LLG steps."""
    start = torch.from_numpy(spinlib.random(L, L, np.random.default_rng(0)))
    gpu, cpu = fields(device()), fields(torch.device("cpu"))
    one = (gpu.fields(start.to(device()))[1].cpu() - cpu.fields(start)[1]).abs().max()
    moved = (steps(start.to(device()), gpu).cpu() - steps(start, cpu)).abs().max()
    return {"device": str(device()), "device_name": device_name(), "L": L,
            "evaluation_max_difference": float(one),
            "llg_10_steps_max_difference": float(moved),
            "pass": bool(one <= 1e-12 and moved <= 1e-12)}


def device_name() -> str:
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"


def best_of(work, repeats: int = 3) -> float:
    """Seconds of the fastest of ``repeats`` calls of ``work`` after one warm-up call (cuDNN
    picks its algorithms), the device synchronised around each."""
    work()
    sync()
    best = np.inf
    for _ in range(repeats):
        begin = time.perf_counter()
        work()
        sync()
        best = min(best, time.perf_counter() - begin)
    return best


def step(sizes: list[int]) -> dict:
    """The whole stochastic midpoint step with resident spins, a bare evaluation and the
    previous host path, per spin, at each size and precision."""
    where, rows = device(), []
    for L in sizes:
        host_spins = spinlib.random(L, L, np.random.default_rng(1))
        spins = torch.from_numpy(host_spins).to(where)
        truth = fields(where, model=STEP_MODEL).fields(spins)[1]
        for name in ("bfloat16", "float32"):
            provider = fields(where, getattr(torch, name), STEP_MODEL)
            thermostat = Thermostat((L, L), STEP_TEMPERATURE, seed=1)
            stepper = Stepper("midpoint", DT, ALPHA, provider.fields, thermostat)
            resident = best_of(lambda stepper=stepper, s=spins: stepper.step(s, 7))
            bare = best_of(lambda provider=provider, s=spins: provider.fields(s))
            noise = best_of(lambda t=thermostat: t.field(7, DT, ALPHA, device=where))
            host_path = best_of(lambda provider=provider, s=host_spins: llg.midpoint_step(
                s, provider.energy_and_fields, DT, ALPHA), repeats=1)
            error = (provider.fields(spins)[1] - truth).norm() / truth.norm()
            rows.append({"L": L, "precision": name,
                         "step_ns_per_spin": 1e9 * resident / L**2,
                         "spin_steps_per_s": L**2 / resident,
                         "evaluation_ns_per_spin": 1e9 * bare / L**2,
                         "noise_ns_per_spin": 1e9 * noise / L**2,
                         "host_path_step_ns_per_spin": 1e9 * host_path / L**2,
                         "host_path_over_resident": host_path / resident,
                         "field_error_vs_float64": float(error)})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return {"device": str(where), "device_name": device_name(), "model": STEP_MODEL,
            "integrator": "midpoint", "spin_temperature": STEP_TEMPERATURE,
            "tf32_convolutions": bool(torch.backends.cudnn.allow_tf32)
            if where.type == "cuda" else False, "torch": torch.__version__, "rows": rows}


def profile(sizes: list[int], out: Path) -> dict:
    """torch.profiler over three whole bfloat16 steps at the largest size: the table of the
    operations that take the time, in ``out``/gpu_profile.txt."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as profiler

    where, L = device(), max(sizes)
    spins = torch.from_numpy(spinlib.random(L, L, np.random.default_rng(1))).to(where)
    provider = fields(where, torch.bfloat16, STEP_MODEL)
    stepper = Stepper("midpoint", DT, ALPHA, provider.fields,
                      Thermostat((L, L), STEP_TEMPERATURE, seed=1))
    stepper.step(spins, 0)
    sync()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA]
                                           if where.type == "cuda" else [])
    with profiler(activities=activities) as prof:
        for number in range(3):
            spins, _ = stepper.step(spins, number)
        sync()
    key = "cuda_time_total" if where.type == "cuda" else "cpu_time_total"
    table = prof.key_averages().table(sort_by=key, row_limit=30)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_profile.txt").write_text(f"{device_name()}, L = {L}, 3 steps\n{table}\n")
    print(table, file=sys.stderr, flush=True)
    return {"device": str(where), "device_name": device_name(), "L": L,
            "table": str(out / "gpu_profile.txt")}


def halo(place: str, L: int) -> dict | None:
    """Two ranks on one device, halo in host memory or on the device, against serial."""
    from mpi4py import MPI

    from distllg.parallel import device as devicelib
    from distllg.parallel.decomposition import Decomposition

    comm = MPI.COMM_WORLD
    where = devicelib.choose(comm, "auto")
    model = modelio.load_model("J1_mu-3.5_kT0.1")
    deco = Decomposition(comm, (L, L), halo=model.receptive_radius)
    on, staged, note = devicelib.halo_place(place, where)
    provider = TiledCNNFields(model, deco.halo_exchange(device=on, staged=staged),
                              device=where)
    start = torch.from_numpy(spinlib.random(L, L, np.random.default_rng(2)))
    tile = start[(slice(None),) + deco.tile.slices].contiguous().to(where)
    steps(tile, provider, 1)  # warm-up
    sync()
    comm.Barrier()
    begin = time.perf_counter()
    tile = steps(tile, provider)
    sync()
    comm.Barrier()
    seconds = (time.perf_counter() - begin) / STEPS
    result = deco.gather(llg.host(tile))
    if comm.rank != 0:
        return None
    serial = llg.host(steps(start.to(where), fields(where)))
    difference = float(np.abs(result - serial).max())
    return {"ranks": comm.size, "device": str(where), "L": L, "halo": place, "note": note,
            "cuda_aware_mpi": devicelib.cuda_aware_mpi(), "step_s": seconds,
            "step_ns_per_spin": 1e9 * seconds / L**2,
            "max_difference_to_serial": difference, "pass": difference <= 1e-10}


def labels(L: int) -> dict:
    """One twist-averaged ED label on the device against one CPU core, float64 both."""
    from distllg import config as configlib
    from distllg.electrons.bloch import exact_solver

    recipe = Path(__file__).resolve().parent.parent / "configs" / "recipes" / "J0.5_mu-3.5_kT0.05"
    config = configlib.load(recipe / "14_cnn_anneal.toml")
    model, twists = config.hamiltonian, config.engine.twists
    frame = spinlib.random(L, L, np.random.default_rng(3))
    times, results = {}, {}
    for name, where in (("cpu", None), ("device", device())):
        solver = exact_solver(model, twists, where)
        solver.energy_and_fields(frame)  # warm-up: hoppings built, GPU libraries loaded
        begin = time.perf_counter()
        results[name] = solver.energy_and_fields(frame)
        times[name] = time.perf_counter() - begin
    difference = float(np.abs(results["device"][1] - results["cpu"][1]).max())
    return {"device": str(device()), "L": L, "twists": twists,
            "cpu_threads": torch.get_num_threads(), "cpu_s": times["cpu"],
            "device_s": times["device"], "speedup": times["cpu"] / times["device"],
            "energy_difference": abs(results["device"][0] - results["cpu"][0]),
            "max_field_difference": difference, "pass": difference <= 1e-10}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=("check", "step", "profile", "halo", "labels"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--L", type=int, default=256, help="lattice of check and halo "
                        "(labels: 24)")
    parser.add_argument("--halo", choices=("host", "device"), default="host")
    parser.add_argument("--out", default="out/gpu_check")
    args = parser.parse_args(argv)
    result = {"check": lambda: check(args.L), "step": lambda: step(args.sizes),
              "profile": lambda: profile(args.sizes, Path(args.out)),
              "halo": lambda: halo(args.halo, args.L),
              "labels": lambda: labels(args.L if args.L != 256 else 24)}[args.part]()
    if result is None:
        return 0
    line = json.dumps(result)
    print(line, flush=True)
    name = f"gpu_{args.part}" + (f"_{args.halo}" if args.part == "halo" else "")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / f"{name}.json").write_text(line + "\n")
    return 0 if result.get("pass", True) else 1


if __name__ == "__main__":
    sys.exit(main())
