"""Pytest fixtures with tiny checkpoints of both families, for this package's tests and any app's.

Use them from a ``conftest.py`` by importing the fixtures into it::

    from rscovlm_model.testing import tiny_checkpoint, tiny_checkpoints  # noqa: F401

Checkpoints are built once per test session (about a second each) in pytest's temporary directory. This is the one
module of the package that needs pytest (a test dependency, not a runtime one); no other module imports it.
"""

from __future__ import annotations

from pathlib import Path

try:
    import pytest
except ImportError as error:
    raise ImportError("rscovlm_model.testing holds pytest fixtures: it needs pytest, a test dependency") from error

from rscovlm_model.families import FAMILY_SPECS
from rscovlm_model.tiny import build_tiny_checkpoint


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{family: checkpoint directory}`` for every supported family."""
    root = tmp_path_factory.mktemp("tiny_checkpoints")
    return {family: build_tiny_checkpoint(root / family, family) for family in FAMILY_SPECS}


@pytest.fixture(scope="session", params=sorted(FAMILY_SPECS))
def tiny_checkpoint(request: pytest.FixtureRequest, tiny_checkpoints: dict[str, Path]) -> Path:
    """One tiny checkpoint directory per family (tests using it run once for each)."""
    return tiny_checkpoints[request.param]
