"""Files distllg writes: atomic replacement (here), parallel HDF5 output and checkpoints."""
