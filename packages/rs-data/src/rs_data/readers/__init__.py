"""Readers of the public formats: `READERS[name](src, **options) -> ReadResult(records, skipped)`."""

from rs_data.readers import (
    captions,
    classification,
    coco,
    dota,
    geochat_bench,
    geochat_referring,
    geochat_text,
    geoground_test,
    image_folder,
    llava,
    llava_onevision,
    lrs_vqa,
    mme_realworld,
    nwpu_captions,
    refgeo,
    rsvqa,
    teochat_eval,
    teochatlas,
    vhm_eval,
    visual_cot,
    xlrs_bench,
)
from rs_data.readers._common import Reader, ReadResult
from rs_data.readers.grounding import DIOR_RSVG, VRSBENCH
from rs_data.readers.xml_detection import DIOR, DIOR_R, FAIR1M, HRSC2016

READERS: dict[str, Reader] = {
    reader.name: reader
    for reader in (
        dota.READER,
        DIOR_R,
        DIOR,
        FAIR1M,
        HRSC2016,
        coco.READER,
        DIOR_RSVG,
        VRSBENCH,
        captions.READER,
        nwpu_captions.READER,
        rsvqa.READER,
        classification.READER,
        llava.READER,
        teochatlas.READER,
        refgeo.READER,
        llava_onevision.READER,
        geochat_bench.READER,
        geochat_referring.READER,
        geochat_text.READER,
        geoground_test.READER,
        lrs_vqa.READER,
        visual_cot.READER,
        mme_realworld.READER,
        image_folder.READER,
        vhm_eval.READER,
        teochat_eval.READER,
        xlrs_bench.READER,
    )
}

__all__ = ["READERS", "ReadResult", "Reader"]
