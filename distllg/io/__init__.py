"""Files of a run: parallel HDF5 output and checkpoints, and crash-safe replacement."""

import os

# Debian's h5py loads its parallel build only under mpirun (OMPI_* variables) or with this
# set; srun-launched ranks have neither. Must happen before h5py is first imported.
os.environ.setdefault("H5PY_ALWAYS_USE_MPI", "1")
