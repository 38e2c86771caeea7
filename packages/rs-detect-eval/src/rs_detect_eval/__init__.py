"""Box text codecs and rotated-box detection metrics (DOTA_devkit / mmrotate conventions, mAP_nc, mF1)."""

from rs_detect_eval.answer_parsing import Dropped, ParsedObject, ParseResult, parse_objects
from rs_detect_eval.box_text import EMPTY_ANSWER, BoxType, TextStyle, box_values, format_objects
from rs_detect_eval.classes import CLASS_SETS, ClassMatcher, load_classes, normalize_class
from rs_detect_eval.dota_labels import DotaLabelError, read_dota_label, read_dota_label_dir
from rs_detect_eval.iou import poly_iou_matrix
from rs_detect_eval.map_eval import ClassResult, MapResult, evaluate_map
from rs_detect_eval.records import ImageDet, ImageGT

__version__ = "0.1.0"

__all__ = [
    "CLASS_SETS",
    "EMPTY_ANSWER",
    "BoxType",
    "ClassMatcher",
    "ClassResult",
    "DotaLabelError",
    "Dropped",
    "ImageDet",
    "ImageGT",
    "MapResult",
    "ParseResult",
    "ParsedObject",
    "TextStyle",
    "box_values",
    "evaluate_map",
    "format_objects",
    "load_classes",
    "normalize_class",
    "parse_objects",
    "poly_iou_matrix",
    "read_dota_label",
    "read_dota_label_dir",
]
