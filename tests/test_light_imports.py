"""The light packages must never pull torch or transformers into a process."""

import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "deepspeed")


@pytest.mark.parametrize("module", ["rs_resolution", "rs_detect_eval", "rs_data", "rs_zoom"])
def test_light_package_does_not_import_heavy_modules(module: str) -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({module!r})\n"
        "for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} imported {out.stdout.strip()}"


@pytest.mark.parametrize(
    "module",
    ["rs_resolution", "rs_detect_eval", "rs_data", "rs_zoom", "rscovlm_model", "rscovlm_train", "rscovlm_eval"],
)
def test_every_member_exposes_its_version(module: str) -> None:
    code = f"import {module}; print({module}.__version__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0.1.0"
