"""The run's HDF5 output: one file written collectively by all ranks, plus an XDMF sidecar.

Layout of ``<output.directory>/output.h5`` (format ``FORMAT``), one frame every
``output.every`` steps and one at the last step:

    scales/iteration     (F,)           int64    step of the frame; -1 = not written (yet)
    scales/sim_time      (F,)           float64  time (hbar / t1)
    scales/wall_time     (F,)           float64  wall seconds since the run first started
    tasks/spins          (F, 3, Ly, Lx) float64  spins, chunked by tile
    tasks/energy         (F,)           float64  energy per site (t1); NaN for the CNN
    tasks/skyrmion_number (F,)          float64  Q
    tasks/magnetization  (F, 3)         float64  mean spin
    geometry/xy          (Ly, Lx, 2)    float64  Cartesian site positions (lattice constant 1)

Root attributes: ``format``, ``config`` (JSON of the full config), ``model`` (JSON of the
model metadata, empty for ED), ``versions`` (JSON), ``run_hash``, ``every``, ``legs`` (JSON
list: the first step, rank count and date of each start or restart).

Design decision: HDF5 metadata changes only at checkpoints. There the frame slots up to the
next checkpoint are reserved (the datasets grow; the chunks are allocated but not filled)
and the file is flushed, just before the checkpoint is written; between checkpoints only raw
data is written, so a crash there leaves a file that opens as it was at the last checkpoint.
Frames past the checkpoint a run restarts from are cleared (``iteration = -1``) and written
again, so a restarted run has neither duplicated nor missing frames. Readers take the frames
with ``iteration >= 0``; the spins of other slots are undefined.

``output.xdmf`` lists the written frames as a temporal collection of structured 2-D grids
(site positions from ``geometry/xy``; vector ``S`` joined from the three components, and
``Sz``) so that ParaView opens the spins directly (Xdmf reader).
"""

from __future__ import annotations

import datetime
import json
import platform
from pathlib import Path
from xml.sax.saxutils import escape

import h5py
import numpy as np

from distllg import __version__, lattice
from distllg.io.atomic import write_atomic
from distllg.io.parallel_h5 import open_file, write_slab

FORMAT = "distllg-output-1"
SCALAR_TASKS = ("energy", "skyrmion_number", "magnetization")
COMPONENTS = ("Sx", "Sy", "Sz")  # the spin components in output.xdmf


def frame_count(steps: int, every: int) -> int:
    """Frame slots for a run of ``steps`` steps: steps 0, every, 2 every, ... and ``steps``."""
    return steps // every + 1 + (steps % every != 0)


def frame_index(step: int, every: int) -> int:
    """Slot of the frame recorded at ``step`` (a multiple of ``every``, or the last step)."""
    return step // every + (step % every != 0)


def versions() -> dict:
    """Versions of the packages that wrote a file."""
    import mpi4py
    from mpi4py import MPI

    out = {"distllg": __version__, "python": platform.python_version(),
           "numpy": np.__version__, "h5py": h5py.version.version,
           "hdf5": h5py.version.hdf5_version, "mpi4py": mpi4py.__version__,
           "mpi": MPI.Get_library_version().splitlines()[0].strip()}
    try:
        import torch

        out["torch"] = torch.__version__
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return out


def create_layout(f: h5py.File, shape, chunk, tile, every: int, attributes: dict,
                  frames: int = 1) -> None:
    """The datasets and attributes of a new output file (collective; layout in the module
    docstring), with ``frames`` frame slots; every rank writes the positions of its tile."""
    Ly, Lx = shape
    f.attrs["format"] = FORMAT
    f.attrs["every"] = every
    f.attrs["versions"] = json.dumps(versions())
    f.attrs["legs"] = "[]"
    for key, value in attributes.items():
        f.attrs[key] = value
    f.create_dataset("scales/iteration", (frames,), dtype="i8", maxshape=(None,),
                     chunks=(4096,), fillvalue=-1)
    for name in ("scales/sim_time", "scales/wall_time", "tasks/energy",
                 "tasks/skyrmion_number"):
        f.create_dataset(name, (frames,), dtype="f8", maxshape=(None,), chunks=(4096,),
                         fillvalue=np.nan)
    f.create_dataset("tasks/magnetization", (frames, 3), dtype="f8", maxshape=(None, 3),
                     chunks=(4096, 3), fillvalue=np.nan)
    # Frame slots are reserved ahead (see reserve); their chunks are allocated but never
    # filled (h5py's create_dataset would write fill values into every one of them).
    plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    plist.set_chunk((1, 3) + tuple(chunk))
    plist.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
    space = h5py.h5s.create_simple((frames, 3, Ly, Lx), (h5py.h5s.UNLIMITED, 3, Ly, Lx))
    h5py.h5d.create(f["tasks"].id, b"spins", h5py.h5t.IEEE_F64LE, space, dcpl=plist)
    f["tasks/energy"].attrs["units"] = "t1 per site"
    f["scales/sim_time"].attrs["units"] = "hbar / t1"
    f["scales/wall_time"].attrs["units"] = "s"
    xy = f.create_dataset("geometry/xy", (Ly, Lx, 2), dtype="f8")
    rows, cols = tile.slices  # every rank writes the positions of its own tile
    positions = np.moveaxis(lattice.positions(Ly, Lx, (rows, cols)), 0, -1)
    write_slab(xy, (rows, cols, slice(None)), positions)


class OutputFile:
    """The open output file of a run on every rank of ``comm`` (all methods are collective).

    Parameters
    ----------
    path : the ``.h5`` file; created (replacing an old one) when ``restart_step`` is None,
        otherwise opened and continued from that step
    comm : the communicator of the run (the Cartesian one)
    shape : ``(Ly, Lx)`` of the lattice
    tile : this rank's :class:`distllg.parallel.decomposition.Tile`
    chunk : ``(ny, nx)`` chunk of ``tasks/spins`` (the largest tile)
    steps, every : the run's length and frame cadence
    attributes : root attributes of a new file (``config``, ``model`` JSON, ``run_hash``)
    first_step : the step of the first frame of a new file (a run whose output.h5 was lost
        continues from its checkpoint into a new one)

    Reserve frame slots (:meth:`reserve`) and :meth:`flush` before writing frames.
    """

    def __init__(self, path, comm, shape, tile, chunk, steps: int, every: int,
                 attributes: dict, restart_step: int | None = None, first_step: int = 0):
        self.path = Path(path)
        self.comm, self.tile, self.every, self.steps = comm, tile, every, steps
        self.root = comm.Get_rank() == 0
        if restart_step is None:
            self.file = open_file(self.path, "w", comm)
            create_layout(self.file, shape, chunk, tile, every, attributes)
        else:
            self.file = self._reopen(shape, attributes, restart_step)
        self._note_leg(first_step if restart_step is None else restart_step)

    def reserve(self, last_step: int) -> None:
        """Make frame slots for every frame up to step ``last_step`` (at most the run's end);
        collective. The run calls it at checkpoints, just before :meth:`flush`, so HDF5
        metadata changes only there."""
        if last_step >= self.steps:
            needed = frame_count(self.steps, self.every)
        else:
            needed = last_step // self.every + 1
        if needed > self.file["scales/iteration"].shape[0]:
            for dataset in self._series(self.file):
                dataset.resize(needed, axis=0)

    def _reopen(self, shape, attributes: dict, restart_step: int) -> h5py.File:
        if not self.path.is_file():
            raise FileNotFoundError(f"--restart: the output file {self.path} is missing; "
                                    f"the checkpoint cannot be continued into it")
        f = open_file(self.path, "r+", self.comm)
        problem = foreign(_header(f), shape, attributes["run_hash"])
        if problem:
            f.close()
            raise ValueError(f"--restart: {self.path} {problem}")
        # Frames at or after the restart step are recomputed: clear them (iteration -1).
        first = frame_index(restart_step, self.every)
        iteration = f["scales/iteration"]
        stale = iteration.shape[0] - first
        write_slab(iteration, (slice(first, None),) if self.root and stale > 0 else None,
                   np.full(stale, -1, dtype="i8"))
        return f

    @staticmethod
    def _series(f: h5py.File) -> list[h5py.Dataset]:
        return [f[name] for name in ("scales/iteration", "scales/sim_time", "scales/wall_time",
                                     "tasks/spins", "tasks/energy", "tasks/skyrmion_number",
                                     "tasks/magnetization")]

    def _note_leg(self, step: int) -> None:
        legs = json.loads(self.file.attrs["legs"])
        legs.append({"first_step": step, "ranks": self.comm.Get_size(),
                     "date": datetime.datetime.now().isoformat(timespec="seconds")})
        legs = self.comm.bcast(legs, root=0)  # the same value on every rank (collective)
        self.file.attrs["legs"] = json.dumps(legs)

    def write_frame(self, step: int, sim_time: float, wall_time: float, spins: np.ndarray,
                    values: dict) -> None:
        """Frame of ``step``: this rank's tile ``spins`` (3, ny, nx) and the global
        observables ``values`` (``energy_per_site``, ``skyrmion_number``,
        ``magnetization``; rank 0's are written). The iteration is written last, so a frame
        with ``iteration >= 0`` is complete."""
        k = frame_index(step, self.every)
        f, t = self.file, self.tile
        write_slab(f["tasks/spins"], (k, slice(None), slice(t.y0, t.y1), slice(t.x0, t.x1)),
                   spins)
        scalars = {"scales/sim_time": sim_time, "scales/wall_time": wall_time,
                   "tasks/energy": values["energy_per_site"],
                   "tasks/skyrmion_number": values["skyrmion_number"],
                   "tasks/magnetization": np.asarray(values["magnetization"])[None],
                   "scales/iteration": step}
        for name, value in scalars.items():
            dataset = f[name]
            where = (slice(k, k + 1),) + (slice(None),) * (dataset.ndim - 1)
            write_slab(dataset, where if self.root else None, value if self.root else None)

    def flush(self) -> None:
        """Push everything written so far to disk and refresh the XDMF sidecar."""
        self.file.flush()
        if self.root:
            write_xdmf(self.file, self.path.with_suffix(".xdmf"))

    def close(self) -> None:
        self.flush()
        self.file.close()


def written_frames(f: h5py.File) -> np.ndarray:
    """Slots of the frames that were written (``iteration >= 0``)."""
    return np.flatnonzero(f["scales/iteration"][:] >= 0)


def read_series(path) -> dict:
    """The written frames' scales and scalar tasks of an output file (plain h5py, one rank):
    ``step``, ``time``, ``wall_time``, ``energy_per_site``, ``skyrmion_number``,
    ``magnetization`` (F, 3)."""
    with h5py.File(path, "r") as f:
        k = written_frames(f)
        return {"step": f["scales/iteration"][:][k], "time": f["scales/sim_time"][:][k],
                "wall_time": f["scales/wall_time"][:][k],
                "energy_per_site": f["tasks/energy"][:][k],
                "skyrmion_number": f["tasks/skyrmion_number"][:][k],
                "magnetization": f["tasks/magnetization"][:][k]}


def _header(f: h5py.File) -> dict:
    """What identifies the run of an open output file: ``format``, ``run_hash``, ``lattice``."""
    return {"format": str(f.attrs.get("format")), "run_hash": str(f.attrs.get("run_hash")),
            "lattice": [int(n) for n in f["tasks/spins"].shape[2:]]
            if "tasks/spins" in f else None}


def read_header(path) -> dict:
    """:func:`_header` of an output file (plain h5py, one rank); run through
    :func:`distllg.io.isolated.call` where the file may be damaged."""
    with h5py.File(path, "r") as f:
        return _header(f)


def foreign(header: dict, shape, run_hash: str) -> str:
    """Why an output file with ``header`` is not the output of the run of lattice ``shape``
    and ``run_hash`` (empty when it is)."""
    expected = {"format": FORMAT, "run_hash": run_hash, "lattice": list(shape)}
    if all(header.get(k) == v for k, v in expected.items()):
        return ""
    theirs = ", ".join(f"{k} {header.get(k)}" for k in expected)
    ours = ", ".join(f"{k} {v}" for k, v in expected.items())
    return f"is not the output of this run ({theirs}; this run: {ours})"


def read_frame(path, slot: int = -1, region: tuple[slice, slice] | None = None
               ) -> tuple[int, np.ndarray]:
    """``(step, spins)`` of a written frame (``slot`` indexes the written ones; -1 = last);
    only the sites of ``region`` (slices) are read when given."""
    rows, cols = region if region is not None else (slice(None), slice(None))
    with h5py.File(path, "r") as f:
        k = written_frames(f)
        if k.size == 0:
            raise ValueError(f"{path} holds no written frame")
        index = int(k[slot])
        return int(f["scales/iteration"][index]), f["tasks/spins"][index, :, rows, cols]


def write_xdmf(f: h5py.File, path: Path) -> Path:
    """XDMF 2 sidecar of the written frames of the open output file ``f``: per frame the
    site positions and the three spin components as scalar point data ``Sx``, ``Sy``,
    ``Sz``, each a hyperslab of ``tasks/spins``. (A vector joined with XDMF's
    ``Function="JOIN(...)"`` makes ParaView 5.11's reader write a temporary HDF5 dataset and
    fail with HDF5 errors; docs/scripts/render_paraview.py builds the vector in ParaView.)"""
    Ly, Lx = f["tasks/spins"].shape[2:]
    frames = f["tasks/spins"].shape[0]
    name = Path(f.filename).name
    times = f["scales/sim_time"][:]

    def component(k: int, c: int) -> str:
        """Component ``c`` of frame ``k`` as a (Ly, Lx) hyperslab of tasks/spins."""
        return (f'<DataItem ItemType="HyperSlab" Dimensions="{Ly} {Lx}" Type="HyperSlab">'
                f'<DataItem Dimensions="3 4" Format="XML">{k} {c} 0 0  1 1 1 1  '
                f'1 1 {Ly} {Lx}</DataItem>'
                f'<DataItem Dimensions="{frames} 3 {Ly} {Lx}" NumberType="Float" '
                f'Precision="8" Format="HDF">{escape(name)}:/tasks/spins</DataItem>'
                f'</DataItem>')

    grids = []
    for k in written_frames(f):
        grids.append(
            f'<Grid Name="frame_{k}" GridType="Uniform"><Time Value="{times[k]!r}"/>'
            f'<Topology TopologyType="2DSMesh" Dimensions="{Ly} {Lx}"/>'
            f'<Geometry GeometryType="XY"><DataItem Dimensions="{Ly} {Lx} 2" '
            f'NumberType="Float" Precision="8" Format="HDF">{escape(name)}:/geometry/xy'
            f'</DataItem></Geometry>'
            + "".join(f'<Attribute Name="{label}" AttributeType="Scalar" Center="Node">'
                      f'{component(k, c)}</Attribute>' for c, label in enumerate(COMPONENTS))
            + '</Grid>')
    text = ('<?xml version="1.0" ?>\n<!DOCTYPE Xdmf SYSTEM "Xdmf.dtd" []>\n'
            '<Xdmf Version="2.0"><Domain>'
            '<Grid Name="spins" GridType="Collection" CollectionType="Temporal">\n'
            + "\n".join(grids) + "\n</Grid></Domain></Xdmf>\n")
    return write_atomic(path, lambda handle: handle.write(text.encode()))
