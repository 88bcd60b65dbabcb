"""``distllg datagen CONFIG``: exact (ED) LLG trajectories as CNN training data.

With ``[engine] kind = "kpm"`` the fields come from the kernel polynomial method instead
(``engine.moments``, ``engine.probe_distance``; one process): training data from lattices
beyond the reach of ED. The file records which engine made it.

Runs ``[data] trajectories`` relaxations from random states (seeds ``initial.seed``,
``initial.seed + 1``, ...; or from ``initial.state`` plus ``initial.noise`` drawn with those
seeds, e.g. a noisy triple-Q crystal for data near the crystal) with the config's model,
lattice and ``[dynamics]``, and records the spins and the exact fields every
``[data] record_every`` steps into ``[data] file`` (layout: :mod:`distllg.training.data`; its
folder is created). The frames go from disorder through intermediate
textures into the skyrmion crystal. A finished trajectory is marked ``complete``; running the
command again continues an interrupted file: complete trajectories are kept, an incomplete
one is redone. A file made for other parameters is refused, never overwritten. SIGTERM (what
``kill`` and SLURM send) closes the HDF5 file cleanly before exiting, so the finished
trajectories survive.

Under ``mpirun -n P`` the missing trajectories are spread over the P ranks (rank r takes
every P-th), each written to its own file in ``FILE.parts/`` beside ``[data] file`` and
merged into it by rank 0 at the end (a run on any number of ranks, or a serial one, merges
what an interrupted run left there first): the same trajectories as one process makes, one
core (or GPU share) each. ED labels run on the rank's GPU where ``[engine] device`` picks
one (float64 there too).

With ``[data] propagate = MODEL`` (a model file, or ``"default"``) the CNN's fields drive
the trajectories and only the recorded frames are solved exactly: states along the paths a
CNN-driven run takes, one ED per frame instead of ``record_every`` x the integrator's
evaluations. Each trajectory records what drove it (``propagated_by``). The step after a
recorded frame of an exact trajectory starts from that frame's fields (no second ED).

With ``[dynamics] temperature > 0`` the trajectories are stochastic LLG
(:mod:`distllg.dynamics.thermal`, annealed over ``anneal_steps``): trajectory ``i`` draws its
noise with key ``noise_seed + i``, as its initial state uses ``initial.seed + i``.

With ``[data] perturb = [FILE, ...]`` it makes no trajectories but labels new states near the
visited ones: every ``record_every``-th frame of each trajectory of those datagen files
(except the ones named in ``[data] exclude``, e.g. held-out trajectories) with Gaussian noise
of width ``noise[k]`` (frame ``k`` of the cycle through ``[data] noise``) added to every spin,
renormalised, and its exact fields; one output trajectory per source trajectory, same name,
seeded by ``initial.seed`` and the name. Such frames decorrelate the local environments of
consecutive frames and show the network states just off the relaxation paths (what a
CNN-driven run reaches once its torques are slightly wrong). Continuation and refusal work
as for trajectories.
"""

from __future__ import annotations

from distllg.cli import with_config


def add_arguments(parser) -> None:
    parser.add_argument("config", help="TOML config with [lattice], [hamiltonian], [dynamics], "
                                       "[initial] and [data] (see configs/datagen.toml)")


def execute(args) -> int:
    from distllg.training import datagen

    return with_config(args.config, lambda config: print(f"wrote {datagen.generate(config)}"))
