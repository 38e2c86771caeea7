"""rs-data's renderer feeds encode and generation directly, and both see the renderer's own pixels."""

from __future__ import annotations

import numpy as np
import torch
from rs_data import DetectionAnnotation, ImageRef, ObjectAnn, Record
from rs_data.render import RenderConfig, prompt_messages, render
from rs_resolution import ResolutionPolicy
from rscovlm_model import FAMILY_SPECS, IGNORE_INDEX, Generator, encode

# The first four objects of DOTA-v1.0 P1888 (labelTxt), scaled from 712x557 to the 178x139 test copy of the image.
P1888_OBJECTS = [
    ("small-vehicle", [674, 375, 683, 375, 684, 394, 675, 395]),
    ("small-vehicle", [683, 351, 694, 351, 695, 371, 684, 371]),
    ("large-vehicle", [465, 371, 455, 372, 451, 324, 460, 323]),
    ("large-vehicle", [451, 374, 441, 375, 436, 327, 445, 326]),
]


def _record(tiny) -> Record:
    scale = np.tile([178 / 712, 139 / 557], 4)
    objects = [ObjectAnn(label=label, polygon=(np.array(poly) * scale).tolist()) for label, poly in P1888_OBJECTS]
    return Record(
        id="P1888",
        dataset="dota",
        task="detection",
        images=[ImageRef(path=str(tiny.dota), width=178, height=139)],
        annotation=DetectionAnnotation(objects=objects, classes=["small-vehicle", "large-vehicle"]),
    )


def test_rendered_detection_sample_trains_on_its_answer_with_the_renderers_pixels(tiny) -> None:
    f = tiny.factor
    policy = ResolutionPolicy(factor=f, min_pixels=4 * f * f, max_pixels=12 * f * f)
    config = RenderConfig(convention=FAMILY_SPECS[tiny.family].convention)
    sample = render(_record(tiny), policy, config, np.random.default_rng(0), load_images=True)
    encoded = encode(sample.messages, tiny.processor)
    supervised = encoded.input_ids[encoded.labels != IGNORE_INDEX]
    assert tiny.processor.tokenizer.decode(supervised) == sample.answer + "<|im_end|>"
    reference = tiny.processor.image_processor(images=sample.images, return_tensors="pt")
    assert torch.equal(encoded.pixel_values, reference["pixel_values"])
    frame = sample.frames[0]
    assert encoded.image_grid_thw.tolist() == [[1, frame.resized_height // (f // 2), frame.resized_width // (f // 2)]]
    reply = Generator(tiny.model, tiny.processor, policy)([prompt_messages(sample)], max_new_tokens=4)
    assert len(reply) == 1 and isinstance(reply[0], str)
