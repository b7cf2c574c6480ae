"""Perplexity under a reference LM: a tiny random GPT-2 built here (no download), batched vs one-by-one."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location("rundir_factory", Path(__file__).parents[1] / "rundir_factory.py")
rundir_factory = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("rundir_factory", rundir_factory)
_spec.loader.exec_module(rundir_factory)


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    out = tmp_path_factory.mktemp("tiny_lm")
    texts = [r["response"] for r in rundir_factory.load_rows()]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=400, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        ),
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>")
    fast.save_pretrained(out)
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=fast.vocab_size, n_positions=256, n_embd=32, n_layer=2, n_head=2)
    GPT2LMHeadModel(cfg).save_pretrained(out)
    return str(out)


def test_batched_equals_unbatched(tiny_lm):
    from curation.text.lm_scoring import text_perplexities

    texts = [r["response"] for r in rundir_factory.load_rows()[:9]] + ["short one"]
    a = text_perplexities(texts, tiny_lm, batch_size=4, max_tokens=128)
    b = text_perplexities(texts, tiny_lm, batch_size=1, max_tokens=128)
    assert np.all(np.isfinite(a)) and np.all(a > 1)
    np.testing.assert_allclose(a, b, rtol=2e-4)


def test_audit_with_perplexity(tiny_lm, tmp_path):
    from curation.audit import AuditOptions, run_audit

    store = rundir_factory.build_run(tmp_path / "run")
    res = run_audit(
        store.root,
        tmp_path / "out",
        AuditOptions(embeddings=False, ppl_model=tiny_lm, ppl_max_per_teacher=3, ppl_max_tokens=64),
    )
    ppl = res["perplexity"]
    assert ppl["computed"] and ppl["model"] == tiny_lm
    assert {r["teacher"] for r in ppl["by_teacher"]} == {
        rundir_factory.short_name(r["teacher"]) for r in rundir_factory.load_rows()
    }
    assert all(r["n"] == 3 and r["ppl_mean"] > 1 for r in ppl["by_teacher"])
    assert "ppl_mean" in {c["key"] for c in res["ranking"]["criteria"]}
    assert "figures/perplexity.png" in res["figures"]
