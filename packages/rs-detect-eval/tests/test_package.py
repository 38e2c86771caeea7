import subprocess
import sys

import numpy as np
import pytest
from rs_detect_eval import ImageDet, ImageGT


def test_import_pulls_in_neither_torch_nor_matplotlib() -> None:
    code = "import sys, rs_detect_eval, rs_detect_eval.cli; print(sorted({'torch', 'matplotlib'} & set(sys.modules)))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


def test_records_check_their_shapes() -> None:
    with pytest.raises(ValueError, match=r"img: ground-truth polygons must have shape \(N, 8\)"):
        ImageGT("img", np.zeros((2, 6)), ["a", "b"])
    with pytest.raises(ValueError, match="img: 1 polygons, 2 labels"):
        ImageDet("img", np.zeros((1, 8)), ["a", "b"])
    with pytest.raises(ValueError, match="scores must be finite"):
        ImageDet("img", np.zeros((1, 8)), ["a"], [np.nan])
    assert ImageDet("img", [], []).polygons.shape == (0, 8)
