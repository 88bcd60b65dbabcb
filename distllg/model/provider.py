"""Field providers backed by a CNN: ``energy_and_fields(spins) -> (E, H)`` like ED.

The CNN gives no energy: ``E`` is NaN. A model that predicts torques ``T = S x H`` is turned
into the field component perpendicular to S, ``H_perp = T x S``, which is all that LLG uses
(``S x H`` and ``S x (S x H)`` depend on ``H_perp`` only).

* :class:`PeriodicCNNFields` runs the periodic mode on the whole lattice (one process).
* :class:`TiledCNNFields` runs the tiled mode on this rank's tile: it copies the tile into a
  preallocated padded array, lets a halo exchanger fill the halo of width ``r`` (the model's
  receptive radius) and evaluates the CNN without padding. The same integrator drives both.
"""

from __future__ import annotations

import numpy as np
import torch

from distllg.spins import cross


class _CNNFields:
    def __init__(self, model, device="cpu", dtype=torch.float64):
        self.model = model.to(device=device, dtype=dtype).eval()
        self.device = torch.device(device)
        self.dtype = dtype
        self.predicts = model.architecture["predicts"]

    def _to_fields(self, spins: np.ndarray, output: torch.Tensor) -> np.ndarray:
        out = output[0].detach().to("cpu", torch.float64).numpy()
        return cross(out, spins) if self.predicts == "torque" else out


class PeriodicCNNFields(_CNNFields):
    """Fields of the whole periodic lattice, spins ``(3, Ly, Lx)``."""

    def energy_and_fields(self, spins: np.ndarray) -> tuple[float, np.ndarray]:
        x = torch.from_numpy(np.ascontiguousarray(spins)[None]).to(self.device, self.dtype)
        with torch.no_grad():
            return float("nan"), self._to_fields(spins, self.model(x))


class TiledCNNFields(_CNNFields):
    """Fields of this rank's tile, spins ``(3, ny, nx)``; ``halo`` fills a padded array.

    ``halo`` has ``padded_shape``, ``interior(padded)`` and ``exchange(padded)``
    (:class:`distllg.parallel.halo.HaloExchange`), with width = the receptive radius.
    """

    def __init__(self, model, halo, device="cpu", dtype=torch.float64):
        super().__init__(model, device, dtype)
        if halo.width != model.receptive_radius:
            raise ValueError(f"halo width {halo.width} differs from the model's receptive "
                             f"radius {model.receptive_radius}")
        self.halo = halo
        self.padded = halo.empty()
        if self.device.type == "cuda":  # stage through pinned host memory
            self.padded = torch.empty(halo.padded_shape, dtype=torch.float64,
                                      pin_memory=True).numpy()

    def energy_and_fields(self, spins: np.ndarray) -> tuple[float, np.ndarray]:
        self.halo.interior(self.padded)[...] = spins
        self.halo.exchange(self.padded)
        x = torch.from_numpy(self.padded[None]).to(self.device, self.dtype)
        with torch.no_grad():
            return float("nan"), self._to_fields(spins, self.model.forward_tile(x))
