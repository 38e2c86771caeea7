"""Runs only where the `rs-detect-eval[mmrotate]` extra is installed: mmrotate imports and computes a tiny mAP."""

import numpy as np
import pytest

pytestmark = pytest.mark.mmrotate
mmrotate_core = pytest.importorskip("mmrotate.core", reason="the rs-detect-eval[mmrotate] extra is not installed")


def test_eval_rbbox_map_computes_one_tiny_map() -> None:
    # One image, one class: a ground-truth box, one exact hit (score 0.9) and one miss (score 0.8).
    gt = np.array([[50.0, 50.0, 40.0, 20.0, 0.3]], dtype=np.float32)
    det = np.array([[50.0, 50.0, 40.0, 20.0, 0.3, 0.9], [300.0, 300.0, 10.0, 10.0, 0.0, 0.8]], dtype=np.float32)
    annotations = [
        {
            "bboxes": gt,
            "labels": np.array([0]),
            "bboxes_ignore": np.zeros((0, 5), dtype=np.float32),
            "labels_ignore": np.array([], dtype=np.int64),
        }
    ]
    mean_ap, results = mmrotate_core.eval_rbbox_map([[det]], annotations, iou_thr=0.5, use_07_metric=False, nproc=1)
    assert results[0]["num_gts"] == 1
    assert mean_ap == pytest.approx(1.0)
