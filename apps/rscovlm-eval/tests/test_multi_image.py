"""A time series rendered as one VQA conversation encodes with one image per frame on both tiny model families."""

import numpy as np
import pytest
from PIL import Image
from rs_data import ImageRef, Record, VQAAnnotation
from rs_data.render import RenderConfig, prompt_messages, render
from rs_resolution import ResolutionPolicy
from rscovlm_model import FAMILY_SPECS, encode, load_processor
from rscovlm_model.testing import tiny_checkpoints  # noqa: F401

pytestmark = pytest.mark.slow

# multiples of 224, a multiple of both families' factors (28 and 32), so no frame is resized
SIZES = [(448, 224), (224, 224), (224, 448)]


@pytest.mark.parametrize("family", sorted(FAMILY_SPECS))
def test_every_frame_is_one_image_of_its_own_size(family, tiny_checkpoints, tmp_path):  # noqa: F811
    spec = FAMILY_SPECS[family]
    refs = []
    for i, (width, height) in enumerate(SIZES):
        path = tmp_path / f"frame{i}.png"
        Image.fromarray(np.full((height, width, 3), 40 * i, np.uint8)).save(path)
        refs.append(ImageRef(path=str(path), width=width, height=height))
    record = Record(
        id="series",
        dataset="teochatlas",
        task="vqa",
        images=refs,
        annotation=VQAAnnotation(question="Was a building destroyed?", answer="Yes"),
    )
    policy = ResolutionPolicy(factor=spec.patch_size * spec.merge_size)
    sample = render(record, policy, RenderConfig(), np.random.default_rng(0))
    processor = load_processor(tiny_checkpoints[family])
    patch = spec.patch_size
    grids = [[1, h // patch, w // patch] for w, h in SIZES]  # (t, rows, cols) of patches per frame
    image_tokens = sum(rows * cols for _, rows, cols in grids) // spec.merge_size**2
    for messages in (sample.messages, prompt_messages(sample)):
        encoded = encode(messages, processor)
        assert encoded.image_grid_thw.tolist() == grids
        assert int((encoded.mm_token_type_ids == 1).sum()) == image_tokens
