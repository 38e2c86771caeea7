"""The Zoom-in Chain for ultra-high-resolution remote-sensing images.

The model sees a downscaled overview, names a region with an `image_zoom_in` tool call, and receives that region cut
from the original full-resolution image. This package holds the protocol, the crop policy, fast region reads, the
LRS-VQA-Zoom builder and the chain runner; it runs against any `generate` callable and imports no model.
"""

from rs_zoom.builder import BuildConfig, Manifest, build_zoom_dataset
from rs_zoom.chain import ChainItem, ChainResult, ChainRound, image_part, run_chain, run_chains
from rs_zoom.crop import CropPolicy, RegionOutsideImageError, clamp_region, crop_window
from rs_zoom.protocol import (
    TOOL_NAME,
    TOOL_SYSTEM_PROMPT,
    ZOOM_INSTRUCTION,
    ZOOMED_PROMPT,
    ToolCallParse,
    format_tool_call,
    parse_tool_call,
    tool_schema,
    tool_system_prompt,
    zoom_question,
)
from rs_zoom.records import CROP_BOXES, CropBoxError, as_zoom_chain, chain_record, is_visual_cot, visual_cot_chain
from rs_zoom.sources import DecodedSource, ImageSource, TiledTiffSource, open_source
from rs_zoom.tiling import tile_image, write_pyramid

__version__ = "0.1.0"

__all__ = [
    "CROP_BOXES",
    "TOOL_NAME",
    "TOOL_SYSTEM_PROMPT",
    "ZOOMED_PROMPT",
    "ZOOM_INSTRUCTION",
    "BuildConfig",
    "ChainItem",
    "ChainResult",
    "ChainRound",
    "CropBoxError",
    "CropPolicy",
    "DecodedSource",
    "ImageSource",
    "Manifest",
    "RegionOutsideImageError",
    "TiledTiffSource",
    "ToolCallParse",
    "__version__",
    "as_zoom_chain",
    "build_zoom_dataset",
    "chain_record",
    "clamp_region",
    "crop_window",
    "format_tool_call",
    "image_part",
    "is_visual_cot",
    "open_source",
    "parse_tool_call",
    "run_chain",
    "run_chains",
    "tile_image",
    "tool_schema",
    "tool_system_prompt",
    "visual_cot_chain",
    "write_pyramid",
    "zoom_question",
]
