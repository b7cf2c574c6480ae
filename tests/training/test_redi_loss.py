"""The REDI objective pinned on hand-computed values: masking, per-sequence means, α, gradient signs."""

from __future__ import annotations

import math

import pytest
import torch

from training.redi import completion_logps, redi_loss


def _hand_logps(logits: list[list[list[float]]], labels: list[list[int]]) -> list[tuple[float, int]]:
    out = []
    for row_logits, row_labels in zip(logits, labels):
        total, n = 0.0, 0
        for t in range(len(row_labels) - 1):
            target = row_labels[t + 1]
            if target == -100:
                continue
            z = row_logits[t]
            lse = math.log(sum(math.exp(v) for v in z))
            total += z[target] - lse
            n += 1
        out.append((total, n))
    return out


LOGITS = [  # 2 sequences × 5 positions × vocab 4
    [[0.1, 1.0, -0.5, 0.3], [2.0, 0.0, 0.5, -1.0], [0.0, 0.2, 1.5, 0.1], [1.0, 1.0, 1.0, 1.0], [0.3, 0.0, 0.0, 9.0]],
    [[0.5, -0.5, 0.0, 1.0], [0.0, 3.0, 0.0, 0.0], [1.0, 0.0, -2.0, 0.5], [0.2, 0.4, 0.6, 0.8], [5.0, 5.0, 5.0, 5.0]],
]
# row 0: two prompt tokens, three completion tokens; row 1: one prompt token, two completion tokens, then padding
LABELS = [[-100, -100, 2, 0, 3], [-100, 1, 0, -100, -100]]


def test_completion_logps_match_hand_computation_with_prompt_and_padding_masked():
    lp, n = completion_logps(torch.tensor(LOGITS), torch.tensor(LABELS))
    hand = _hand_logps(LOGITS, LABELS)
    assert n.tolist() == [h[1] for h in hand] == [3, 2]
    assert lp.tolist() == pytest.approx([h[0] for h in hand], abs=1e-5)


def test_redi_loss_is_the_mean_over_pairs_of_per_sequence_means():
    chosen_lp, chosen_n = torch.tensor([-3.0, -8.0]), torch.tensor([3, 4])
    rejected_lp, rejected_n = torch.tensor([-2.0, -10.0]), torch.tensor([1, 5])
    loss, mean_c, mean_r = redi_loss(chosen_lp, chosen_n, rejected_lp, rejected_n, alpha=0.8)
    # pair 1: −(−3/3) + 0.8·(−2/1) = 1 − 1.6 = −0.6; pair 2: −(−8/4) + 0.8·(−10/5) = 2 − 1.6 = 0.4
    assert loss.item() == pytest.approx((-0.6 + 0.4) / 2)
    assert mean_c.tolist() == [-1.0, -2.0] and mean_r.tolist() == [-2.0, -2.0]
    # not token-weighted: the token-weighted mean would be −(−11/7) + 0.8·(−12/6) = −0.0286
    assert loss.item() != pytest.approx(11 / 7 - 1.6, abs=1e-3)


def test_alpha_zero_is_sft_on_positives_and_alpha_one_is_symmetric():
    c, cn, r, rn = torch.tensor([-4.0]), torch.tensor([2]), torch.tensor([-6.0]), torch.tensor([3])
    assert redi_loss(c, cn, r, rn, alpha=0.0)[0].item() == pytest.approx(2.0)  # mean NLL of the positive
    assert redi_loss(c, cn, r, rn, alpha=1.0)[0].item() == pytest.approx(2.0 - 2.0)


def test_gradient_raises_chosen_and_lowers_rejected_likelihood():
    logits = torch.tensor(LOGITS, requires_grad=True)
    labels = torch.tensor(LABELS)
    lp, n = completion_logps(logits, labels)
    loss, _, _ = redi_loss(lp[:1], n[:1], lp[1:], n[1:], alpha=0.8)  # row 0 chosen, row 1 rejected
    loss.backward()
    g = logits.grad
    # descending the loss raises the chosen targets' logits (negative gradient) ...
    for t, target in [(1, 2), (2, 0), (3, 3)]:
        assert g[0, t, target] < 0
    # ... and lowers the rejected targets' logits (positive gradient), scaled by α / |y⁻|
    for t, target in [(0, 1), (1, 0)]:
        assert g[1, t, target] > 0
    # prompt and padding positions get no gradient
    assert torch.all(g[0, 0] == 0) and torch.all(g[1, 2:] == 0)


def test_length_normalisation_makes_a_longer_copy_of_the_same_tokens_weigh_the_same():
    vocab = 4
    short_labels = torch.tensor([[-100, 1, 1, -100, -100, -100]])
    long_labels = torch.tensor([[-100, 1, 1, 1, 1, 1]])
    logits = torch.zeros(1, 6, vocab)  # uniform: every token has log-prob −log 4
    ls, ns = completion_logps(logits, short_labels)
    ll, nl = completion_logps(logits, long_labels)
    assert (ns.item(), nl.item()) == (2, 5)
    assert ll.item() == pytest.approx(2.5 * ls.item())  # sums grow with length ...
    loss_short = redi_loss(ls, ns, ls, ns, alpha=0.5)[0]
    loss_long = redi_loss(ll, nl, ll, nl, alpha=0.5)[0]
    assert loss_short.item() == pytest.approx(loss_long.item())  # ... per-sequence means do not
    assert loss_short.item() == pytest.approx(0.5 * math.log(vocab))
