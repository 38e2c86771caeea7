"""Dynamic resolution, coordinate spaces and box geometry for remote-sensing VLMs."""

from rs_resolution.coords import Convention, CropWindow, ImageFrame, from_model, grid_extent, to_model
from rs_resolution.geometry import (
    InvalidGeometryError,
    canonical_poly,
    check_poly,
    clip_poly,
    hbb_to_obb,
    hbb_to_poly,
    normalize_obb,
    obb_to_hbb,
    obb_to_poly,
    poly_area,
    poly_to_hbb,
    poly_to_obb,
)
from rs_resolution.image import (
    ImageReadError,
    WindowOutsideImageError,
    check_window,
    cut_window,
    large_images_allowed,
    load_image,
    read_image_size,
    resize_image,
)
from rs_resolution.policy import PixelBudget, ResolutionPolicy
from rs_resolution.resize import (
    IMAGE_FACTOR,
    MAX_PIXELS,
    MAX_RATIO,
    MIN_PIXELS,
    ResizeConvention,
    random_resize,
    smart_resize,
    visual_tokens,
)

__version__ = "0.1.0"

__all__ = [
    "IMAGE_FACTOR",
    "MAX_PIXELS",
    "MAX_RATIO",
    "MIN_PIXELS",
    "Convention",
    "CropWindow",
    "ImageFrame",
    "ImageReadError",
    "InvalidGeometryError",
    "PixelBudget",
    "ResizeConvention",
    "ResolutionPolicy",
    "WindowOutsideImageError",
    "canonical_poly",
    "check_poly",
    "check_window",
    "clip_poly",
    "cut_window",
    "from_model",
    "grid_extent",
    "hbb_to_obb",
    "hbb_to_poly",
    "large_images_allowed",
    "load_image",
    "normalize_obb",
    "obb_to_hbb",
    "obb_to_poly",
    "poly_area",
    "poly_to_hbb",
    "poly_to_obb",
    "random_resize",
    "read_image_size",
    "resize_image",
    "smart_resize",
    "to_model",
    "visual_tokens",
]
