"""One training run: config -> model, mixture, Trainer -> final Hugging Face checkpoint (-> evaluation)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from rscovlm_eval.report import LOSS_HISTORY_FILE
from rscovlm_model import (
    EncodedSample,
    PackingCollator,
    PaddingCollator,
    apply_liger_kernels,
    apply_lora,
    configure_trainable,
    enable_gradient_checkpointing,
    encode,
    load_model,
    load_processor,
    parameter_groups,
    run_vision_every_step,
)
from rscovlm_model.settings import SETTINGS_FILE
from torch.utils.tensorboard import SummaryWriter
from transformers import TrainerCallback, TrainingArguments, set_seed
from transformers.integrations import TensorBoardCallback

from rscovlm_train.checkpoints import CONFIG_NAME, clear_staging, commit, last_checkpoint, staging_root
from rscovlm_train.collate import TrainingCollator
from rscovlm_train.config import ConfigError, TrainConfig
from rscovlm_train.data import build_sampling
from rscovlm_train.deepspeed_config import deepspeed_config
from rscovlm_train.evaluation import evaluate_final
from rscovlm_train.preflight import raise_on_problems
from rscovlm_train.trainer import CoTrainer, trim_trace
from rscovlm_train.universal import convert_to_universal, needs_universal, with_universal_loading

log = logging.getLogger(__name__)

FINAL_DIR = "final"
TENSORBOARD_DIR = "tensorboard"


@dataclass(frozen=True)
class Ranks:
    """This process's place in a torchrun / DeepSpeed launch (all zero / one when started directly)."""

    rank: int
    world_size: int

    @classmethod
    def from_environment(cls) -> Ranks:
        def number(name: str, default: int) -> int:
            return int(os.environ.get(name, default))

        return cls(number("RANK", 0), number("WORLD_SIZE", 1))


def training_arguments(config: TrainConfig, ranks: Ranks, load_universal: bool = False) -> TrainingArguments:
    """transformers' TrainingArguments for this config (created before the model, as DeepSpeed ZeRO-3 needs);
    ``load_universal``: DeepSpeed resumes from a universal checkpoint."""
    optim, output = config.optim, config.output
    trains_vision = config.model.lora is None and (config.model.train_vision or config.model.train_merger)
    return TrainingArguments(
        output_dir=str(output.dir),
        run_name=output.run_name or output.dir.name,
        seed=config.seed,
        per_device_train_batch_size=optim.per_device_batch_size,
        gradient_accumulation_steps=optim.accumulation_steps(ranks.world_size),
        num_train_epochs=optim.epochs,
        max_steps=optim.max_steps or -1,
        learning_rate=optim.lr,
        lr_scheduler_type=optim.scheduler,
        lr_scheduler_kwargs={"min_lr_rate": optim.min_lr_rate} if optim.scheduler == "cosine_with_min_lr" else None,
        warmup_steps=optim.warmup_ratio,
        weight_decay=optim.weight_decay,
        max_grad_norm=optim.max_grad_norm,
        bf16=optim.precision == "bf16",
        fp16=optim.precision == "fp16",
        tf32=optim.tf32 or None,
        logging_steps=output.logging_steps,
        save_strategy="steps",
        save_steps=output.save_steps,
        save_total_limit=output.save_total_limit,
        report_to=[name for name in output.report_to if name != "tensorboard"] or "none",
        dataloader_num_workers=config.data.num_workers,
        remove_unused_columns=False,
        # DDP looks for unused parameters when the vision tower trains (text-only batches run it on a dummy image)
        ddp_find_unused_parameters=trains_vision,
        deepspeed=_deepspeed(config, load_universal),
        use_cpu=not torch.cuda.is_available(),
    )


def _deepspeed(config: TrainConfig, load_universal: bool) -> dict[str, Any] | None:
    if not config.distributed.deepspeed:
        return None
    settings = deepspeed_config(config.distributed.deepspeed)
    return with_universal_loading(settings) if load_universal else settings


def start_process_group(args: TrainingArguments) -> None:
    """Join the process group before the model loads: ZeRO-3 partitions the weights over it while they load.

    On the CPU accelerate starts torch's process group but not DeepSpeed's communication layer, which would then
    count one process and refuse the batch sizes; it is started here over the same group.
    """
    _ = args.device  # accelerate sets up the process group on first use
    if args.deepspeed:
        import deepspeed

        deepspeed.init_distributed(auto_mpi_discovery=False)


def prepare_model(config: TrainConfig) -> torch.nn.Module:
    """Load the checkpoint and set what trains (parts or LoRA) and gradient checkpointing; text-only batches run the
    vision tower on a dummy image (`run_vision_every_step`), so that every rank runs the same modules (ZeRO-3)."""
    settings = config.model
    model = load_model(settings.path, settings.family, settings.dtype, settings.attn_implementation)
    # the loss is chunked over hidden states by CoTrainer, so Liger's own (mean-only) fused loss is left out
    if settings.liger and not apply_liger_kernels(model, fused_linear_cross_entropy=False):
        raise RuntimeError("model.liger is true but liger-kernel is not installed (pip install liger-kernel)")
    if settings.lora is not None:
        model = apply_lora(model, settings.lora)
    else:
        counts = configure_trainable(model, settings.train_vision, settings.train_merger, settings.train_llm)
        log.info("trainable parameters: %s", counts)
    if config.optim.gradient_checkpointing:
        enable_gradient_checkpointing(model)
    run_vision_every_step(model)
    return model


@dataclass(frozen=True)
class TrainResult:
    """Where a run left its final checkpoint and, when the config asks for evaluation, the report."""

    final: Path
    report: Path | None


def train(config: TrainConfig, callbacks: Sequence[TrainerCallback] = ()) -> TrainResult:
    """Train (resuming from the newest checkpoint in the output folder), save the final checkpoint, evaluate it.

    ``callbacks`` are added to the Trainer (transformers ``TrainerCallback`` objects).
    """
    raise_on_problems(config)
    final, main_process = _train_and_save(config, callbacks)
    # the training copy of the model is gone here, before the evaluation loads the final checkpoint
    report = evaluate_final(config, final) if config.evaluation is not None and main_process else None
    return TrainResult(final, report)


def _train_and_save(config: TrainConfig, callbacks: Sequence[TrainerCallback]) -> tuple[Path, bool]:
    ranks = Ranks.from_environment()
    output = config.output.dir
    resume = last_checkpoint(output)
    # a DeepSpeed checkpoint of another world size resumes through DeepSpeed's universal checkpoint
    universal = bool(config.distributed.deepspeed) and resume is not None and needs_universal(resume, ranks.world_size)
    args = training_arguments(config, ranks, load_universal=universal)
    start_process_group(args)
    set_seed(config.seed)
    processor = load_processor(config.model.path, config.data.resolution)
    model = prepare_model(config)
    dataset, sampler = build_sampling(config, processor, ranks.rank, ranks.world_size)
    pad_token_id = processor.tokenizer.pad_token_id
    inner = (
        PackingCollator(model, config.data.max_length, pad_token_id)
        if config.data.packing
        else PaddingCollator(pad_token_id)
    )
    optim = config.optim
    trainer = CoTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=TrainingCollator(inner, placeholder_sample(processor)),
        processing_class=processor,
        sampler=sampler,
        param_groups=partial(
            parameter_groups,
            lr=optim.lr,
            vision_lr=optim.vision_lr,
            merger_lr=optim.merger_lr,
            weight_decay=optim.weight_decay,
        ),
        checkpoint_files=checkpoint_files(config),
        row_length=config.data.max_length,
        callbacks=list(callbacks),
    )
    if "tensorboard" in config.output.report_to and trainer.is_world_process_zero():
        trainer.add_callback(TensorBoardCallback(SummaryWriter(str(output / TENSORBOARD_DIR))))
    if resume is not None:
        try:  # refuses a sample order it cannot continue, before anything is converted
            trainer.restore_sampler(resume)
        except ValueError as error:
            raise ConfigError([("output.dir", f"cannot resume from the newest checkpoint: {error}")]) from error
    if trainer.args.should_save:
        clear_staging(output)
        if universal:
            log.info("%s was saved by another number of processes: converting it to a universal checkpoint", resume)
            convert_to_universal(resume)
    trainer.accelerator.wait_for_everyone()
    if resume is not None:
        log.info("resuming from %s", resume)
        trim_trace(output, trainer.args.process_index, int(resume.name.split("-")[-1]))
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    return save_final(trainer, processor, config), trainer.is_world_process_zero()


def placeholder_sample(processor: Any) -> EncodedSample:
    """A short text-only conversation that stands in for a batch with no usable sample (it is never supervised)."""
    messages = [{"role": "user", "content": "-"}, {"role": "assistant", "content": "-"}]
    return encode(messages, processor)


def save_final(trainer: CoTrainer, processor: Any, config: TrainConfig) -> Path:
    """Save the trained model and processor as a Hugging Face checkpoint, atomically, to OUTPUT_DIR/final."""
    output = config.output.dir
    staged = staging_root(output) / FINAL_DIR
    if _is_peft(trainer.model):
        trainer.model = trainer.model.merge_and_unload()  # a plain checkpoint: LoRA weights folded in
    trainer.save_model(str(staged))
    final = output / FINAL_DIR
    if trainer.args.should_save:
        processor.save_pretrained(str(staged))
        for name, text in checkpoint_files(config).items():
            (staged / name).write_text(text, encoding="utf-8")
        losses = [entry for entry in trainer.state.log_history if "loss" in entry]
        (staged / LOSS_HISTORY_FILE).write_text(json.dumps(losses, indent=1), encoding="utf-8")
        commit(staged, final)
    trainer.accelerator.wait_for_everyone()
    return final


def checkpoint_files(config: TrainConfig) -> dict[str, str]:
    """The files saved beside every checkpoint and the final model: the resolved training config, and the settings
    that decide what the model saw (read back by rscovlm-eval)."""
    return {CONFIG_NAME: config.to_yaml(), SETTINGS_FILE: config.model_settings().model_dump_json(indent=1)}


def _is_peft(model: Any) -> bool:
    return hasattr(model, "merge_and_unload")
