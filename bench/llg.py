"""Integrator overhead per LLG step, excluding the field evaluation, against the CNN's.

For each L the same run times (best of R):
  * one step of each integrator with a field function that returns precomputed fields, so
    only the integrator's own array work is counted (ns per spin per step): on torch
    tensors, as runs step, and on numpy arrays, the host step the torch one replaced (the
    integrators are written once; numpy arrays go through the same code), with the ratio;
  * one field evaluation of the shipped CNN J1_mu-3.5_kT0.1 as a run does it (periodic
    mode, float64, blocked CPU evaluation, one thread): what every stage of a CNN-driven step pays.
Targets: integrator overhead < 5 % of a step (overhead / (overhead + stages x CNN pass));
the torch step no slower than the numpy step (ratio <= 1).

The allocator is set as the ``distllg`` command sets it (:mod:`distllg.host_memory`: freed
blocks up to 32 MiB stay in the heap); ``--default-allocator`` measures glibc's default
instead (every fresh array above its mmap threshold page-faults).

Usage: ``python bench/llg.py [--sizes 96 192 384 768 1024] [--repeats 3]
[--default-allocator]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_time, publish, size_arguments  # noqa: E402

from distllg import spins as spinlib  # noqa: E402
from distllg.dynamics import llg  # noqa: E402


def main(argv=None) -> None:
    import torch

    from distllg.host_memory import keep_freed_memory
    from distllg.model import io as modelio
    from distllg.model.provider import PeriodicCNNFields

    args = size_arguments(__doc__, [96, 192, 384, 768, 1024], argv, extra=lambda p: p.add_argument(
        "--default-allocator", action="store_true", help="leave glibc's malloc as it is"))
    allocator = "glibc default" if args.default_allocator else (
        "freed blocks kept" if keep_freed_memory() else "default (not glibc)")
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    provider = PeriodicCNNFields(modelio.load_model("J1_mu-3.5_kT0.1")).energy_and_fields
    rows = []
    for L in args.sizes:
        s = spinlib.random(L, L, rng)
        fields = rng.standard_normal((3, L, L))
        s_tensor, fields_tensor = torch.from_numpy(s), torch.from_numpy(fields)

        def field_fn(_, fields=fields):
            return 0.0, fields

        def tensor_field_fn(_, fields=fields_tensor):
            return 0.0, fields

        t_cnn = best_time(lambda s=s: provider(s), args.repeats)
        row = {"L": L, "spins": L * L, "cnn_pass_ns_per_spin": 1e9 * t_cnn / L**2}
        for name, step in llg.INTEGRATORS.items():
            t_int = best_time(lambda step=step, x=s_tensor, f=tensor_field_fn: step(
                x, f, 0.1, 0.1), args.repeats)
            t_numpy = best_time(lambda step=step, x=s, f=field_fn: step(x, f, 0.1, 0.1),
                                args.repeats)
            stages = llg.EVALUATIONS[name]
            row[f"{name}_ns_per_spin"] = 1e9 * t_int / L**2
            row[f"{name}_numpy_ns_per_spin"] = 1e9 * t_numpy / L**2
            row[f"{name}_torch_over_numpy"] = t_int / t_numpy
            row[f"{name}_fraction"] = t_int / (t_int + stages * t_cnn)
        rows.append(row)
        print({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
    columns = [("L", "L", "d"), ("cnn_pass_ns_per_spin", "CNN evaluation (ns/spin)", ".0f")]
    for name in llg.INTEGRATORS:
        columns += [(f"{name}_ns_per_spin", f"{name} torch (ns/spin/step)", ".0f"),
                    (f"{name}_numpy_ns_per_spin", f"{name} numpy", ".0f"),
                    (f"{name}_torch_over_numpy", f"{name} torch / numpy", ".2f"),
                    (f"{name}_fraction", f"{name} share of step", ".3f")]
    publish("llg", rows, columns, extra={
        "field_model": f"shipped J1_mu-3.5_kT0.1 model, float64, blocked, "
                       f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)",
        "allocator": allocator,
        "target": "integrator share of a step < 0.05; torch / numpy <= 1"})


if __name__ == "__main__":
    main()
