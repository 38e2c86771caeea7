import subprocess
import sys


def test_importing_every_module_keeps_torch_out() -> None:
    code = (
        "import importlib, pkgutil, sys, rs_data\n"
        "for info in pkgutil.walk_packages(rs_data.__path__, 'rs_data.'):\n"
        "    importlib.import_module(info.name)\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
