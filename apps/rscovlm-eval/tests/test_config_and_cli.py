import json

import pytest
import yaml
from click.testing import CliRunner
from rscovlm_eval.cli import main
from rscovlm_eval.config import ConfigError, load_config
from rscovlm_eval.registry import BENCHMARKS


def test_yaml_config_with_defaults(tmp_path):
    path = tmp_path / "eval.yaml"
    path.write_text("model: ckpt/rscovlm\nbenchmarks:\n  - name: dota1.0\n  - name: lrs-vqa\n    zoom: true\n")
    config = load_config(path)
    assert [b.key for b in config.benchmarks] == ["dota1.0", "lrs-vqa+zoom"]
    assert config.run_dir.name == "rscovlm" and config.generation.batch_size == 8


def test_one_benchmark_twice_is_told_apart_by_zoom_or_label():
    lrs = {"name": "lrs-vqa", "data": "LRS_VQA_merged.jsonl"}
    benchmarks = [lrs, {**lrs, "zoom": True}, {**lrs, "zoom": True, "label": "lrs-vqa-rbox"}]
    config = load_config({"model": "m", "benchmarks": benchmarks})
    assert [b.key for b in config.benchmarks] == ["lrs-vqa", "lrs-vqa+zoom", "lrs-vqa-rbox"]
    with pytest.raises(ConfigError, match=r"set `label` to tell them apart\): \['lrs-vqa\+zoom'\]"):
        load_config({"model": "m", "benchmarks": [{**lrs, "zoom": True}, {**lrs, "zoom": True}]})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"model": "m", "benchmarks": [{"name": "aid"}], "batchsize": 4}, "batchsize: unknown key"),
        ({"model": "m", "benchmarks": [{"name": "aid", "limit": 0}]}, r"benchmarks\[0\]\.limit"),
        ({"model": "m", "benchmarks": [{"name": "aid"}, {"name": "aid"}]}, "unique"),
        ({"model": "m", "benchmarks": [{"name": "aid"}], "rank": 2, "world_size": 2}, "rank 2 must be < world_size"),
        ({"model": "m", "benchmarks": []}, "benchmarks"),
        ({"model": "m", "benchmarks": [{"name": "aid", "zoom": True}]}, "Zoom-in Chain is for UHR VQA"),
    ],
)
def test_wrong_config_names_the_field(data, message):
    with pytest.raises(ConfigError, match=message):
        load_config(data)


def test_bad_yaml_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml:\s+line 2, column 1: not valid YAML"):
        load_config(path)


def test_shard_from_torchrun_environment(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "4")
    config = load_config({"model": "m", "benchmarks": [{"name": "aid"}]})
    assert (config.rank, config.world_size) == (1, 4)


def test_list_names_every_benchmark_and_its_data():
    output = CliRunner().invoke(main, ["list"]).output
    for name, bench in BENCHMARKS.items():
        assert name in output and bench.expects in output


def test_unknown_benchmark_and_missing_data_are_clear(tmp_path, qwen25_folder):
    runner = CliRunner()
    result = runner.invoke(main, ["run", "--model", str(tmp_path / "nothing"), "--benchmark", "aid"])
    assert result.exit_code != 0 and "model: " in result.output and "no config.json" in result.output
    result = runner.invoke(main, ["run", "--model", str(qwen25_folder), "--benchmark", "imagenet"])
    assert result.exit_code != 0 and "benchmarks[0].name: Value error, unknown benchmark 'imagenet'" in result.output
    options = ["--output-dir", str(tmp_path / "out"), "--data-root", str(tmp_path)]
    result = runner.invoke(main, ["run", "--model", str(qwen25_folder), "--benchmark", "aid", *options])
    assert result.exit_code != 0 and f"data {tmp_path / 'aid'} does not exist" in result.output
    assert not (tmp_path / "out").exists()  # nothing written before the data is found
    (tmp_path / "aid").mkdir()
    result = runner.invoke(main, ["run", "--model", str(qwen25_folder), "--benchmark", "aid", *options])
    assert (
        result.exit_code != 0
        and "benchmark 'aid': cannot read" in result.output
        and "no class folders" in result.output
    )


@pytest.mark.slow
def test_run_and_report_commands_with_the_tiny_model(bench_root, tiny_model, tmp_path):
    config = {
        "model": str(tiny_model),
        "data_root": str(bench_root),
        "output_dir": str(tmp_path),
        "benchmarks": [{"name": "aid", "data": "scenes"}],
        "generation": {"max_new_tokens": 4},
        "resolution": {"min_pixels": 3136, "max_pixels": 12544},
        "device": "cpu",
        "progress": False,
    }
    path = tmp_path / "eval.yaml"
    path.write_text(yaml.safe_dump(config))
    runner = CliRunner()
    result = runner.invoke(main, ["run", str(path), "--limit", "2", "--batch-size", "2"], catch_exceptions=False)
    assert result.exit_code == 0 and "report:" in result.output
    run_dir = tmp_path / tiny_model.name
    assert json.loads((run_dir / "results.json").read_text())["benchmarks"]["aid"]["count"] == 2
    (run_dir / "results.md").unlink()
    result = runner.invoke(main, ["report", str(run_dir), "--no-plots"], catch_exceptions=False)
    assert result.exit_code == 0 and (run_dir / "results.md").is_file()
