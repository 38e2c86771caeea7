"""Few-shot evaluation: deterministic selection (random, per class, from a file) and example turns rendered as
training renders them, before the question, for classification, captioning, VQA and grounding."""

import json

import numpy as np
import pytest
from rs_data import ClassificationAnnotation, Record
from rs_data.render import render
from rs_data.schema import ImageRef
from rscovlm_eval import run_evaluation
from rscovlm_eval.config import ConfigError, load_config
from rscovlm_eval.fewshot import load_shot_pool, select_shots, with_shots
from rscovlm_eval.inference import sample_rng
from rscovlm_eval.model_settings import model_spec


def _scene(i: int, label: str) -> Record:
    return Record(
        id=f"{label}_{i}",
        dataset="aid",
        task="classification",
        images=[ImageRef(path=f"{label}_{i}.jpg", width=64, height=64)],
        annotation=ClassificationAnnotation(label=label, classes=["beach", "forest", "port"]),
    )


POOL = [_scene(i, label) for i, label in enumerate(["beach"] * 6 + ["forest"] * 3 + ["port"])]


def _bench(**fields):
    return load_config({"model": "m", "benchmarks": [{"name": "aid", "shot_data": "train", **fields}]})


def test_random_selection_is_deterministic_under_the_seed():
    config = _bench(shots=4)
    first = [r.id for r in select_shots(config.benchmarks[0], config, POOL)]
    again = [r.id for r in select_shots(config.benchmarks[0], config, POOL)]
    assert first == again and len(set(first)) == 4 and set(first) <= {r.id for r in POOL}
    seeds = {
        tuple(r.id for r in select_shots(config.benchmarks[0], config.model_copy(update={"seed": s}), POOL))
        for s in range(5)
    }
    assert len(seeds) > 1  # the seed decides: 5 seeds, 210 possible ordered draws of 4 from 10


def test_per_class_takes_one_of_each_class_first():
    config = _bench(shots=4, shot_selection="per_class")
    for seed in range(20):  # a plain shuffle puts three classes first in 15 % of the orders (6·3·1·3! / 10·9·8)
        seeded = config.model_copy(update={"seed": seed})
        labels = [r.annotation.label for r in select_shots(seeded.benchmarks[0], seeded, POOL)]
        # three classes, four shots: one beach, one forest, one port, then the next example of the shuffle
        assert sorted(labels[:3]) == ["beach", "forest", "port"] and len(labels) == 4, (seed, labels)


def test_file_selection_keeps_the_file_order(tmp_path):
    (tmp_path / "shots.txt").write_text("port_9\n\nforest_7\nbeach_0\n")
    config = _bench(shots=2, shot_selection="file", shot_file=str(tmp_path / "shots.txt"))
    assert [r.id for r in select_shots(config.benchmarks[0], config, POOL)] == ["port_9", "forest_7"]
    (tmp_path / "bad.txt").write_text("port_9\nnowhere_1\n")
    config = _bench(shots=2, shot_selection="file", shot_file=str(tmp_path / "bad.txt"))
    with pytest.raises(ConfigError, match=r"bad.txt:2: 'nowhere_1' is not an example"):
        select_shots(config.benchmarks[0], config, POOL)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"shots": 2}, "set `shot_data`"),
        ({"shots": 2, "shot_data": "t", "shot_selection": "file"}, "needs `shot_file`"),
    ],
)
def test_bad_shot_settings(fields, message):
    with pytest.raises(ConfigError, match=message):
        load_config({"model": "m", "benchmarks": [{"name": "aid", **fields}]})


def test_one_system_prompt_before_the_examples():
    system = {"role": "system", "content": [{"type": "text", "text": "S"}]}
    user = {"role": "user", "content": [{"type": "text", "text": "Q"}]}
    answer = {"role": "assistant", "content": [{"type": "text", "text": "A"}]}
    assert with_shots([system, user], [system, user, answer]) == [system, user, answer, user]
    assert with_shots([user], [user, answer]) == [user, answer, user]
    assert with_shots([user], []) == [user]


class Recorder:
    """A `generate` that keeps every conversation and answers 'x'."""

    def __init__(self) -> None:
        self.conversations = []

    def __call__(self, conversations):
        self.conversations += conversations
        return ["x"] * len(conversations)


FOUR_TASKS = [
    {"name": "aid", "data": "scenes", "shots": 2, "shot_selection": "per_class", "shot_data": "scenes"},
    {
        "name": "sydney-captions",
        "data": "captions/dataset_sydney_small.json",
        "images": "captions/images",
        "shots": 1,
        "shot_data": "captions/dataset_sydney_small.json",
        "shot_options": {"split": "train"},
    },
    {"name": "rsvqa-lr", "data": "rsvqa", "images": "rsvqa/Images_LR", "shots": 2, "shot_data": "rsvqa"},
    {"name": "dior-rsvg", "data": "dior_rsvg", "images": "dior_r", "shots": 1, "shot_data": "dior_rsvg"},
]


@pytest.fixture(scope="module")
def fewshot_run(bench_root, qwen25_folder, tmp_path_factory, make_config):
    config = make_config(
        qwen25_folder,
        bench_root,
        tmp_path_factory.mktemp("fewshot"),
        benchmarks=FOUR_TASKS,
        prompt={"grounding_box_type": "hbb", "style": "plain"},
        plots=False,
    )
    recorder = Recorder()
    run_dir = run_evaluation(config, generate=recorder)
    return config, run_dir, recorder.conversations


def _texts(message):
    return [p["text"] for p in message["content"] if p["type"] == "text"]


@pytest.mark.slow  # scores captions with pycocoevalcap (Java)
def test_examples_precede_every_question_as_training_renders_them(fewshot_run):
    config, run_dir, conversations = fewshot_run
    results = json.loads((run_dir / "results.json").read_text())["benchmarks"]
    assert set(results) == {"aid+2shot", "sydney-captions+1shot", "rsvqa-lr+2shot", "dior-rsvg+1shot"}
    spec = model_spec(config)
    policy = spec.policy
    for bench in config.benchmarks:
        manifest = json.loads((run_dir / bench.key / "manifest.json").read_text())
        pool = {r.id: r for r in load_shot_pool(bench, config)}
        shots = [pool[i] for i in manifest["shots"]]
        assert len(shots) == bench.shots
        expected = []
        for shot in shots:
            sample = render(shot, policy, spec.render_for(shot.task), sample_rng(config.seed, shot.id))
            expected += sample.messages
        asked = [
            c
            for c in conversations
            if len(c) > 2 * bench.shots and c[-1]["role"] == "user" and c[: len(expected)] == expected
        ]
        assert len(asked) == results[bench.key]["count"], bench.key
    aid = next(c for c in conversations if _texts(c[0])[0].startswith("Classify"))
    # one example of each class: user (image, the training prompt), assistant (the class name)
    assert [m["role"] for m in aid] == ["user", "assistant", "user", "assistant", "user"]
    assert _texts(aid[0]) == ["Classify the image within one of the given classes:golf_course,parking_lot."]
    assert sorted(_texts(aid[1]) + _texts(aid[3])) == ["golf_course", "parking_lot"]
    captions = next(c for c in conversations if _texts(c[0]) == ["Describe the image"])
    assert captions[0]["content"][0]["image"].endswith("1.tif")  # the train image of the fixture
    grounding = next(c for c in conversations if c[0]["role"] == "system")
    assert [m["role"] for m in grounding] == ["system", "user", "assistant", "user"]  # one system prompt
    assert np.all([p.get("resized_width") for m in grounding for p in m["content"] if p["type"] == "image"])
