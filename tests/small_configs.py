"""Small configs shared by the tests of datagen, training and ensembles."""

from distllg import config as configlib


def data_config(tmp_path, **data):
    """A small exact datagen config (6 x 6, kT = 0.02) writing to tmp_path / "d.h5"."""
    return configlib.from_dict({
        "lattice": {"L": 6}, "hamiltonian": {"kT": 0.02},
        "dynamics": {"integrator": "heun", "dt": 0.2, "alpha": 0.5, "steps": 12},
        "initial": {"seed": 7},
        "data": {"file": str(tmp_path / "d.h5"), "trajectories": 3, "record_every": 4, **data},
    })


def ensemble_config(tmp_path, model_file):
    """A 12 x 12 CNN run config file (6 stochastic steps, a frame every 3) whose ensemble
    writes to tmp_path / "out"; returns its path."""
    path = tmp_path / "e.toml"
    path.write_text(f"""
[lattice]
L = 12
[engine]
kind = "cnn"
model = "{model_file}"
device = "cpu"
precision = "float64"
[dynamics]
steps = 6
temperature = 0.01
noise_seed = 40
[initial]
seed = 30
[output]
directory = "{tmp_path / 'out'}"
every = 3
log_every = 3
checkpoint_every = 3
snapshots = 0
""")
    return path
