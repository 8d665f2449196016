# Copyright (c) rrgkit contributors. All rights reserved.
import math

import pytest
import torch

from rrgkit.models.losses import ReportNLLLoss


def _logits():
    # Two reports of three steps over a vocabulary of 3; id 0 is padding.
    logits = torch.zeros(2, 3, 3)
    logits[0, 0] = torch.tensor([0.0, math.log(3.0), 0.0])  # p(1) = 3/5
    return logits


def test_token_mean_matches_hand_computation():
    targets = torch.tensor([[1, 2, 0], [2, 0, 0]])
    loss = ReportNLLLoss(ignore_index=0)(_logits(), targets)
    # -log(3/5) + -log(1/3) + -log(1/3) over 3 real tokens
    expected = (-math.log(3 / 5) + 2 * math.log(3)) / 3
    assert loss.item() == pytest.approx(expected, abs=1e-6)


def test_sequence_mean_and_weight():
    targets = torch.tensor([[1, 2, 0], [2, 0, 0]])
    loss = ReportNLLLoss(reduction='sequence', loss_weight=2.0)(_logits(),
                                                                targets)
    first = (-math.log(3 / 5) + math.log(3)) / 2
    second = math.log(3)
    assert loss.item() == pytest.approx(2 * (first + second) / 2, abs=1e-6)


def test_bad_reduction_is_a_clear_error():
    with pytest.raises(ValueError, match='reduction'):
        ReportNLLLoss(reduction='sum')
