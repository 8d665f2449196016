# Copyright (c) rrgkit contributors. All rights reserved.
import pytest
import torch

from rrgkit.models.utils.grad_balance import scale_grad, sigmoid_ramp


def test_scale_grad_is_identity_forward_and_scales_backward():
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    y = scale_grad(x, 0.25)
    assert torch.equal(y, x)
    (y * torch.tensor([4.0, 8.0])).sum().backward()
    assert x.grad.tolist() == [1.0, 2.0]
    assert scale_grad(x, 1.0) is x


def test_sigmoid_ramp_runs_from_zero_to_one_monotonically():
    values = [sigmoid_ramp(p / 10) for p in range(11)]
    assert values[0] == 0.0 and values[-1] == pytest.approx(1.0)
    assert values[5] == pytest.approx(0.5)
    assert all(a < b for a, b in zip(values, values[1:]))
    # Sigmoid-like: slow at the ends, fast in the middle.
    assert values[1] - values[0] < values[6] - values[5]
    assert sigmoid_ramp(-1) == 0.0 and sigmoid_ramp(2) == pytest.approx(1.0)
