import pytest
from rscovlm_eval.metrics.multiple_choice import evaluate_multiple_choice, extract_choice
from rscovlm_eval.metrics.result import Accuracy
from rscovlm_eval.metrics.vqa import evaluate_vqa, parse_count


def test_hand_computed_accuracy_per_type_and_count_mae():
    predictions = ["Yes.", "no", "rural", "3", "five", "many"]
    answers = ["yes", "yes", "rural", "5", "4", "2"]
    types = ["presence", "presence", "rural_urban", "count", "count", "count"]
    result = evaluate_vqa(predictions, answers, types)
    assert result.per_type["presence"] == Accuracy(0.5, 2)
    assert result.per_type["rural_urban"].accuracy == 1.0
    assert result.per_type["count"].accuracy == 0.0
    assert result.accuracy == pytest.approx(2 / 6)
    assert result.average_accuracy == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert result.counting.mae == pytest.approx((2 + 1) / 2)  # "many" has no number: counted apart
    assert result.counting.scored == 2 and result.counting.unparsed == 1


def test_parse_count():
    assert parse_count("There are 1,024 cars") == 1024
    assert parse_count("three") == 3
    assert parse_count("none visible") is None


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("(B) farmland", "B"),
        ("The answer is C.", "C"),
        ("D", "D"),
        ("farmland", "B"),  # no letter: the choice that contains the reply
        ("this is a long reply that names no option letter at all, so it is unclear", None),
        ("xyz", None),
    ],
)
def test_extract_choice_follows_mme_realworld_rule(text, letter):
    assert extract_choice(text, ["(A) river", "(B) farmland", "(C) forest"]) == letter


def test_multiple_choice_accuracy_per_category():
    result = evaluate_multiple_choice(
        ["(A)", "B", "xyz", "The correct answer is D"], ["A", "C", "B", "D"], ["Color", "color", "count", "count"]
    )
    assert result.accuracy == 0.5
    assert result.per_category == {"color": Accuracy(0.5, 2), "count": Accuracy(0.5, 2)}
    assert result.no_letter == 1
