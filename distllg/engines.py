"""The engine factory: what computes the local fields, built the same way by every command.

``make(settings, hamiltonian, shape, comm)`` returns an :class:`Engine` whose
``fields(spins) -> (E, H)`` works on this rank's tile of the engine's ``domain`` (spins
``(3, ny, nx)``, float64 torch tensors on ``spins_device``, fields in units of t1, ``E`` the
total energy or NaN); ``energy_and_fields`` is the same on numpy arrays. ED and KPM compute
on the host (numpy) behind the one adapter :func:`distllg.dynamics.llg.on_tensors`, the
CNN on its device (:func:`distllg.dynamics.llg.on_arrays` serves numpy callers):

* ``exact``: ED of the whole lattice on one rank, twist-averaged for ``twists`` > 1
  (:mod:`distllg.electrons.bloch`), diagonalised on this rank's GPU when ``device`` picks
  one (float64 there too);
* ``kpm``: the kernel polynomial method, rows split like the tiles (PETSc, any rank count);
* ``cnn``: the network file ``settings.model``, loaded once and checked against the
  Hamiltonian and the lattice; the domain's halo is its receptive radius, and the tiles are
  checked against it in one place (:class:`distllg.parallel.decomposition.Decomposition`).

run, datagen (labels and the propagating engine), compare and validate build their engines
here; ``settings`` is an ``[engine]`` section (:class:`distllg.config.EngineConfig`), changed
with ``dataclasses.replace`` where a command needs another engine than the config's.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from distllg import lattice
from distllg import spins as spinlib
from distllg.config import ConfigError, EngineConfig
from distllg.electrons import SDModel
from distllg.io.identity import EngineIdentity
from distllg.parallel.collective import collectively
from distllg.parallel.decomposition import TileError
from distllg.parallel.domain import Domain


@dataclasses.dataclass
class Engine:
    """A field provider on a domain. ``energy_and_fields``: on numpy arrays; ``fields``: on
    torch tensors on ``spins_device`` (default: the numpy one behind
    :func:`distllg.dynamics.llg.on_tensors`, on the CPU); ``network``: the loaded CNN (kind
    ``cnn``), else None; ``description``: the kind with its arithmetic, e.g. ``cnn (bfloat16
    on cpu, halo in host memory)``; ``precision`` and ``device``: what it resolved, the
    arithmetic it computes in (``float64``, ``float32`` or ``bfloat16``, never ``auto``) and
    its device type (``cpu`` or ``cuda``)."""

    kind: str
    energy_and_fields: Callable
    domain: Domain
    network: object | None = None
    description: str = ""
    precision: str = "float64"
    device: str = "cpu"
    fields: Callable | None = None
    #: where the spins live during a run (a torch device string, e.g. ``cuda:0``)
    spins_device: str = "cpu"
    #: ``engine.committee``: the electronic torques ``(M, 3, ny, nx)`` of every member
    #: (the engine's own network first) on this rank's tile (collective: halo exchanges)
    committee_torques: Callable | None = None
    committee_size: int = 0

    def __post_init__(self):
        if self.fields is None:
            from distllg.dynamics.llg import on_tensors

            self.fields = on_tensors(self.energy_and_fields)

    @property
    def weights_sha256(self) -> str:
        """The network's weights checksum; "" for the electronic solvers."""
        return self.network.metadata["weights_sha256"] if self.network is not None else ""

    @property
    def metadata(self) -> dict:
        """The network file's metadata; {} for the electronic solvers."""
        return dict(self.network.metadata) if self.network is not None else {}

    @property
    def identity(self) -> EngineIdentity:
        """What decides the run hash besides the config (:mod:`distllg.io.identity`)."""
        return EngineIdentity(self.precision, self.device, self.weights_sha256)


def serial(settings: EngineConfig, **changes) -> EngineConfig:
    """``settings`` with ``changes`` for an engine of one process that serves as a reference
    (datagen's labels and propagating network, compare, validate): no process grid, and a
    network in float64 on the CPU whatever the run's own ``[engine]`` says (ED keeps its
    ``device``: float64 wherever it runs)."""
    settings = dataclasses.replace(settings, process_grid=(), **changes)
    if settings.kind == "cnn":
        settings = dataclasses.replace(settings, device="cpu", precision="float64")
    return settings


def make(settings: EngineConfig, hamiltonian: SDModel, shape: tuple[int, int],
         comm=None, key: str = "'engine.model'", placement=None) -> Engine:
    """The engine of ``settings`` for ``hamiltonian`` on a ``shape = (Ly, Lx)`` lattice cut
    over ``comm`` (default: COMM_SELF, the whole lattice on this rank); ``placement``: the
    communicator whose node-local rank picks this process's GPU (default: the engine's own,
    e.g. a datagen rank's ED on COMM_SELF placed by its rank in COMM_WORLD). Raises
    :class:`distllg.config.ConfigError` (or the model file's error) naming the key; ``key``
    is where the network file was named (``'data.propagate'``, ``--model``)."""
    if comm is None:
        from mpi4py import MPI

        comm = MPI.COMM_SELF
    shape = (int(shape[0]), int(shape[1]))
    if settings.kind == "cnn":
        return _cnn(settings, hamiltonian, shape, comm, key)
    lattice.check_size(*shape, tuple(hamiltonian.hoppings))  # the whole Hamiltonian
    domain = _domain(comm, shape, 1, settings)
    if settings.kind == "exact":
        if comm.Get_size() > 1:
            raise ConfigError(f"'engine.kind' = \"exact\" (ED) runs on one rank; this job has "
                              f"{comm.Get_size()}. Use kind = \"cnn\" or \"kpm\", or one rank")
        from distllg.electrons.bloch import exact_solver

        device = _device(placement or domain.cart, settings)
        gpu = device if device.type != "cpu" else None  # the CPU: LAPACK's subset driver
        solver = exact_solver(hamiltonian, settings.twists, gpu)
        description = "exact" if gpu is None else f"exact (eigh on {gpu})"
        where = device.type
    else:
        from distllg.electrons.kpm import MIN_MOMENTS, KPMSolver

        if settings.moments < MIN_MOMENTS:
            raise ConfigError(f"'engine.moments' = {settings.moments}: KPM needs at least "
                              f"{MIN_MOMENTS}")
        solver = KPMSolver(hamiltonian, shape, moments=settings.moments,
                           probe_distance=settings.probe_distance or None,
                           probe_sets=settings.probe_sets, decomposition=domain.decomposition)
        description, where = "kpm", "cpu"
    return Engine(settings.kind, solver.energy_and_fields, domain, description=description,
                  device=where)


def _device(comm, settings: EngineConfig):
    """The torch device of ``engine.device`` for this rank of ``comm`` (ConfigError naming
    the key)."""
    from distllg.parallel import device as devicelib

    try:
        return devicelib.choose(comm, settings.device)
    except RuntimeError as error:
        raise ConfigError(f"'engine.device' = {settings.device!r}: {error}") from None


def _domain(comm, shape: tuple[int, int], halo: int, settings: EngineConfig,
            network: str = "") -> Domain:
    try:
        return Domain(comm, shape, halo, settings.process_grid or None)
    except TileError as error:
        width = f"the receptive radius {halo} of {network}" if network else \
            f"the halo width {halo}"
        raise ConfigError(
            f"[lattice] {shape[0]} x {shape[1]} on {comm.Get_size()} ranks ({error.dims[0]} x "
            f"{error.dims[1]} grid) gives tiles of {error.smallest[0]} x {error.smallest[1]} "
            f"sites, smaller than {width}: use fewer ranks") from None
    except ValueError as error:
        raise ConfigError(f"'engine.process_grid': {error}") from None


def _cnn(settings: EngineConfig, hamiltonian: SDModel, shape: tuple[int, int], comm,
         key: str) -> Engine:
    from distllg.model import io as modelio
    from distllg.model.provider import TiledCNNFields
    from distllg.parallel import device as devicelib

    source = f"{key} = {settings.model!r}"

    def load():
        try:
            network = modelio.load_model(settings.model)
        except modelio.ModelFileError as error:
            raise modelio.ModelFileError(f"{source}: {error}") from None
        modelio.check_compatible(network.metadata, hamiltonian.as_dict(), shape, source=source)
        return network

    def load_member(path: str):
        """A committee member: the same checks, named by 'engine.committee'."""
        try:
            member = modelio.load_model(path)
        except modelio.ModelFileError as error:
            raise ConfigError(f"'engine.committee' member {path!r}: {error}") from None
        modelio.check_compatible(member.metadata, hamiltonian.as_dict(), shape,
                                 source=f"'engine.committee' member {path!r}")
        return member

    # every rank loads and checks the file before the collective work below: a file that
    # fails on some ranks only must not leave the others waiting in it
    def load_all():
        return [load()] + [load_member(path) for path in settings.committee]

    members = load_all() if comm.Get_size() == 1 else collectively(comm, load_all)
    network = members[0]
    domain = _domain(comm, shape, max(m.receptive_radius for m in members), settings, source)
    device = _device(domain.cart, settings)
    place, staged, note = devicelib.halo_place(settings.halo, device)
    dtype = devicelib.precision(settings.precision, device)
    providers = [TiledCNNFields(member, domain.decomposition.halo_exchange(
        member.receptive_radius, device=place, staged=staged), device=device, dtype=dtype,
        h=hamiltonian.h) for member in members]
    first = providers[0]
    precision = devicelib.dtype_name(first.convolutions)
    engine = Engine("cnn", first.energy_and_fields, domain, network,
                    f"cnn ({precision} on {first.device}, {note})", precision=precision,
                    device=first.device.type, fields=first.fields,
                    spins_device=str(first.device))
    if settings.committee:
        def committee_torques(spins) -> np.ndarray:
            """Spins: a tensor on the engine's device; the torques come to the host."""
            from distllg.dynamics.llg import host

            on_host = host(spins)
            return np.stack([spinlib.electronic_torques(on_host, host(p.fields(spins)[1]),
                                                        hamiltonian.h) for p in providers])

        engine.committee_torques, engine.committee_size = committee_torques, len(providers)
        engine.description += f", committee of {len(providers)}"
    return engine
