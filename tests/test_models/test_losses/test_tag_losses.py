# Copyright (c) rrgkit contributors. All rights reserved.
import math

import pytest
import torch
import torch.nn.functional as F

from rrgkit.models.losses.tag_losses import (TagBCELoss, TagFocalLoss,
                                             sigmoid_focal_loss)
from rrgkit.registry import MODELS


def test_focal_loss_hand_computed():
    loss = TagFocalLoss(alpha=0.25, gamma=2.0)
    # logit 0 -> p = 0.5; target 1: 0.25 * (1 - 0.5)^2 * log 2
    value = loss(torch.zeros(1, 1), torch.ones(1, 1))
    assert value.item() == pytest.approx(0.25 * 0.25 * math.log(2), rel=1e-6)
    # target 0 uses 1 - alpha = 0.75
    value = loss(torch.zeros(1, 1), torch.zeros(1, 1))
    assert value.item() == pytest.approx(0.75 * 0.25 * math.log(2), rel=1e-6)


def test_focal_loss_is_mean_over_tags_and_batch_and_weighted():
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]])
    targets = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    p = logits.sigmoid()
    p_t = p * targets + (1 - p) * (1 - targets)
    a_t = 0.25 * targets + 0.75 * (1 - targets)
    expected = (-a_t * (1 - p_t)**2 * p_t.log()).mean()
    loss = MODELS.build(dict(type='TagFocalLoss', loss_weight=2.0))
    assert loss(logits, targets).item() == pytest.approx(
        2 * expected.item(), rel=1e-5)


def test_focal_loss_reduces_to_bce_without_focusing():
    logits = torch.randn(4, 5)
    targets = (torch.rand(4, 5) > 0.5).float()
    fl = sigmoid_focal_loss(logits, targets, alpha=None, gamma=0.0)
    bce = F.binary_cross_entropy_with_logits(logits, targets,
                                             reduction='none')
    assert torch.allclose(fl, bce, atol=1e-6)


def test_focal_loss_is_stable_for_large_logits():
    loss = TagFocalLoss()(torch.tensor([[100.0, -100.0]]),
                          torch.tensor([[0.0, 1.0]]))
    assert torch.isfinite(loss) and loss.item() > 10


def test_bce_equals_torch():
    logits = torch.randn(3, 7)
    targets = (torch.rand(3, 7) > 0.5).float()
    loss = MODELS.build(dict(type='TagBCELoss', loss_weight=0.5))
    expected = 0.5 * F.binary_cross_entropy_with_logits(logits, targets)
    assert loss(logits, targets).item() == pytest.approx(expected.item())


@pytest.mark.parametrize('loss', [TagFocalLoss(), TagBCELoss()])
def test_shape_mismatch_is_a_clear_error(loss):
    with pytest.raises(ValueError, match='num_tags'):
        loss(torch.zeros(2, 3), torch.zeros(2, 4))


def test_bad_focal_arguments():
    with pytest.raises(ValueError, match='alpha'):
        TagFocalLoss(alpha=1.5)
    with pytest.raises(ValueError, match='gamma'):
        TagFocalLoss(gamma=-1)
