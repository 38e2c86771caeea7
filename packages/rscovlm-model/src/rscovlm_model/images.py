"""Prepare the images of Qwen-style messages exactly as training and inference must both see them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image
from rs_resolution import ResolutionPolicy, cut_window, load_image, resize_image


def iter_image_parts(messages: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """``(location, part)`` for every image part in order, location like ``messages[1].content[0]``."""
    parts = []
    for i, message in enumerate(messages):
        content = message.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            raise ValueError(
                f"messages[{i}].content: expected a string or a list of parts, got {type(content).__name__}"
            )
        for j, part in enumerate(content):
            if not isinstance(part, dict):
                raise ValueError(f"messages[{i}].content[{j}]: expected a dict part, got {type(part).__name__}")
            if part.get("type") == "video" or "video" in part:
                raise ValueError(f"messages[{i}].content[{j}]: video parts are not supported")
            if part.get("type") == "image" or "image" in part:
                parts.append((f"messages[{i}].content[{j}]", part))
    return parts


def _open(part: dict[str, Any], where: str, decoded: dict[str, Image.Image]) -> Image.Image:
    """The part's image, or its ``window`` (``x0, y0, x1, y1`` of the source's pixels) when it names one; a file is
    decoded once per call of `prepare_images` (`decoded`), however many parts show it or windows of it."""
    source, window = part.get("image"), part.get("window")
    if isinstance(source, Image.Image):
        image = source if source.mode == "RGB" else source.convert("RGB")
        name = "<in-memory image>"
    elif isinstance(source, (str, Path)):
        name = str(source)
        if name not in decoded:
            decoded[name] = load_image(source)
        image = decoded[name]
    else:
        raise ValueError(f"{where}.image: expected a path or a PIL image, got {type(source).__name__}")
    return image if window is None else cut_window(image, window, name)


def _target_size(
    part: dict[str, Any], image: Image.Image, policy: ResolutionPolicy | None, where: str
) -> tuple[int, int]:
    has_height, has_width = "resized_height" in part, "resized_width" in part
    if has_height != has_width:
        raise ValueError(f"{where}: resized_height and resized_width must be given together")
    if has_height:
        return int(part["resized_height"]), int(part["resized_width"])
    if policy is None:
        raise ValueError(f"{where}: no resized_height/resized_width and no resolution policy to size the image with")
    return policy.resized_size(image.height, image.width)


def prepare_images(
    messages: list[dict[str, Any]], factor: int, policy: ResolutionPolicy | None = None
) -> list[Image.Image]:
    """Load every image part and resize it to exactly the size the model must see.

    The size is the part's ``resized_height``/``resized_width`` (qwen-vl-utils' keys, written by rs-data's renderer)
    or, when absent, the size ``policy`` gives the image. Both sides must be multiples of the model's ``factor``.
    A part with a ``window`` (rs-data's windowed image references) shows only those pixels of its image, cut before
    resizing; a window outside the image raises `rs_resolution.WindowOutsideImageError` naming file and window.
    """
    images, decoded = [], {}
    for where, part in iter_image_parts(messages):
        image = _open(part, where, decoded)
        height, width = _target_size(part, image, policy, where)
        if height <= 0 or width <= 0 or height % factor or width % factor:
            raise ValueError(
                f"{where}: resized size {height}x{width} (height x width) is not a positive multiple of the "
                f"model's patch factor {factor}"
            )
        images.append(resize_image(image, height, width))
    return images
