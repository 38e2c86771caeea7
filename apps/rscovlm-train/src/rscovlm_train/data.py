"""The training data: rs-data's mixture, sampled by its `MixtureSampler`, rendered and tokenised per sample;
visual-cot records train as Zoom-in Chains made when they load (`mixture_dataset`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import partial
from typing import Any

import torch
from rs_data.dataset import MixtureDataset, UnusableRecordError
from rs_data.lengths import epoch_lengths
from rs_data.mixing import Mixture, MixtureSampler
from rs_resolution import ImageReadError
from rs_zoom import as_zoom_chain
from rscovlm_model import PackedBatchSampler, encode, estimate_length
from rscovlm_model.encoding import patch_factor

from rscovlm_train.collate import TrainingItem
from rscovlm_train.config import DataSection, TrainConfig
from rscovlm_train.mixture import resolved_mixture

LENGTH_CACHE = "length_cache"  # under the output folder: the per-epoch sample lengths packing plans with


def counter_key(processor: Any) -> str:
    """What decides a token count besides the record: the tokenizer (name, vocabulary size), its chat template and
    the processor's patch factor."""
    tokenizer = processor.tokenizer
    template = processor.chat_template or tokenizer.chat_template or ""
    digest = hashlib.sha256(template.encode()).hexdigest()[:16]
    return f"{tokenizer.name_or_path}|{len(tokenizer)}|{digest}|{patch_factor(processor)}"


class EpochSampler(torch.utils.data.Sampler):
    """A `MixtureSampler` whose indices carry their epoch: ``(epoch, index)``.

    Rendering choices (box type, style, caption, random resize) depend on the epoch; passing it with each index keeps
    them right in data-loader workers and after a resume, whatever the loader does with ``set_epoch``.
    """

    def __init__(self, sampler: MixtureSampler) -> None:
        self.sampler = sampler

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = self.sampler.epoch
        for index in self.sampler:
            yield epoch, index

    def __len__(self) -> int:
        return len(self.sampler)

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def state_dict(self) -> dict[str, int]:
        return self.sampler.state_dict()

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.sampler.load_state_dict(state)


class EncodedMixture(torch.utils.data.Dataset):
    """Item ``(epoch, index)``: the mixture's sample rendered for that epoch and tokenised by the processor."""

    def __init__(self, mixture: MixtureDataset, names: list[str], processor: Any, max_length: int | None) -> None:
        self.mixture = mixture
        self.names = names
        self.processor = processor
        self.max_length = max_length

    def __len__(self) -> int:
        return len(self.mixture)

    def dataset_name(self, key: int) -> str:
        """The mixture entry name of a sampler key (what per-dataset losses are logged under)."""
        return self.names[self.mixture.locate(key)[0]]

    def __getitem__(self, key: tuple[int, ...]) -> TrainingItem:
        """Key ``(epoch, index)``, or ``(epoch, index, pack)`` from the packed batch sampler.

        A record that cannot be used (a crop box that makes no chain, a corrupt or missing image, a window outside its
        image) gives an item without encoding and with the reason: skipped, counted and reported by the trainer."""
        epoch, index, *packs = key
        pack, name = packs[0] if packs else 0, self.dataset_name(index)
        self.mixture.set_epoch(epoch)
        try:
            sample = self.mixture[index]
        except UnusableRecordError as error:
            record = self.mixture.record(index)
            return TrainingItem(None, record.id, name, record.task, problem=str(error), pack=pack)
        origin = (sample.record_id, name, sample.task)
        try:
            encoded = encode(sample.messages, self.processor, max_length=self.max_length)
        except ImageReadError as error:
            return TrainingItem(None, *origin, problem=str(error), pack=pack)
        return TrainingItem(encoded, *origin, pack=pack, clipped=tuple(sample.clipped))


def mixture_dataset(mixture: Mixture, data: DataSection) -> MixtureDataset:
    """The mixture's records as training renders them; visual-cot records (rs-data's `visual-cot` reader) as
    Zoom-in Chains in the render convention, their crop cut from the source image when loaded (`rs_zoom.as_zoom_chain`).
    """
    return MixtureDataset.from_mixture(mixture, data.resolution, data.render, prepare=as_zoom_chain)


def build_sampling(
    config: TrainConfig, processor: Any, rank: int, world_size: int
) -> tuple[EncodedMixture, EpochSampler | PackedBatchSampler]:
    """The training dataset and this rank's sampler for the configured mixture.

    With ``data.packing`` the sampler is a `PackedBatchSampler` (a batch sampler) over the mixture's order, each
    batch ``optim.per_device_batch_size`` packs of up to ``data.max_length`` tokens, counted on each epoch's rendered
    text before any image is decoded (`rs_data.lengths`, cached under OUTPUT_DIR/length_cache).
    """
    mixture = resolved_mixture(config.data)
    rendered = mixture_dataset(mixture, config.data)
    dataset = EncodedMixture(rendered, [entry.name for entry in mixture.datasets], processor, config.data.max_length)
    if not config.data.packing:
        sampler = MixtureSampler(rendered.sizes, mixture, rank=rank, world_size=world_size, pad=True)
        return dataset, EpochSampler(sampler)
    order = MixtureSampler(rendered.sizes, mixture, world_size=1)
    lengths = partial(
        epoch_lengths,
        mixture_dataset(mixture, config.data),
        count=partial(estimate_length, processor=processor),
        counter_key=counter_key(processor),
        cache_dir=config.output.dir / LENGTH_CACHE,
    )
    packed = PackedBatchSampler(
        order.epoch_indices,
        lengths,
        config.data.max_length,
        packs_per_batch=config.optim.per_device_batch_size,
        window=config.data.pack_window,
        rank=rank,
        world_size=world_size,
    )
    return dataset, packed
