"""Only the pytest fixtures module needs pytest: every other module imports without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import rscovlm_model

WITHOUT_PYTEST = """
import importlib, pkgutil, sys
sys.modules["pytest"] = None  # any `import pytest` now fails
import rscovlm_model
for info in pkgutil.walk_packages(rscovlm_model.__path__, "rscovlm_model."):
    if info.name != "rscovlm_model.testing":
        importlib.import_module(info.name)
        print("imported", info.name)
try:
    import rscovlm_model.testing
except ImportError as error:
    print("testing:", error)
"""


def test_only_the_fixtures_module_needs_pytest() -> None:
    out = subprocess.run([sys.executable, "-c", WITHOUT_PYTEST], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    modules = {path.stem for path in Path(rscovlm_model.__file__).parent.glob("*.py")} - {"__init__", "testing"}
    assert "generation" in modules
    assert sorted(lines[:-1]) == sorted(f"imported rscovlm_model.{name}" for name in modules)
    assert lines[-1] == "testing: rscovlm_model.testing holds pytest fixtures: it needs pytest, a test dependency"
