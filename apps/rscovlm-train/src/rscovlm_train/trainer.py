"""`CoTrainer`: transformers' Trainer with the mixture sampler, parameter groups, per-task losses and atomic saves."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from rscovlm_model import PackedBatchSampler
from transformers import Trainer
from transformers.trainer_utils import rotate_checkpoints, seed_worker

from rscovlm_train.checkpoints import (
    SAMPLER_STATE_NAME,
    commit,
    load_sampler_state,
    save_sampler_state,
    staging_root,
    write_text_atomically,
)
from rscovlm_train.collate import META_KEY
from rscovlm_train.losses import GroupLosses, add_sample_losses, head_returns_token_losses, scored_positions

SAMPLE_TRACE_DIR = "sample_trace"

logger = logging.getLogger(__name__)


class CoTrainer(Trainer):
    """Trains on a weighted mixture of remote-sensing data sets.

    Differences from `transformers.Trainer`, and nothing else:

    - the training sampler is rs-data's `MixtureSampler`, or with packing a `PackedBatchSampler` over its order (the
      loader then takes batches of packs); its state is saved in every checkpoint and restored on resume, so a
      resumed run sees exactly the samples an uninterrupted run would have seen;
    - the optimiser gets the parameter groups of ``param_groups`` (separate learning rates for vision and merger);
    - the loss is computed here, token by token from the hidden states in chunks (no full fp32 logits), so that it
      can also be logged per task and per data set, with
      tokens/s, the fraction of real (non-padding) tokens, the row fill (real tokens / (rows x max_length)) and
      samples per optimiser step;
    - checkpoints are written into a staging folder and renamed into place once complete, with the resolved
      files of ``checkpoint_files`` beside them (the resolved training config and the model settings that
      evaluation reads back).
    """

    def __init__(
        self,
        *args: Any,
        sampler: Any,
        param_groups: Callable[[torch.nn.Module], list[dict[str, Any]]],
        checkpoint_files: dict[str, str],
        row_length: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.mixture_sampler = sampler
        self.param_groups = param_groups
        self.checkpoint_files = checkpoint_files
        self.group_losses = GroupLosses()
        self.dropped_samples = 0
        self.clipped_boxes = 0  # target boxes brought into their image, each time one is trained on
        self._clipped_records: set[str] = set()  # records whose clipping was already logged
        self._step_rates: dict[str, float] = {}  # learning rate per model part at the last optimiser step
        self.loss_is_scaled_for_ga = True
        self.model_accepts_loss_kwargs = True  # makes the Trainer count label tokens over the accumulated batch
        # real tokens, token slots (padding included), rows x row length, samples
        self._tokens = torch.zeros(4, dtype=torch.float64)
        self.row_length = row_length
        self._last_log_step = 0
        self._last_log_time = time.perf_counter()
        self._staging = False

    def train(self, *args: Any, **kwargs: Any) -> Any:
        self._last_log_time = time.perf_counter()
        return super().train(*args, **kwargs)

    # ---- data ----

    def _get_train_sampler(self, train_dataset: Any = None) -> Any:
        return self.mixture_sampler

    @property
    def packs(self) -> bool:
        """Whether the sampler is the token-budget `PackedBatchSampler` (a batch sampler)."""
        return isinstance(self.mixture_sampler, PackedBatchSampler)

    def get_train_dataloader(self) -> torch.utils.data.DataLoader:
        if self.packs:
            loader = torch.utils.data.DataLoader(
                self.train_dataset,
                batch_sampler=self.mixture_sampler,
                collate_fn=self.data_collator,
                num_workers=self.args.dataloader_num_workers,
                pin_memory=self.args.dataloader_pin_memory,
                worker_init_fn=partial(
                    seed_worker, num_workers=self.args.dataloader_num_workers, rank=self.args.process_index
                ),
            )
            dataloader = self.accelerator.prepare(loader)
        else:
            dataloader = super().get_train_dataloader()
        # The mixture sampler already gives each rank its share: make accelerate's re-sharding a passthrough.
        shard = getattr(dataloader, "batch_sampler", None)
        if shard is not None and hasattr(shard, "num_processes"):
            shard.num_processes = 1
            shard.process_index = 0
        return dataloader

    def restore_sampler(self, checkpoint: Path) -> None:
        """Put the sampler back at the epoch saved in ``checkpoint``, before training resumes from it.

        The Trainer then fast-forwards through the batches of that epoch already trained on (index by index, nothing
        is loaded), so the sampler restarts the epoch instead of continuing at the saved position.
        """
        state = load_sampler_state(checkpoint)
        if state is None:
            raise FileNotFoundError(f"{checkpoint} has no {SAMPLER_STATE_NAME}: it was not written by rscovlm-train")
        if not self.packs:
            self.mixture_sampler.load_state_dict({**state, "consumed": 0})
            return
        if "global_batch_packs" not in state:
            raise ValueError(f"{checkpoint} was trained without packing; resume it with data.packing=false")
        if state["global_batch_packs"] != self._global_batch_packs():
            raise ValueError(
                f"cannot resume {checkpoint} in the same sample order: it was trained with "
                f"{state['global_batch_packs']} packs per optimiser step, this run takes {self._global_batch_packs()} "
                "(per-device packs x accumulation x world size)"
            )
        self.mixture_sampler.load_state_dict(state)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: torch.nn.Module | None = None) -> None:
        """Load a checkpoint's weights through ``from_pretrained``, which maps the saved names back.

        transformers saves Qwen-VL weights under the original checkpoint names (``visual.*``, ``model.layers.*``);
        its own resume loads the raw file into the model and silently misses every weight. DeepSpeed, FSDP and
        adapter checkpoints keep their own loading.
        """
        model = model if model is not None else self.model
        if self.is_deepspeed_enabled or self.is_fsdp_enabled or hasattr(model, "peft_config"):
            super()._load_from_checkpoint(resume_from_checkpoint, model)
            return
        saved = type(model).from_pretrained(
            resume_from_checkpoint, dtype=model.dtype, attn_implementation=model.config._attn_implementation
        )
        model.load_state_dict(saved.state_dict(), strict=True)

    # ---- optimisation ----

    def create_optimizer(self, model: torch.nn.Module | None = None) -> torch.optim.Optimizer:
        if self.optimizer is None:
            optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, model or self.model)
            self.optimizer = optimizer_cls(self.param_groups(model or self.model), **optimizer_kwargs)
        return self.optimizer

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, Any]:
        meta = inputs.pop(META_KEY)
        labels = inputs.pop("labels")
        with head_returns_token_losses(self.accelerator.unwrap_model(model), labels):
            outputs = model(**inputs)
        losses = outputs.logits[..., 0]
        scored = scored_positions(labels.to(losses.device))
        total = losses[scored].sum()
        if num_items_in_batch is None:
            loss = total / scored.sum().clamp(min=1) / self.current_gradient_accumulation_steps
        else:  # a step of placeholder batches only (nothing usable anywhere) has no supervised token
            loss = total / (
                num_items_in_batch.clamp(min=1) if torch.is_tensor(num_items_in_batch) else max(num_items_in_batch, 1)
            )
            if self.args.average_tokens_across_devices and self.args.world_size > 1:
                loss = loss * self.args.world_size  # gradients are averaged over ranks; the token count was summed
        if model.training:
            self._account(losses, scored, inputs, meta)
        return (loss, outputs) if return_outputs else loss

    def _account(self, losses: torch.Tensor, scored: torch.Tensor, inputs: dict[str, Any], meta: dict) -> None:
        """Credit this micro-batch's token losses to tasks and data sets; count its tokens; trace its samples."""
        groups = [
            [f"task/{task}", f"dataset/{dataset}"]
            for task, dataset in zip(meta["tasks"], meta["datasets"], strict=True)
        ]
        add_sample_losses(self.group_losses, losses, scored, meta["sample_index"].to(losses.device), groups)
        real = float((meta["sample_index"] >= 0).sum())  # padding of padded and of packed rows is owned by none
        rows = float(meta["rows"])
        self._tokens += torch.tensor(
            [real, float(inputs["input_ids"].numel()), rows * self.row_length, float(len(meta["ids"]))],
            dtype=torch.float64,
        )
        self._trace(meta["ids"])
        for record_id, reason in meta["dropped"]:
            self.dropped_samples += 1
            logger.warning("skipped sample %s: %s", record_id, reason)
        for record_id, reason in meta["clipped"]:
            self.clipped_boxes += 1
            if record_id not in self._clipped_records:
                logger.warning("clipped a box of sample %s (logged once per sample): %s", record_id, reason)
        self._clipped_records.update(record_id for record_id, _ in meta["clipped"])

    def _trace(self, ids: list[str]) -> None:
        """Append the ids of this micro-batch to the run's sample trace (one JSON line per micro-batch)."""
        folder = Path(self.args.output_dir) / SAMPLE_TRACE_DIR
        folder.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"step": self.state.global_step + 1, "ids": ids})
        with (folder / f"rank{self.args.process_index}.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    # ---- logging ----

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs:
            logs.update(self._drain_training_metrics())
        super().log(logs, start_time)

    def _drain_training_metrics(self) -> dict[str, float]:
        """Per-group losses, tokens/s and real-token fraction since the last log, and samples skipped and target
        boxes clipped so far, summed over all ranks."""
        names = _all_ranks_union(sorted(self.group_losses.sums))
        values = torch.tensor(
            [self.group_losses.sums.get(n, 0.0) for n in names]
            + [self.group_losses.counts.get(n, 0.0) for n in names]
            + [*self._tokens.tolist(), float(self.dropped_samples), float(self.clipped_boxes)],
            dtype=torch.float64,
        )
        values = _all_ranks_sum(values, self.args.device)
        count = len(names)
        sums, counts = values[:count], values[count : 2 * count]
        real, slots, row_slots, samples, skipped, clipped = values[2 * count :].tolist()
        now = time.perf_counter()
        metrics = {f"loss_{name}": float(s / c) for name, s, c in zip(names, sums, counts, strict=True) if c > 0}
        metrics["tokens_per_second"] = real / max(now - self._last_log_time, 1e-9)
        metrics["real_token_fraction"] = real / slots if slots else 0.0
        if self.row_length:
            metrics["row_fill"] = real / row_slots if row_slots else 0.0
        metrics["samples_per_step"] = samples / max(self.state.global_step - self._last_log_step, 1)
        metrics["skipped_samples"] = skipped
        metrics["clipped_boxes"] = clipped
        metrics.update(self._step_rates)
        self.group_losses.reset()
        self._tokens.zero_()
        self._last_log_time = now
        self._last_log_step = self.state.global_step
        return metrics

    def _get_learning_rate(self) -> float:
        """The Trainer asks this after each optimiser step, before the scheduler moves: note every part's rate too."""
        self._step_rates = {}
        for group in self.optimizer.param_groups:
            part = str(group.get("name", "")).split("/")[0]
            if part:
                self._step_rates[f"lr_{part}"] = float(group["lr"])
        return super()._get_learning_rate()

    # ---- checkpoints ----

    def _get_output_dir(self, trial: Any) -> str:
        if self._staging:
            return str(staging_root(self.args.output_dir))
        return super()._get_output_dir(trial)

    def _save_checkpoint(self, model: torch.nn.Module, trial: Any) -> None:
        """Write the checkpoint into the staging folder, add sampler state and the checkpoint files, then rename it
        into place."""
        self._staging = True
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self._staging = False
        name = f"checkpoint-{self.state.global_step}"
        staged = staging_root(self.args.output_dir) / name
        self.accelerator.wait_for_everyone()
        if self.args.should_save:
            save_sampler_state(staged, self._sampler_state())
            for file_name, text in self.checkpoint_files.items():
                write_text_atomically(staged / file_name, text)
            commit(staged, Path(self.args.output_dir) / name)
            self._rotate_checkpoints()
        self.accelerator.wait_for_everyone()

    def _global_batch_packs(self) -> int:
        args = self.args
        return args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size

    def _sampler_state(self) -> dict[str, Any]:
        """The sampler's state after the current optimiser step (the data loader may have prefetched further)."""
        per_device, accumulation = self.args.per_device_train_batch_size, self.args.gradient_accumulation_steps
        if self.packs:
            steps_per_epoch = max(math.ceil(len(self.mixture_sampler) / accumulation), 1)
            epoch, steps = divmod(self.state.global_step, steps_per_epoch)
            packs = self._global_batch_packs()
            return {
                **self.mixture_sampler.state_dict(),
                "epoch": epoch,
                "packs_consumed": min(steps * packs, len(self.mixture_sampler.epoch_packs(epoch))),
                "global_batch_packs": packs,
                "world_size": self.args.world_size,
            }
        batches = math.ceil(len(self.mixture_sampler) / per_device)
        steps_per_epoch = max(batches // accumulation + int(batches % accumulation > 0), 1)
        epoch, steps = divmod(self.state.global_step, steps_per_epoch)
        consumed = min(steps * accumulation * per_device, len(self.mixture_sampler))
        return {**self.mixture_sampler.state_dict(), "epoch": epoch, "consumed": consumed}

    def _rotate_checkpoints(self) -> None:
        rotate_checkpoints(
            output_dir=self.args.output_dir,
            save_total_limit=self.args.save_total_limit,
            best_model_checkpoint=self.state.best_model_checkpoint,
            use_mtime=False,
        )


def _all_ranks_union(names: list[str]) -> list[str]:
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return names
    gathered: list[list[str] | None] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, names)
    return sorted({name for part in gathered for name in part or []})


def _all_ranks_sum(values: torch.Tensor, device: torch.device) -> torch.Tensor:
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return values
    on_device = values.to(device)
    dist.all_reduce(on_device)
    return on_device.cpu()


def trim_trace(output_dir: Path, rank: int, step: int) -> None:
    """Drop the sample-trace lines of steps after ``step`` (written by a run that is resumed from ``step``)."""
    path = Path(output_dir) / SAMPLE_TRACE_DIR / f"rank{rank}.jsonl"
    if path.is_file():
        kept = [line for line in path.read_text(encoding="utf-8").splitlines() if json.loads(line)["step"] <= step]
        write_text_atomically(path, "".join(line + "\n" for line in kept))
