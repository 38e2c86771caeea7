"""Shared fixtures: the real DOTA labels under tests/data; test helper modules importable by name."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from rs_detect_eval import ImageGT, read_dota_label_dir

DATA = Path(__file__).parent / "data"
DOTA_LABELS = DATA / "dota_labels"
sys.path.insert(0, str(Path(__file__).parent))  # the detect_eval_* helper modules next to this file


@pytest.fixture(scope="session")
def dota_gts() -> list[ImageGT]:
    return read_dota_label_dir(DOTA_LABELS)
