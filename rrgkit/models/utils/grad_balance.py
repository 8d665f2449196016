# Copyright (c) rrgkit contributors. All rights reserved.
"""Scale the gradient that flows back through a tensor, not its value.

MDNet's joint optimisation (Zhang et al., CVPR 2017, eq. 12) updates the
image model with ``(1 - beta) dL_M/dtheta_D + beta * eta * dL_L/dtheta_D``
while the classifier and the language model keep their own plain gradients.
Passing the image features through :func:`scale_grad` once per consumer
(``1 - beta`` for the diagnosis branch, ``beta * eta`` for the language
branch) gives exactly that update with an ordinary optimizer.
"""
import math

import torch

__all__ = ['scale_grad', 'sigmoid_ramp']


class _ScaleGrad(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad * ctx.scale, None


def scale_grad(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Identity in the forward pass; multiplies the gradient by ``scale``.

    Args:
        x (Tensor): Any tensor.
        scale (float): Gradient factor (1 returns ``x`` itself).

    Returns:
        Tensor: ``x`` (same values).
    """
    if scale == 1.0:
        return x
    return _ScaleGrad.apply(x, float(scale))


def sigmoid_ramp(progress: float, steepness: float = 10.0) -> float:
    """A sigmoid-like rise from exactly 0 to exactly 1.

    ``progress`` in ``[0, 1]`` (share of training done) maps through a
    logistic curve centred at 0.5, rescaled so that the ends are 0 and 1.

    Args:
        progress (float): Share of training done (clipped to ``[0, 1]``).
        steepness (float): Slope of the logistic curve. Defaults to 10.

    Returns:
        float: beta in ``[0, 1]``.
    """
    p = min(max(float(progress), 0.0), 1.0)

    def logistic(v: float) -> float:
        return 1.0 / (1.0 + math.exp(-steepness * (v - 0.5)))

    low, high = logistic(0.0), logistic(1.0)
    return (logistic(p) - low) / (high - low)
