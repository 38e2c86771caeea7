"""The demo's Zoom-in Chain data: LRS-VQA rows scaled with their images, LRS-VQA-Zoom records built by rs-zoom."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rs_data import read_records
from rs_data.dataset import MixtureDataset
from rs_zoom import ZOOMED_PROMPT, parse_tool_call
from rscovlm_model import load_processor
from rscovlm_train.config import load_config
from rscovlm_train.data import EncodedMixture
from rscovlm_train.demo import LRS_VQA_FILES, LRS_VQA_SCALE, ZOOM_RECORDS, scaled_lrs_vqa_row


def published_rows(split: str) -> dict[str, dict]:
    text = (resources.files("rscovlm_train") / "demo_data" / LRS_VQA_FILES[split]).read_text(encoding="utf-8")
    return {row["question_id"]: row for row in map(json.loads, text.splitlines())}


def test_a_row_is_scaled_with_its_image():
    row = {"question_id": "FAIR_1", "image_size": [4000, 2000], "hbox": [8, 4, 40, 20], "rbox": [8.0, 4.0] * 4}
    scaled = scaled_lrs_vqa_row(row, 4)
    assert scaled["image_size"] == [1000, 500] and scaled["hbox"] == [2, 1, 10, 5] and scaled["rbox"] == [2, 1] * 4
    assert row["image_size"] == [4000, 2000]  # the published row is left as it is
    with pytest.raises(ValueError, match=r"FAIR_1: image_size \[4000, 2000\] is not divisible by 3"):
        scaled_lrs_vqa_row(row, 3)


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_generated_images_have_the_scaled_size_of_their_rows(demo_dir, split):
    copied = (demo_dir / "sources" / LRS_VQA_FILES[split]).read_text(encoding="utf-8").splitlines()
    published = published_rows(split)
    assert len(copied) == len(published)
    for row in map(json.loads, copied):
        original = published[row["question_id"]]
        assert row == scaled_lrs_vqa_row(original, LRS_VQA_SCALE)
        with Image.open(demo_dir / "sources/lrs_vqa/images" / Path(row["image"]).name) as image:
            assert list(image.size) == row["image_size"]


def test_zoom_records_cut_the_evidence_from_the_scaled_image(demo_dir):
    folder = demo_dir / "records" / "train" / ZOOM_RECORDS
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    published = published_rows("train")
    with_box = [qid for qid, row in published.items() if "hbox" in row]
    assert manifest["records"] == len(published) and manifest["skipped_count"] == 0
    assert manifest["zoom_records"] == len(with_box) > 0
    config = load_config(demo_dir / "demo.yaml")
    assert manifest["config"]["policy"] == config.data.resolution.model_dump(mode="json")
    records = {r.id: r for r in read_records(folder / "records.jsonl")}
    for qid in with_box:
        record = records[qid]
        assert np.allclose(record.meta["evidence_hbox"], np.asarray(published[qid]["hbox"]) / LRS_VQA_SCALE)
        overview, crop = record.images
        width, height = record.meta["original_size"]
        frame = config.data.resolution.frame(width, height, task=record.task)
        assert (overview.width, overview.height) == (frame.resized_width, frame.resized_height)
        source = demo_dir / "sources/lrs_vqa/images" / Path(published[qid]["image"]).name
        with Image.open(source) as image, Image.open(crop.path) as cut:
            expected = image.convert("RGB").crop(tuple(record.meta["crop_window"]))
            assert np.array_equal(np.asarray(cut.convert("RGB")), np.asarray(expected))


def test_zoom_records_train_on_the_tool_call_and_the_answer(demo_dir):
    config = load_config(demo_dir / "demo.yaml")
    records = [r for r in read_records(demo_dir / "records" / "train" / ZOOM_RECORDS / "records.jsonl")]
    zoom = [r for r in records if len(r.images) == 2]
    mixture = MixtureDataset([zoom], config.data.resolution, config.data.render, seed=0)
    processor = load_processor(demo_dir / "model")
    dataset = EncodedMixture(mixture, [ZOOM_RECORDS], processor, config.data.max_length)
    for index, record in enumerate(zoom):
        item = dataset[(0, index)]
        assert item.record_id == record.id and item.encoded is not None
        assert item.encoded.truncated_tokens == 0 and len(item.encoded.image_grid_thw) == 2
        sample = mixture[index]
        call = parse_tool_call(sample.messages[2]["content"][0]["text"])
        assert call.status == "ok" and sample.messages[3]["content"][-1]["text"] == ZOOMED_PROMPT
        supervised = processor.tokenizer.decode(item.encoded.input_ids[item.encoded.labels != -100])
        assert "<tool_call>" in supervised and supervised.endswith(f"{record.meta['ground_truth']}<|im_end|>")
