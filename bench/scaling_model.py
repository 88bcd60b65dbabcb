"""The weak-scaling model of docs/scaling.md: time per midpoint step from the measured inputs
(bench/results/scaling.json, llg.json, and gpu_speed.json where a GPU has run bench/gpu.sh)
and stated GPU and network assumptions.

    t_step = E (t_cnn + t_copy) n + E t_halo(T) + t_int n,   n = T^2 spins per rank,
    t_halo(T) = 4 alpha + b(T) / beta,   b(T) = 24 ((T + 2 r)^2 - T^2) bytes (float64 spins),

with E = 2 field evaluations per midpoint step, t_cnn the network's time per spin and
evaluation, t_copy the staged host-device copies per spin and evaluation (padded tile in,
torques out), t_int the integrator's time per spin and step, alpha and beta the network's
latency and bandwidth per rank. The model is checked against the measured one-rank CPU step
times (the table "check"); the projection puts 10^8 spins on 64-256 GPUs in two set-ups:
the code as built (integrator on the host in numpy, halo staged) and with the integrator on
the GPU (not built; the step's arrays streamed through GPU memory).
Writes bench/results/scaling_check.json and scaling_projection.json and their tables in
docs/scaling.md.

Usage: ``python bench/scaling_model.py``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, publish  # noqa: E402

EVALUATIONS = 2  # midpoint step
#: Stated assumptions for one GPU of an H100/H200-class node (projected, not measured here).
GPU = {
    "sustained_bf16_flops": 100e12,  # 10 % of the 990 TFLOP/s dense peak: 48-channel 3x3 convs
    "host_device_bytes_per_s": 25e9,  # PCIe 5 x16 in practice, one direction at a time
    "hbm_bytes_per_s": 3.0e12,  # for an integrator on the GPU
    "network_latency_s": 2e-6,  # InfiniBand NDR, one message
    "network_bytes_per_s": 25e9,  # one 200 Gb/s NIC per GPU
}
#: Per-spin traffic: staged copies (float64 padded spins in, float32 torques out) and an
#: integrator on the GPU (about 20 float64 3-vectors read or written per midpoint step).
COPY_BYTES_PER_SPIN = 24 + 12
GPU_INTEGRATOR_BYTES_PER_SPIN = 20 * 24
#: Multiply-adds per spin of the shipped J1_mu-3.5_kT0.1 model's convolutions:
#: 48x96 + 3 x 48x48 + 120x48, 3x3
CONV_MACS_PER_SPIN = 155_520
RECEPTIVE_RADIUS = 10


def halo_bytes(T: int, r: int = RECEPTIVE_RADIUS) -> int:
    """Bytes a rank sends per exchange: the halo ring of float64 spins."""
    return 24 * ((T + 2 * r) ** 2 - T**2)


def gpu_speed_rows() -> tuple[list[dict], str]:
    """The bfloat16 rows of bench/gpu.sh's speed measurement (bench/results/gpu_speed.json)
    and the device they ran on; no rows (with a warning) where no GPU has run it."""
    path = ROOT / "bench/results/gpu_speed.json"
    speed = json.loads(path.read_text()) if path.is_file() else {}
    rows = [r for r in speed.get("rows", []) if r.get("precision") == "bfloat16"]
    if speed.get("device", "").startswith("cuda") and rows:
        return rows, speed["device"]
    print(f"scaling_model: no GPU measurement in {path}; t_cnn on the GPU is the FLOP-rate "
          f"assumption", file=sys.stderr)
    return [], ""


def gpu_network_time(rows: list[dict], device: str, t_copy: float,
                     n: float) -> tuple[float, str]:
    """``t_cnn`` on a GPU (s per spin and evaluation) for ``n`` spins per rank, and where it
    comes from: one host-fed evaluation of :func:`gpu_speed_rows` at the lattice whose size
    is nearest ``n``, less the assumed host-device copies that its time includes; without
    rows, the stated FLOP-rate assumption."""
    if rows:
        row = min(rows, key=lambda r: abs(math.log(r["L"] ** 2 / n)))
        return (max(row["ns_per_spin"] * 1e-9 - t_copy, 0.0),
                f"measured: bench/gpu.sh, bfloat16, L = {row['L']}, on {device}")
    return 2 * CONV_MACS_PER_SPIN / GPU["sustained_bf16_flops"], "assumed: FLOP rate"


def step_time(n: float, t_cnn: float, t_copy: float, t_int: float, halo_s: float) -> float:
    return EVALUATIONS * (t_cnn + t_copy) * n + EVALUATIONS * halo_s + t_int * n


def main() -> int:
    scaling = json.loads((ROOT / "bench/results/scaling.json").read_text())
    llg = json.loads((ROOT / "bench/results/llg.json").read_text())
    t_int_host = next(r for r in llg["rows"] if r["L"] == 1024)["midpoint_ns_per_spin"] * 1e-9
    one_rank = [r for r in scaling["rows"] if r["ranks"] == 1]
    largest = max(one_rank, key=lambda r: r["tile"])
    # CPU per-spin network time, from the largest one-rank tile (the halo share is ~0)
    t_cnn_cpu = (largest["step_s"] - t_int_host * largest["tile"] ** 2) / (
        EVALUATIONS * largest["tile"] ** 2)
    check = []
    for row in scaling["rows"]:
        n = row["tile"] ** 2
        predicted = step_time(n, t_cnn_cpu, 0.0, t_int_host,
                              row["halo_s"] / EVALUATIONS if row["ranks"] > 1 else 0.0)
        check.append({"tile": row["tile"], "ranks": row["ranks"], "measured_s": row["step_s"],
                      "model_s": predicted, "ratio": row["step_s"] / predicted,
                      "halo_bytes_model": halo_bytes(row["tile"]) * EVALUATIONS,
                      "halo_bytes_measured": row["halo_bytes"]})
    t_copy = COPY_BYTES_PER_SPIN / GPU["host_device_bytes_per_s"]
    t_int_gpu = GPU_INTEGRATOR_BYTES_PER_SPIN / GPU["hbm_bytes_per_s"]
    gpu_rows, gpu_device = gpu_speed_rows()
    projection = []
    for ranks in (64, 128, 256):
        n = 1e8 / ranks
        T = math.isqrt(int(n))
        t_cnn_gpu, gpu_source = gpu_network_time(gpu_rows, gpu_device, t_copy, n)
        halo_s = 4 * GPU["network_latency_s"] + halo_bytes(T) / GPU["network_bytes_per_s"]
        built = step_time(n, t_cnn_gpu, t_copy, t_int_host, halo_s)
        on_gpu = step_time(n, t_cnn_gpu, 0.0, t_int_gpu, halo_s)
        projection.append({
            "ranks": ranks, "tile": T, "spins_per_rank": n,
            "cnn_ms": 1e3 * EVALUATIONS * t_cnn_gpu * n,
            "copy_ms": 1e3 * EVALUATIONS * t_copy * n,
            "integrator_host_ms": 1e3 * t_int_host * n,
            "halo_ms": 1e3 * EVALUATIONS * halo_s,
            "t_cnn_gpu_s": t_cnn_gpu, "t_cnn_gpu_source": gpu_source,
            "step_as_built_ms": 1e3 * built, "step_integrator_on_gpu_ms": 1e3 * on_gpu,
            "spin_steps_per_s_as_built": 1e8 / built,
            "spin_steps_per_s_integrator_on_gpu": 1e8 / on_gpu})
    extra = {"assumptions": GPU, "t_cnn_cpu_s": t_cnn_cpu, "t_int_host_s": t_int_host,
             "t_copy_s": t_copy, "t_int_gpu_s": t_int_gpu,
             "precision_cpu": scaling.get("precision")}
    publish("scaling_check", check,
            [("tile", "tile T", "d"), ("ranks", "ranks", "d"),
             ("measured_s", "measured s / step", ".3f"), ("model_s", "model s / step", ".3f"),
             ("ratio", "measured / model", ".2f"),
             ("halo_bytes_measured", "halo bytes / step, measured", ".3g"),
             ("halo_bytes_model", "halo bytes / step, model", ".3g")],
            extra=extra, doc="scaling.md")
    publish("scaling_projection", projection,
            [("ranks", "GPUs", "d"), ("tile", "tile T", "d"),
             ("cnn_ms", "CNN ms", ".2f"), ("copy_ms", "copies ms", ".2f"),
             ("integrator_host_ms", "host integrator ms", ".1f"), ("halo_ms", "halo ms", ".3f"),
             ("step_as_built_ms", "step ms, as built", ".1f"),
             ("step_integrator_on_gpu_ms", "step ms, integrator on GPU", ".2f"),
             ("spin_steps_per_s_as_built", "spin-steps/s, as built", ".2e"),
             ("spin_steps_per_s_integrator_on_gpu", "spin-steps/s, integrator on GPU", ".2e")],
            extra=extra, doc="scaling.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
