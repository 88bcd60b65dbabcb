"""The CNN torque model: architecture, field providers, model files, data and training."""
