"""``distllg textures CONFIG [--models M ...]``: a validation set by texture family, and how
accurate each model is on each family.

The families (:mod:`distllg.training.textures`): random spins, labyrinths, smoothed quench
states, spirals, noisy n_sk = 2 crystals, crystals with walls between the two chiralities,
and isolated skyrmions in a polarised background. ``--members`` states of each (seeds
``--seed``, ``--seed + 1``, ...) on an ``--L x --L`` lattice are labelled with the config's
electronic solver (``[hamiltonian]``; ``[engine] kind = "exact"`` and ``twists``, as for
``distllg datagen``) into ``--file`` (a datagen file: resumable, a file of other settings
is refused). With ``--models`` each model's torques are compared with the labels, family by
family; with two or more models, the committee's disagreement (DP-GEN's model deviation,
:mod:`distllg.training.committee`) is calibrated against the true error of its mean.

Writes to ``--out``: ``textures.json`` (all metrics), ``textures.md`` (relative RMSE and the
smallest R^2 component per family and model, and whether R^2 >= 0.99 holds on every
family), ``textures.png`` (one member of each family).
"""

from __future__ import annotations

import json
from pathlib import Path

from distllg.cli import error


def add_arguments(parser) -> None:
    parser.add_argument("config", help="TOML config: [hamiltonian] and [engine] (the labels)")
    parser.add_argument("--models", nargs="*", default=[],
                        help="model files or names of shipped models to evaluate")
    parser.add_argument("--L", type=int, default=24, help="lattice size (default 24)")
    parser.add_argument("--members", type=int, default=6, help="states per family (default 6)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first member")
    parser.add_argument("--file", default="data/textures.h5", help="labelled states (HDF5)")
    parser.add_argument("--out", default="out/textures", help="output directory")


def execute(args) -> int:
    from distllg import config as configlib
    from distllg.analysis import plots
    from distllg.model import io as modelio
    from distllg.training import validation
    from distllg.training.textures import FAMILIES, draw

    if args.L < 12 or args.L % 12:
        return error(f"--L {args.L}: a multiple of 12 (the crystal families fit the lattice)")
    try:
        config = validation.config_for(configlib.load(args.config), args.L, args.file)
        models = {name: modelio.load_model(name).eval() for name in args.models}
        for name, model in models.items():
            modelio.check_compatible(model.metadata, config.hamiltonian.as_dict(),
                                     config.lattice.shape, source=f"--models {name}")
        validation.build(config, args.members, args.seed,
                         log=lambda text: print(text, flush=True))
    except (ValueError, OSError) as problem:
        return error(problem)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plots.gallery({family: draw(family, args.L, args.L, args.seed) for family in FAMILIES},
                  out / "textures.png", f"texture families, {args.L} x {args.L}, seed {args.seed}")
    if not models:
        print(f"wrote {args.file} and {out / 'textures.png'}")
        return 0
    result = validation.evaluate(args.file, models, config.hamiltonian.h)
    result.update(config=args.config, L=args.L, members=args.members, seed=args.seed,
                  models=list(models))
    (out / "textures.json").write_text(json.dumps(result, indent=2) + "\n")
    text = validation.table(result, list(models))
    for name in models:
        families = [f for f, entry in result["families"].items() if f != "all"]
        failing = [f for f in families if not validation.gate(result["families"][f][name])]
        text += (f"\n{name}: R^2 >= 0.99 on every family: {'yes' if not failing else 'no'}"
                 + (f" (not on {', '.join(failing)})" if failing else "") + "\n")
    if "calibration" in result:
        c = result["calibration"]
        text += (f"\ncommittee of {len(models)}: disagreement against the largest site error "
                 f"of its mean over {c['frames']} frames: Spearman {c['spearman']:.2f}, "
                 f"error / disagreement median {c['error_over_sigma_median']:.2f}, "
                 f"90th percentile {c['error_over_sigma_p90']:.2f}\n")
    (out / "textures.md").write_text(text)
    print(text, end="")
    print(f"wrote {out}")
    return 0
