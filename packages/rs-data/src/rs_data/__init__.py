"""The remote-sensing data engine: readers, offline processing, weighted mixing, conversation rendering."""

from rs_data.integrity import IncompleteDatasetError, verify_records_file
from rs_data.schema import (
    TASKS,
    Annotation,
    CaptionAnnotation,
    ClassificationAnnotation,
    DetectionAnnotation,
    GroundingAnnotation,
    ImagePart,
    ImageRef,
    Message,
    ObjectAnn,
    Record,
    RecordFileError,
    Skipped,
    Task,
    TextPart,
    VQAAnnotation,
    read_records,
    write_records,
)

__version__ = "0.1.0"

__all__ = [
    "TASKS",
    "Annotation",
    "CaptionAnnotation",
    "ClassificationAnnotation",
    "DetectionAnnotation",
    "GroundingAnnotation",
    "ImagePart",
    "ImageRef",
    "IncompleteDatasetError",
    "Message",
    "ObjectAnn",
    "Record",
    "RecordFileError",
    "Skipped",
    "Task",
    "TextPart",
    "VQAAnnotation",
    "__version__",
    "read_records",
    "verify_records_file",
    "write_records",
]
