"""The shipped configs: every one loads, and the facts their comments state about the model
they run ("receptive radius (N)") are those of the model file."""

import re
from pathlib import Path

import pytest

from distllg import config as configlib
from distllg.model import io as modelio

REPOSITORY = Path(__file__).resolve().parent.parent
CONFIGS = sorted((REPOSITORY / "configs").rglob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(REPOSITORY)))
def test_config_loads_and_states_its_model_radius_right(path, monkeypatch):
    monkeypatch.chdir(REPOSITORY)  # configs name files relative to the repository
    config = configlib.load(path)
    stated = [int(n) for n in re.findall(r"receptive radius \((\d+)\)", path.read_text())]
    if stated:
        radius = modelio.read_metadata(config.engine.model)["receptive_radius"]
        assert stated == [radius] * len(stated), f"{path.name}: the model has r = {radius}"
