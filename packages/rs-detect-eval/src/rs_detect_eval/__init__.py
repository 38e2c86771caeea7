"""Box text codecs and rotated-box detection metrics (DOTA_devkit / mmrotate conventions, mAP_nc, mF1)."""

from rs_detect_eval.answer_parsing import Dropped, ParsedObject, ParseResult, parse_objects
from rs_detect_eval.answers import AnswerReport, read_answers
from rs_detect_eval.box_text import EMPTY_ANSWER, BoxType, TextStyle, box_arrays, box_values, format_objects
from rs_detect_eval.classes import CLASS_SETS, ClassMatcher, load_classes, normalize_class
from rs_detect_eval.dota_labels import DotaLabelError, read_dota_label, read_dota_label_dir
from rs_detect_eval.f1 import F1Result, best_mf1, confusion_matrix, evaluate_mf1
from rs_detect_eval.iou import min_area_rectangles, poly_iou_matrix
from rs_detect_eval.map_eval import ClassResult, MapResult, evaluate_map
from rs_detect_eval.map_nc import MapNcResult, evaluate_map_nc, select_threshold, without_scores
from rs_detect_eval.merge import PatchName, merge_patches, parse_patch_name, rotated_nms
from rs_detect_eval.records import ImageDet, ImageGT
from rs_detect_eval.report import markdown_table, plot_pr_curves
from rs_detect_eval.task1 import Task1FormatError, read_task1_dir, write_task1

__version__ = "0.1.0"

__all__ = [
    "CLASS_SETS",
    "EMPTY_ANSWER",
    "AnswerReport",
    "BoxType",
    "ClassMatcher",
    "ClassResult",
    "DotaLabelError",
    "Dropped",
    "F1Result",
    "ImageDet",
    "ImageGT",
    "MapNcResult",
    "MapResult",
    "ParseResult",
    "ParsedObject",
    "PatchName",
    "Task1FormatError",
    "TextStyle",
    "best_mf1",
    "box_arrays",
    "box_values",
    "confusion_matrix",
    "evaluate_map",
    "evaluate_map_nc",
    "evaluate_mf1",
    "format_objects",
    "load_classes",
    "markdown_table",
    "merge_patches",
    "min_area_rectangles",
    "normalize_class",
    "parse_objects",
    "parse_patch_name",
    "plot_pr_curves",
    "poly_iou_matrix",
    "read_answers",
    "read_dota_label",
    "read_dota_label_dir",
    "read_task1_dir",
    "rotated_nms",
    "select_threshold",
    "without_scores",
    "write_task1",
]
