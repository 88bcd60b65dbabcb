"""The rules of the network architectures, in one place and without torch: a config is
checked by them when it is read (errors name ``training.KEY``) and a network when it is
built (:mod:`distllg.model.cnn`).

Kinds (:data:`KINDS`, the classes of :data:`distllg.model.cnn.ARCHITECTURES`): ``cnn`` (plain
convolutions), ``equivariant`` (torque sums over a window), ``symmetric`` (equivariant under
the lattice point group too: ``channels`` a multiple of its order 12, optional constant
couplings out to ``tail`` > ``window``).
"""

from __future__ import annotations

KINDS = ("cnn", "equivariant", "symmetric")
ACTIVATIONS = ("gelu", "tanh", "silu")
#: Order of the point group of the triangular lattice (C6v): the symmetric kind's channels
#: are copies of its regular representation.
GROUP_ORDER = 12


class ArchitectureError(ValueError):
    """An architecture setting is not allowed; the message names it (``'kernel'``, or
    ``'training.kernel'`` with the config's prefix)."""


def check(kind: str, channels: int, layers: int, kernel: int, end_kernel: int = 0,
          window: int = 1, dots: int = 1, tail: int = 0, activation: str = "gelu",
          predicts: str = "torque", prefix: str = "") -> None:
    """Raise :class:`ArchitectureError` for the first setting that breaks a rule, named
    ``prefix + key``. ``end_kernel`` 0 means ``kernel``; ``window``, ``dots``, ``tail``
    matter for the torque kinds only; ``predicts`` is ``field`` or ``torque`` (``cnn`` only
    may predict fields)."""

    def error(key: str, message: str) -> ArchitectureError:
        return ArchitectureError(f"'{prefix}{key}' " + message.replace("'@", f"'{prefix}"))

    if kind not in KINDS:
        raise error("kind", f"= {kind!r}; choose one of {KINDS}")
    for key, value in (("channels", channels), ("layers", layers), ("kernel", kernel)):
        if value < 1:
            raise error(key, f"must be >= 1, got {value}")
    if kernel % 2 == 0:
        raise error("kernel", f"must be odd, got {kernel}")
    if end_kernel < 0 or (end_kernel and end_kernel % 2 == 0):
        raise error("end_kernel", f"must be odd (or 0 = '@kernel'), got {end_kernel}")
    if activation not in ACTIVATIONS:
        raise error("activation", f"= {activation!r}; choose one of {ACTIVATIONS}")
    if predicts not in ("field", "torque"):
        raise error("predicts", f"must be 'field' or 'torque', got {predicts!r}")
    if kind == "cnn":
        if end_kernel:
            raise error("end_kernel", "applies to kind \"equivariant\" or \"symmetric\"; kind "
                                      "\"cnn\" uses '@kernel' throughout")
        if tail:
            raise error("tail", "needs kind = \"symmetric\"")
        return
    if predicts != "torque":
        raise error("predicts", f"kind {kind!r} predicts torques only")
    for key, value in (("window", window), ("dots", dots)):
        if value < 1:
            raise error(key, f"must be >= 1, got {value}")
    if kind == "symmetric" and channels % GROUP_ORDER:
        raise error("channels", f"= {channels}: kind \"symmetric\" needs a multiple of "
                                f"{GROUP_ORDER} (the lattice point group's order)")
    if tail and (kind != "symmetric" or tail <= window):
        raise error("tail", f"= {tail}: constant couplings beyond the window need kind = "
                            f"\"symmetric\" and tail > '@window' = {window} (0 = none)")
