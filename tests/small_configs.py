"""Small configs shared by the tests of datagen and training."""

from distllg import config as configlib


def data_config(tmp_path, **data):
    """A small exact datagen config (6 x 6, kT = 0.02) writing to tmp_path / "d.h5"."""
    return configlib.from_dict({
        "lattice": {"L": 6}, "hamiltonian": {"kT": 0.02},
        "dynamics": {"integrator": "heun", "dt": 0.2, "alpha": 0.5, "steps": 12},
        "initial": {"seed": 7},
        "data": {"file": str(tmp_path / "d.h5"), "trajectories": 3, "record_every": 4, **data},
    })
