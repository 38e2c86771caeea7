"""Prompt templates per task. The defaults follow the upstream RSCoVLM / LMMRotate wording, so a model trained there
and prompted here (or the reverse) sees the same text; every string can be replaced in `RenderConfig.templates`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

BoxTypeTexts = dict[str, str]


class Templates(BaseModel):
    """Per-task prompt strings; `{...}` fields are filled at render time."""

    model_config = ConfigDict(extra="forbid")

    classification: str = "Classify the image within one of the given classes:{classes}."
    class_separator: str = ","
    captioning: str = "Describe the image"
    vqa: str = "{question} Answer the question using a single word or a short phrase."  # as upstream's VQA prompts
    uhr_vqa: str = "{question}"
    detection_plain: str = "find the {categories}"
    detection_json: BoxTypeTexts = Field(
        default_factory=lambda: {
            "hbb": "Locate every item from the category list in the image and output the coordinates in JSON format. "
            "The category set includes {categories}.",
            "obb": "Locate every item from the category list in the image and output the oriented bbox coordinates "
            "in JSON format. The category set includes {categories}.",
            "poly": "Locate every item from the category list in the image and output the oriented bbox coordinates "
            "in JSON format. The category set includes {categories}.",
        }
    )
    category_separator: str = ", "
    grounding_plain: str = "find the {expression}"
    grounding_json: BoxTypeTexts = Field(
        default_factory=lambda: {
            "hbb": "Locate the {expression}, output the bbox coordinates using JSON format",
            "obb": "Locate the {expression}, output the oriented bbox coordinates using JSON format",
            "poly": "Locate the {expression}, output the oriented bbox coordinates using JSON format",
        }
    )
    segmentation: str = "Locate the {expression}, output the segmentation mask"
    system_segmentation: str = (
        "As an AI assistant, you specialize in segmentation, delivering segmentation results as Row-wise RLE format. "
        "Each row is represented as '<value>*<count>', and rows are separated by ';'. The last row ends with a "
        "semicolon. For example, '0*1,1*2;0*3;' represents the mask."
    )
    system_plain: BoxTypeTexts = Field(
        default_factory=lambda: {
            "hbb": "As an AI assistant, you specialize in accurate image object detection, delivering coordinates in "
            "plain text format 'x1,y1,x2,y2 object'.",
            "obb": "As an AI assistant, you specialize in accurate oriented object detection, delivering coordinates "
            "in plain text format 'x,y,w,h,a object'.",
            "poly": "As an AI assistant, you specialize in accurate oriented object detection, delivering coordinates "
            "of the polygon vertices in plain text format 'x1,y1,x2,y2,x3,y3,x4,y4 object'.",
        }
    )
    system_json: BoxTypeTexts = Field(
        default_factory=lambda: {
            "obb": "You are an AI assistant specializing in oriented object detection. Represent objects with: "
            "center (x,y), width (w), height (h), and rotation angle.",
            "poly": "You are an AI assistant specializing in oriented object detection. Represent objects with "
            # "corrdinates": the upstream spelling, kept so prompts match models trained on it
            "quadrant bbox: the corrdinates of each vertices of the oriented bounding boxes in clock-wise order.",
        }
    )
