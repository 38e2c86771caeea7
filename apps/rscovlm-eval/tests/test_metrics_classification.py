import numpy as np
import pytest
from rscovlm_eval.metrics.classification import UNMATCHED, evaluate_classification, match_class


def test_hand_computed_accuracy_confusion_and_per_class():
    classes = ["airport", "dense-residential", "forest"]
    labels = ["airport", "airport", "dense-residential", "forest", "forest"]
    predictions = ["Airport.", "forest", "Dense Residential", "It is a forest", "forest"]
    result = evaluate_classification(predictions, labels, classes)
    # exact after normalisation: 1 (Airport.), 3 (Dense Residential), 5 -> 3/5; contain also counts "It is a forest"
    assert result.accuracy == pytest.approx(3 / 5)
    assert result.contain_accuracy == pytest.approx(4 / 5)
    assert result.per_class["airport"] == {"accuracy": 0.5, "count": 2}
    assert result.per_class["forest"] == {"accuracy": 0.5, "count": 2}
    expected = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 1, 1]])
    np.testing.assert_array_equal(result.confusion, expected)
    assert result.to_dict()["confusion"]["columns"][-1] == UNMATCHED


def test_contain_match_is_upstream_lenient_rule():
    result = evaluate_classification(["the scene shows a parking lot with cars"], ["parking_lot"], ["parking_lot"])
    assert result.accuracy == 0.0
    assert result.contain_accuracy == 1.0


def test_match_class_normalises_case_punctuation_and_separators():
    assert match_class("  Storage_Tanks! ", ["storage-tanks", "bridge"]) == "storage-tanks"
    assert match_class("storage", ["storage-tanks"]) == UNMATCHED


def test_label_outside_class_list_is_an_error():
    with pytest.raises(ValueError, match="not in the class list"):
        evaluate_classification(["a"], ["beach"], ["forest"])
