"""Model files: weights plus metadata, loaded without executing anything from the file.

A model file is a NumPy ``.npz`` archive (read with ``allow_pickle=False``, so loading can
never run code) holding

* ``weight/<name>``: every tensor of the model's ``state_dict`` (float64 on disk);
* ``metadata``: one JSON string with ``format`` (``FORMAT``), ``architecture`` (the
  :class:`~distllg.model.cnn.SpinCNN` arguments), ``receptive_radius``, ``predicts``,
  ``model`` (the :class:`~distllg.electrons.SDModel` parameters it was trained for),
  ``lattice`` (training ``[Ly, Lx]``), ``normalisation``, ``data_sha256``, ``metrics``,
  ``distllg_version``, ``created`` and ``weights_sha256`` (a checksum of the weights that
  catches truncated or edited files).

The models shipped in ``distllg/model/pretrained/`` are named by the physics point they
were trained for (:func:`shipped`): ``J0.5_mu-3.5_kT0.05`` (the crystal point),
``J1_mu-3.5_kT0.1`` and ``J1_mu-3.35_kT0.1`` (the other s-d parameters are those of
:class:`~distllg.electrons.SDModel`). ``load_model("default")`` loads the model ``make run``
uses (configs/default.toml); the other names of :data:`ALIASES` load too. Earlier models
are in git history.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import torch

import distllg
from distllg.io.atomic import write_atomic
from distllg.model.cnn import build

FORMAT = "distllg-model-1"
PRETRAINED = Path(__file__).parent / "pretrained"
DEFAULT_NAME = "default"

#: Other names of shipped models (name -> file stem in ``pretrained/``), the one place they
#: are kept. 2026-12-07: the files were renamed by their physics point (J, mu, kT), and
#: ``"default"`` became the model ``make run`` uses (configs/default.toml, the crystal
#: point); the old file names still load the same weights. Before that date ``"default"``
#: meant the J = 1, mu = -3.5, kT = 0.1 model, now ``J1_mu-3.5_kT0.1``, which loads by its
#: own name only.
ALIASES = {
    DEFAULT_NAME: "J0.5_mu-3.5_kT0.05",  # the model make run uses
    "ohm_kT0.05": "J0.5_mu-3.5_kT0.05",  # file name until 2026-12-07
    "mu3.35": "J1_mu-3.35_kT0.1",  # file name until 2026-12-07
}


class ModelFileError(ValueError):
    """A model file is missing, corrupted, or does not fit the run; the message names it."""


def _weights_sha256(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name], dtype=np.float64).tobytes())
    return digest.hexdigest()


def shipped() -> list[str]:
    """Names of the models shipped in ``distllg/model/pretrained/``, the one ``"default"``
    names first (the names of :data:`ALIASES` are not listed)."""
    names = sorted(p.stem for p in PRETRAINED.glob("*.npz"))
    return sorted(names, key=lambda name: name != ALIASES[DEFAULT_NAME])


def resolve(path_or_name) -> Path:
    """The file behind ``path_or_name``: a path, the name of a shipped model (see
    :func:`shipped`) or one of its other names (:data:`ALIASES`, ``"default"`` among them);
    earlier models are in git history."""
    name = str(path_or_name)
    if name in ALIASES:
        return PRETRAINED / f"{ALIASES[name]}.npz"
    if name in shipped():
        return PRETRAINED / f"{name}.npz"
    return Path(path_or_name)


def save_model(network, path, **metadata) -> dict:
    """Write ``network`` and ``metadata`` (JSON-serialisable) atomically to ``path``.

    ``architecture``, ``receptive_radius``, ``predicts``, ``format``, version, date and the
    weight checksum are filled in here; returns the full metadata.
    """
    arrays = {f"weight/{k}": v.detach().to("cpu", torch.float64).numpy()
              for k, v in network.state_dict().items()}
    meta = dict(metadata)
    meta.update(format=FORMAT, architecture=network.architecture,
                receptive_radius=network.receptive_radius,
                predicts=network.architecture["predicts"],
                distllg_version=distllg.__version__, weights_sha256=_weights_sha256(arrays),
                created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda handle: np.savez(
        handle, metadata=np.array(json.dumps(meta, sort_keys=True)), **arrays))
    return meta


def read_metadata(path_or_name) -> dict:
    """Only the metadata of a model file (cheap; raises :class:`ModelFileError`)."""
    return _read(path_or_name)[0]


def _read(path_or_name) -> tuple[dict, dict[str, np.ndarray]]:
    path = resolve(path_or_name)
    if not path.is_file():
        hint = " (the shipped model is missing from this install)" if str(
            path_or_name) in ALIASES else ""
        raise ModelFileError(f"model file {path} does not exist{hint}")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["metadata"]))
            arrays = {k[len("weight/"):]: data[k] for k in data.files if k.startswith("weight/")}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as error:
        raise ModelFileError(f"model file {path} is not a readable distllg model "
                             f"({type(error).__name__}: {error})") from None
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"model file {path} has format {meta.get('format')!r}, "
                             f"expected {FORMAT!r}")
    checksum = _weights_sha256({f"weight/{k}": v for k, v in arrays.items()})
    if checksum != meta.get("weights_sha256"):
        raise ModelFileError(f"model file {path} is corrupted: its weights do not match the "
                             f"checksum in its metadata")
    return meta, arrays


def load_model(path_or_name, device="cpu", dtype=torch.float64):
    """The model in a file (or a shipped model's name, ``"default"`` among them), in eval
    mode, with a ``metadata`` dict."""
    meta, arrays = _read(path_or_name)
    path = resolve(path_or_name)
    try:
        model = build(meta["architecture"])
        state = {k: torch.from_numpy(v) for k, v in arrays.items()}
        model.load_state_dict(state)
    except (TypeError, ValueError, RuntimeError, KeyError) as error:
        raise ModelFileError(f"model file {path}: weights do not fit the architecture "
                             f"{meta.get('architecture')}: {error}") from None
    if model.receptive_radius != meta["receptive_radius"]:
        raise ModelFileError(f"model file {path}: receptive radius {meta['receptive_radius']} "
                             f"in metadata, {model.receptive_radius} from the architecture")
    model.metadata = meta
    model.source = str(path)
    return model.to(device=device, dtype=dtype).eval()


def check_compatible(metadata: dict, model_parameters: dict, shape: tuple[int, int],
                     source: str = "model") -> None:
    """Raise :class:`ModelFileError` if a model does not fit a run.

    ``model_parameters``: the run's s-d parameters (``SDModel.as_dict()``); they must equal
    those the model was trained for, except the Zeeman field ``h``: it acts on the local
    spins only, models predict the electronic field, which does not depend on it, and the
    run adds ``h z`` (:mod:`distllg.model.provider`). ``shape``: the run's ``(Ly, Lx)``,
    which must hold the model's receptive field without wrapping onto itself (``>= 2 r + 1``
    sites per axis).
    """
    trained = metadata.get("model", {})
    electronic = {k: v for k, v in model_parameters.items() if k != "h"}
    differ = {k: (v, trained.get(k)) for k, v in electronic.items()
              if trained.get(k) is None or not np.isclose(v, trained[k], rtol=0, atol=1e-12)}
    if differ:
        text = ", ".join(f"{k} = {run} in the config but {t} in the model"
                         for k, (run, t) in sorted(differ.items()))
        raise ModelFileError(f"{source} was trained for other Hamiltonian parameters: {text}")
    r = metadata["receptive_radius"]
    if min(shape) < 2 * r + 1:
        raise ModelFileError(f"lattice {shape[0]} x {shape[1]} is smaller than the receptive "
                             f"field of {source} ({2 * r + 1} sites per axis, radius {r})")
