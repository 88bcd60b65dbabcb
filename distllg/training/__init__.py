"""Training the CNN torque model: data files and their symmetries (``data``), ED-labelled
trajectories (``datagen``), the training loop, its split, augmentation and metrics
(``train``). The networks, their files and the field providers live in :mod:`distllg.model`."""
