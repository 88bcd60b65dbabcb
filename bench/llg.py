"""Integrator overhead per LLG step, excluding the field evaluation, against a CNN-sized one.

For each L the same run times (best of R):
  * one step of each integrator with a field function that returns precomputed fields, so
    only the integrator's own array work is counted (ns per spin per step);
  * one forward pass of a CNN-sized convolution stack on the same lattice (float32, circular
    padding; 6 layers of 3x3 kernels, 32 channels, 3 -> 32 -> ... -> 3): the field
    evaluation a CNN-driven step pays per stage. Until the trained model of issue 5 ships,
    this stack stands in for it and the JSON says so.
Target: integrator overhead < 5 % of a step (overhead / (overhead + stages x CNN pass)).

Usage: ``python bench/llg.py [--sizes 96 192 384 768 1024] [--repeats 3]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_time, publish, size_arguments  # noqa: E402

from distllg import spins as spinlib  # noqa: E402
from distllg.dynamics import llg  # noqa: E402

CNN_LAYERS, CNN_CHANNELS, CNN_KERNEL = 6, 32, 3


def cnn_sized_stack():
    import torch

    layers = []
    channels = [3] + [CNN_CHANNELS] * (CNN_LAYERS - 1) + [3]
    for i in range(CNN_LAYERS):
        layers.append(torch.nn.Conv2d(channels[i], channels[i + 1], CNN_KERNEL,
                                      padding=CNN_KERNEL // 2, padding_mode="circular"))
        if i < CNN_LAYERS - 1:
            layers.append(torch.nn.GELU())
    return torch.nn.Sequential(*layers).eval()



def main(argv=None) -> None:
    import torch

    args = size_arguments(__doc__, [96, 192, 384, 768, 1024], argv)
    rng = np.random.default_rng(0)
    model = cnn_sized_stack()
    rows = []
    for L in args.sizes:
        s = spinlib.random(L, L, rng)
        fields = rng.standard_normal((3, L, L))

        def field_fn(_, fields=fields):
            return 0.0, fields

        x = torch.from_numpy(s[None].astype(np.float32))
        with torch.no_grad():
            model(x)
            t_cnn = best_time(lambda x=x: model(x), args.repeats)
        row = {"L": L, "spins": L * L, "cnn_pass_ns_per_spin": 1e9 * t_cnn / L**2}
        for name, step in llg.INTEGRATORS.items():
            t_int = best_time(lambda s=s, step=step: step(s, field_fn, 0.1, 0.1), args.repeats)
            per_spin = 1e9 * t_int / L**2
            stages = llg.EVALUATIONS[name]
            row[f"{name}_ns_per_spin"] = per_spin
            row[f"{name}_fraction"] = t_int / (t_int + stages * t_cnn)
        rows.append(row)
        print({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
    columns = [("L", "L", "d"), ("cnn_pass_ns_per_spin", "CNN-sized pass (ns/spin)", ".0f")]
    for name in llg.INTEGRATORS:
        columns += [(f"{name}_ns_per_spin", f"{name} (ns/spin/step)", ".0f"),
                    (f"{name}_fraction", f"{name} share of step", ".3f")]
    publish("llg", rows, columns, extra={
        "field_model": f"stand-in conv stack: {CNN_LAYERS} layers, {CNN_KERNEL}x{CNN_KERNEL}, "
                       f"{CNN_CHANNELS} channels, float32, torch {torch.__version__}, "
                       f"{torch.get_num_threads()} threads",
        "target": "integrator share of a step < 0.05"})


if __name__ == "__main__":
    main()
