# Copyright (c) rrgkit contributors. All rights reserved.
"""Auxiliary attention sharpening (AAS) of MDNet (Zhang et al., CVPR 2017).

A global-average-pooling classifier on the image features ``C(I)`` (one
vector per spatial position) is trained on the diagnostic conclusion. Its
class weight ``w^c`` turns the features into a class map
``c = (w^c)^T C(I)`` (one value per position, a class activation map), which
the attention LSTM adds inside its attention:
``a_t = softmax(W_att tanh(W_h h_{t-1} + c))``. The class is the label during
training and the prediction otherwise.

The proposer also applies MDNet's joint optimisation (eq. 12): the image
features reach the diagnosis classifier through a gradient scale of
``1 - beta`` and the language model through ``beta * eta``, so the image
model's update is ``(1 - beta) dL_M + beta * eta * dL_L``. ``beta`` is set
during training by :class:`~rrgkit.engine.hooks.BetaScheduleHook`.
"""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from rrgkit.models.utils.grad_balance import scale_grad
from rrgkit.models.utils.visual_features import VisualFeatures
from rrgkit.registry import MODELS

__all__ = ['AASProposer']


@MODELS.register_module()
class AASProposer(BaseModule):
    """MDNet's diagnosis classifier and class map for attention sharpening.

    Args:
        in_channels (int): Channels of the image features (filled in by the
            generator when omitted).
        num_classes (int): Diagnostic conclusion classes.
        eta (float): Weight of the language loss in the image model's
            update (eq. 12). Defaults to 5.
        beta (float): Initial share of the language loss, 0 (diagnosis
            only) to 1. Defaults to 0; a schedule hook raises it.
        loss_weight (float): Weight of the diagnosis cross-entropy.
            Defaults to 1.
        normalize_map (bool): Standardise each image's class map to zero
            mean and unit variance over positions, so its scale does not
            drift with the classifier's weights (not in the paper).
            Defaults to True.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 eta: float = 5.0,
                 beta: float = 0.0,
                 loss_weight: float = 1.0,
                 normalize_map: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_classes < 2:
            raise ValueError(f'AASProposer: num_classes must be >= 2, got '
                             f'{num_classes}')
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f'AASProposer: beta must be in [0, 1], got {beta}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.eta = float(eta)
        self.beta = float(beta)
        self.loss_weight = loss_weight
        self.normalize_map = normalize_map
        self.classifier = nn.Linear(in_channels, num_classes)

    @property
    def out_channels(self) -> int:
        """Feature size handed on (unchanged)."""
        return self.in_channels

    def set_beta(self, beta: float) -> None:
        """Set the joint-optimisation share of the language loss."""
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f'beta must be in [0, 1], got {beta}')
        self.beta = float(beta)

    @staticmethod
    def _labels(data_samples: Optional[List],
                batch_size: int) -> Optional[torch.Tensor]:
        if not data_samples or not all('gt_label' in s for s in data_samples):
            return None
        if len(data_samples) != batch_size:
            raise ValueError(f'AASProposer: {len(data_samples)} data samples '
                             f'for a batch of {batch_size} images')
        return torch.stack([s.gt_label.reshape(()) for s in data_samples])

    def class_map(self, tokens: torch.Tensor,
                  classes: torch.Tensor) -> torch.Tensor:
        """``c = (w^c)^T C(I)`` for each image's class, ``(B, N)``."""
        weight = self.classifier.weight[classes]  # (B, D)
        cmap = torch.einsum('bnd,bd->bn', tokens, weight)
        if self.normalize_map:
            mean = cmap.mean(1, keepdim=True)
            std = cmap.std(1, keepdim=True, unbiased=False)
            cmap = (cmap - mean) / (std + 1e-5)
        return cmap

    def forward(
        self,
        inputs: torch.Tensor,
        visual: VisualFeatures,
        data_samples: Optional[List] = None
    ) -> Tuple[VisualFeatures, Dict[str, torch.Tensor]]:
        """Classify the study and compute the class map.

        Args:
            inputs (Tensor): The images (unused; the features suffice).
            visual (VisualFeatures): Backbone features (``tokens``).
            data_samples (list, optional): Samples with ``gt_label``; in
                training the map uses the label and the diagnosis loss is
                returned.

        Returns:
            tuple: ``VisualFeatures`` whose ``tokens``/``global_feat`` carry
            the language-branch gradient scale, with extras
            ``class_logits`` ``(B, num_classes)``, ``class_map`` ``(B, N)``
            and ``pred_label`` ``(B,)``; and ``{'loss_diagnosis': ...}``
            when labels are given.
        """
        tokens = visual.tokens
        if tokens.shape[-1] != self.in_channels:
            raise ValueError(
                f'AASProposer: features have {tokens.shape[-1]} channels but '
                f'in_channels={self.in_channels}; leave in_channels out of '
                'the config so the generator sets it from the backbone.')
        diag_tokens = scale_grad(tokens, 1.0 - self.beta)
        logits = self.classifier(diag_tokens.mean(1))
        pred = logits.argmax(1)
        labels = self._labels(data_samples, tokens.shape[0])
        if labels is not None:
            labels = labels.to(tokens.device)
            if labels.min() < 0 or labels.max() >= self.num_classes:
                raise ValueError(
                    f'AASProposer: gt_label values {labels.tolist()} outside '
                    f'0..{self.num_classes - 1}; set num_classes to the '
                    "dataset's number of conclusion classes.")
        use_labels = self.training and labels is not None
        classes = labels if use_labels else pred

        lang_scale = self.beta * self.eta
        lang_tokens = scale_grad(tokens, lang_scale)
        cmap = self.class_map(lang_tokens, classes)
        extras = dict(visual.extras)
        extras.update(class_logits=logits, class_map=cmap,
                      pred_label=pred.detach())
        out = visual.replace(
            tokens=lang_tokens,
            global_feat=scale_grad(visual.global_feat, lang_scale),
            feat_map=None if visual.feat_map is None else scale_grad(
                visual.feat_map, lang_scale),
            extras=extras)
        losses: Dict[str, torch.Tensor] = {}
        if labels is not None:
            losses['loss_diagnosis'] = self.loss_weight * F.cross_entropy(
                logits, labels)
        return out, losses

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, '
                f'num_classes={self.num_classes}, eta={self.eta}, '
                f'beta={self.beta}')
