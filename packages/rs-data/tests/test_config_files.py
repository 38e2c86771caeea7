import pytest
from rs_data.config_files import OverrideError, apply_overrides, parse_override


def test_values_are_parsed_as_yaml():
    assert parse_override("optim.lr=2.0e-6") == (["optim", "lr"], 2.0e-6)
    assert parse_override("model.train_vision=false") == (["model", "train_vision"], False)
    assert parse_override("output.report_to=[tensorboard, wandb]") == (
        ["output", "report_to"],
        ["tensorboard", "wandb"],
    )
    assert parse_override("output.run_name=") == (["output", "run_name"], None)


def test_overrides_edit_a_copy_and_create_missing_sections():
    data = {"optim": {"lr": 1.0}, "data": {"mixture": [{"name": "a", "weight": 1}, {"name": "b", "weight": 2}]}}
    result = apply_overrides(data, ["optim.lr=0.5", "data.mixture.1.weight=0", "distributed.deepspeed=zero2"])
    assert result["optim"]["lr"] == 0.5
    assert result["data"]["mixture"][1]["weight"] == 0
    assert result["distributed"] == {"deepspeed": "zero2"}
    assert data["optim"]["lr"] == 1.0


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("optim.lr", "not of the form"),
        ("optim..lr=1", "empty key"),
        ("data.mixture.5.weight=1", "not an index"),
        ("optim.lr.value=1", "inside a float"),
        ("optim.lr=[1, 2", "not valid YAML"),
    ],
)
def test_bad_overrides_say_what_is_wrong(override, message):
    with pytest.raises(OverrideError, match=message):
        apply_overrides({"optim": {"lr": 1.0}, "data": {"mixture": [{"name": "a"}]}}, [override])
