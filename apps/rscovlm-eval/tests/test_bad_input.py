"""Unreadable images and garbage answers are counted with their reasons, never crash the run or vanish."""

import json
import shutil

from rs_resolution import load_image
from rscovlm_eval import run_evaluation


def test_corrupt_image_is_reported_and_the_rest_scored(bench_root, qwen25_folder, tmp_path, make_config, oracle_class):
    root = tmp_path / "data"
    shutil.copytree(bench_root / "scenes", root / "scenes")
    broken = root / "scenes" / "golf_course" / "golf_course_0.jpg"
    broken.write_bytes(broken.read_bytes()[:2000])  # the header survives, the pixels do not
    config = make_config(qwen25_folder, root, tmp_path / "out", benchmarks=[{"name": "aid", "data": "scenes"}])
    oracle = oracle_class(config)

    def generate(conversations):  # decodes images like rscovlm_model.Generator does
        for conversation in conversations:
            for message in conversation:
                for part in message["content"]:
                    if part["type"] == "image":
                        load_image(part["image"])
        return oracle(conversations)

    run_dir = run_evaluation(config, generate=generate)
    result = json.loads((run_dir / "results.json").read_text())["benchmarks"]["aid"]
    assert result["count"] == 3 and result["accuracy"] == 1.0
    assert result["errors"]["count"] == 1
    (reason,) = result["errors"]["reasons"]
    assert "golf_course_0.jpg" in reason
    assert "1 samples failed" in (run_dir / "results.md").read_text()


def test_garbage_answers_score_zero_with_reasons(bench_root, qwen25_folder, tmp_path, make_config):
    benchmarks = [{"name": "dior-rsvg", "data": "dior_rsvg", "images": "dior_r"}, {"name": "aid", "data": "scenes"}]
    config = make_config(qwen25_folder, bench_root, tmp_path, benchmarks=benchmarks)
    run_dir = run_evaluation(config, generate=lambda conversations: ["}{ 12, banana" for _ in conversations])
    results = json.loads((run_dir / "results.json").read_text())["benchmarks"]
    assert results["dior-rsvg"]["acc@0.5"] == 0.0 and results["dior-rsvg"]["no_box"] == 1
    assert results["aid"]["accuracy"] == 0.0
    assert results["aid"]["confusion"]["matrix"] == [[0, 0, 2], [0, 0, 2]]  # all in the unmatched column
