"""REDI (arXiv:2505.24850): reference-free distillation from positive and negative traces.

    L = E[ −log π(y⁺|x)/|y⁺| + α · log π(y⁻|x)/|y⁻| ]

Per-sequence mean log-probs over completion tokens (not a token-weighted mean across the batch: that changes the
objective), no reference model, one forward over [chosen; rejected]. TRL implements no REDI loss, so this is a
small `transformers.Trainer` subclass; DPO and SimPO, the paper's comparisons, run through TRL on the same rows.
Stage 2 tokenizes with the same chat template and the same function as stage 1 (`models.tokenize_conversation`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import torch
from transformers import Trainer, TrainerCallback

from curation.errors import UserError

from .config import REDISpec, trl_args
from .data import load_for
from .models import load_model, load_tokenizer, lora_config, tokenize_conversation
from .runner import callbacks, common_defaults, run


def completion_logps(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of log π over the completion tokens of each row, and their count. labels = −100 on prompt and padding;
    logits[:, t] predicts labels[:, t + 1]."""
    from trl.trainer.utils import selective_log_softmax

    labels = labels[:, 1:]
    logits = logits[:, :-1]
    mask = labels != -100
    token_logps = selective_log_softmax(logits, labels.clamp(min=0))
    return (token_logps * mask).sum(-1), mask.sum(-1)


def redi_loss(
    chosen_logps: torch.Tensor,
    chosen_lengths: torch.Tensor,
    rejected_logps: torch.Tensor,
    rejected_lengths: torch.Tensor,
    alpha: float = 0.8,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The REDI loss (mean over pairs) and the per-pair mean token log-probs of chosen and rejected.

    α = 0 is SFT on the positives, α = 1 the symmetric objective."""
    mean_c = chosen_logps / chosen_lengths.clamp(min=1)
    mean_r = rejected_logps / rejected_lengths.clamp(min=1)
    return (-mean_c + alpha * mean_r).mean(), mean_c, mean_r


def _conversation(row: dict, side: str) -> list[dict]:
    turns = row[side]
    if isinstance(turns, str):  # standard (non-conversational) preference rows
        raise UserError(
            "data: `cotforge train redi` needs conversational pairs (chat lists, as the trl-preference "
            "export writes); found plain strings in column " + repr(side)
        )
    prompt = row.get("prompt")
    return (list(prompt) if prompt else []) + list(turns)


def _truncated(row: dict) -> bool:
    """A cut-off negative: the engine said `length`, or verify labelled it truncated."""
    return row.get("rejected_finish_reason") == "length" or row.get("rejected_label") == "truncated"


def _prompt_length(labels: list[int]) -> int:
    """Tokens before the first trained (assistant) token."""
    return next((i for i, t in enumerate(labels) if t != -100), len(labels))


def tokenize_pairs(ds: Any, tokenizer: Any, cfg: REDISpec) -> tuple[list[dict], dict[str, int]]:
    """Tokenized pairs and how many rows each filter dropped (reported, never silent)."""
    dropped: dict[str, int] = defaultdict(int)
    has_fr = "rejected_finish_reason" in ds.column_names or "rejected_label" in ds.column_names
    out = []
    for row in ds:
        if cfg.exclude_truncated_negatives and has_fr and _truncated(row):
            dropped["truncated_negative"] += 1
            continue
        item: dict[str, Any] = {}
        for side in ("chosen", "rejected"):
            ids, mask = tokenize_conversation(tokenizer, _conversation(row, side))
            labels = [t if m else -100 for t, m in zip(ids, mask)]
            item[f"{side}_input_ids"], item[f"{side}_labels"] = ids, labels
        n_prompt = min(_prompt_length(item[f"{s}_labels"]) for s in ("chosen", "rejected"))
        n_comp = max(sum(t != -100 for t in item[f"{s}_labels"]) for s in ("chosen", "rejected"))
        if n_comp == 0:
            dropped["empty_completion"] += 1
        elif cfg.max_prompt_length and n_prompt > cfg.max_prompt_length:
            dropped["prompt_too_long"] += 1
        elif cfg.max_completion_length and n_comp > cfg.max_completion_length:
            dropped["completion_too_long"] += 1
        else:
            out.append(item)
    if cfg.exclude_truncated_negatives and not has_fr:
        dropped["truncation_unknown"] = 0  # recorded so the summary says truncation could not be checked
    return out, dict(dropped)


class PairCollator:
    """Pads chosen and rejected to one length and stacks them: rows [0, B) chosen, [B, 2B) rejected."""

    def __init__(self, pad_token_id: int):
        self.pad = pad_token_id

    def __call__(self, batch: list[dict]) -> dict[str, torch.Tensor]:
        seqs = [b["chosen_input_ids"] for b in batch] + [b["rejected_input_ids"] for b in batch]
        labs = [b["chosen_labels"] for b in batch] + [b["rejected_labels"] for b in batch]
        n = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), n), self.pad, dtype=torch.long)
        labels = torch.full((len(seqs), n), -100, dtype=torch.long)
        attn = torch.zeros((len(seqs), n), dtype=torch.long)
        for i, (s, lab) in enumerate(zip(seqs, labs)):
            ids[i, : len(s)] = torch.tensor(s)
            labels[i, : len(lab)] = torch.tensor(lab)
            attn[i, : len(s)] = 1
        return {"input_ids": ids, "attention_mask": attn, "labels": labels}


class REDITrainer(Trainer):
    """One forward over [chosen; rejected]; logs chosen/rejected mean log-probs and their gap."""

    def __init__(self, *a: Any, alpha: float = 0.8, **kw: Any):
        super().__init__(*a, **kw)
        self.alpha = alpha
        self._metrics: dict[str, list[float]] = defaultdict(list)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs.pop("labels")
        outputs = model(**inputs, use_cache=False)
        logps, lengths = completion_logps(outputs.logits, labels)  # no full fp32 copy: the gather upcasts per row
        b = labels.shape[0] // 2
        loss, mean_c, mean_r = redi_loss(logps[:b], lengths[:b], logps[b:], lengths[b:], self.alpha)
        mode = "train" if model.training else "eval"
        self._metrics[f"{mode}/logps_chosen"].append(mean_c.mean().item())
        self._metrics[f"{mode}/logps_rejected"].append(mean_r.mean().item())
        self._metrics[f"{mode}/logps_gap"].append((mean_c - mean_r).mean().item())
        return (loss, outputs) if return_outputs else loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        mode = "eval" if any(k.startswith("eval_") for k in logs) else "train"
        for k, v in list(self._metrics.items()):
            if k.startswith(mode) and v:
                logs[k.split("/", 1)[1] if mode == "train" else f"eval_{k.split('/', 1)[1]}"] = sum(v) / len(v)
                self._metrics[k] = []
        super().log(logs, start_time)


class UpdateNorm(TrainerCallback):
    """‖θ_t+1 − θ_t‖ at logging steps: the paper's collapse signal (a spike precedes both log-probs falling)."""

    def __init__(self):
        self.before: list[torch.Tensor] | None = None
        self.trainer: Any = None

    def _logging_step(self, args, state) -> bool:
        return (state.global_step + 1) % max(1, int(args.logging_steps)) == 0

    def on_pre_optimizer_step(self, args, state, control, model=None, **kw):
        if model is not None and self._logging_step(args, state):
            self.before = [p.detach().clone() for p in model.parameters() if p.requires_grad]

    def on_optimizer_step(self, args, state, control, model=None, **kw):
        if self.before is None or model is None:
            return
        sq = sum(
            float((p.detach() - b).float().pow(2).sum())
            for p, b in zip((p for p in model.parameters() if p.requires_grad), self.before)
        )
        self.before = None
        if self.trainer is not None:
            self.trainer._metrics["train/update_norm"].append(sq**0.5)


def _load_pairs(cfg: REDISpec) -> Any:
    return load_for("redi", cfg.data.path, cfg.data.split, cfg.data.name, cfg.data.limit)


def build_trainer(cfg: REDISpec) -> tuple[Any, Any, dict]:
    ds = _load_pairs(cfg)
    tok = load_tokenizer(cfg.model)
    model = load_model(cfg.model, tok)
    if cfg.loss in ("dpo", "simpo"):
        return _trl_preference_trainer(cfg, ds, tok, model)
    from transformers import TrainingArguments

    pairs, dropped = tokenize_pairs(ds, tok, cfg)
    if not pairs:
        raise UserError(
            f"data: {cfg.data.path}: no pair left after the filters (dropped: {dropped}); raise "
            "max_prompt_length / max_completion_length or check the export"
        )
    args = trl_args(
        cfg,
        TrainingArguments,
        **common_defaults(cfg),
        remove_unused_columns=False,
        learning_rate=1e-6,
        lr_scheduler_type="linear",
        warmup_steps=0.1,
        weight_decay=1e-4,
    )
    if cfg.lora is not None:
        from peft import get_peft_model

        model = get_peft_model(model, lora_config(cfg.lora))
    cbs = callbacks(cfg, tok)
    if cfg.log_update_norm:
        cbs.append(UpdateNorm())
    alpha = 1.0 if cfg.loss == "symmetric" else cfg.alpha
    trainer = REDITrainer(
        model=model,
        args=args,
        train_dataset=pairs,
        data_collator=PairCollator(tok.pad_token_id),
        processing_class=tok,
        callbacks=cbs,
        alpha=alpha,
    )
    return trainer, tok, {"pairs": len(pairs), "dropped": dropped, "alpha": alpha, "loss": cfg.loss}


def _trl_preference_trainer(cfg: REDISpec, ds: Any, tok: Any, model: Any) -> tuple[Any, Any, dict]:
    """DPO (TRL DPOTrainer, reference = a frozen copy of the start model) or SimPO (TRL CPOTrainer, cpo_alpha 0)."""
    dropped: dict[str, int] = {}
    if cfg.exclude_truncated_negatives and (
        "rejected_finish_reason" in ds.column_names or "rejected_label" in ds.column_names
    ):
        n = len(ds)
        ds = ds.filter(lambda r: not _truncated(r))
        dropped["truncated_negative"] = n - len(ds)
    ds = ds.select_columns([c for c in ("prompt", "chosen", "rejected") if c in ds.column_names])
    if cfg.loss == "dpo":
        from trl import DPOConfig, DPOTrainer

        extra = {"beta": cfg.beta} if cfg.beta else {}
        args = trl_args(cfg, DPOConfig, **common_defaults(cfg), **extra)
        import copy

        ref = None if cfg.lora is not None else copy.deepcopy(model).eval()  # the frozen stage-1 model
        trainer = DPOTrainer(
            model=model,
            ref_model=ref,
            args=args,
            train_dataset=ds,
            processing_class=tok,
            peft_config=lora_config(cfg.lora),
            callbacks=callbacks(cfg, tok),
        )
    else:
        from trl.experimental.cpo import CPOConfig, CPOTrainer

        extra = {"beta": cfg.beta} if cfg.beta else {}
        if cfg.simpo_gamma is not None:
            extra["simpo_gamma"] = cfg.simpo_gamma
        args = trl_args(cfg, CPOConfig, **common_defaults(cfg), loss_type="simpo", cpo_alpha=0.0, **extra)
        trainer = CPOTrainer(
            model=model,
            args=args,
            train_dataset=ds,
            processing_class=tok,
            peft_config=lora_config(cfg.lora),
            callbacks=callbacks(cfg, tok),
        )
    return trainer, tok, {"pairs": len(ds), "dropped": dropped, "loss": cfg.loss}


def train(cfg: REDISpec) -> dict:
    trainer, tok, info = build_trainer(cfg)
    return run(trainer, cfg, tok, "redi", info)
