# Copyright (c) rrgkit contributors. All rights reserved.
"""Supervised visual pretraining on the mined tags and the conclusion."""
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel

from rrgkit.models.utils.visual_features import pool_feature_map
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample

__all__ = ['FindingClassifier']

ModuleCfg = Union[dict, nn.Module]


@MODELS.register_module()
class FindingClassifier(BaseModel):
    """A backbone trained to predict the report's findings from the image.

    Two linear heads on the globally pooled feature: one logit per mined
    tag (multi-label, ``tag_loss``) and one per conclusion class (e.g.
    COVID / not, cross-entropy). Trained with strong augmentation, this is
    the supervised recipe that gives a report generator visual features
    with signal on a few hundred images (docs/visual_features.md). The
    ``backbone.*`` keys load into :class:`ReportGenerator` with
    ``load_from`` or a ``Pretrained`` ``init_cfg`` with
    ``prefix='backbone.'``.

    Args:
        backbone (dict | nn.Module): The image encoder.
        num_tags (int): Tags in the dataset's tag file; 0 for no tag head.
        num_classes (int): Conclusion classes; 0 for no label head.
            Defaults to 2.
        tag_loss (dict | nn.Module): Loss of the tag logits. Defaults to
            ``TagBCELoss``.
        label_loss_weight (float): Weight of the conclusion loss.
            Defaults to 1.0.
        dropout (float): Dropout on the pooled feature. Defaults to 0.
        data_preprocessor (dict, optional): Defaults to
            ``ReportDataPreprocessor``.
        init_cfg (dict, optional): Defaults to None.
    """

    def __init__(self,
                 backbone: ModuleCfg,
                 num_tags: int,
                 num_classes: int = 2,
                 tag_loss: ModuleCfg = dict(type='TagBCELoss'),
                 label_loss_weight: float = 1.0,
                 dropout: float = 0.0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='ReportDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if num_tags <= 0 and num_classes <= 0:
            raise ValueError('FindingClassifier needs num_tags > 0 or '
                             'num_classes > 0.')
        self.backbone = (backbone if isinstance(backbone, nn.Module) else
                         MODELS.build(backbone))
        channels = self._channels()
        self.dropout = nn.Dropout(dropout)
        self.tag_head = nn.Linear(channels, num_tags) if num_tags else None
        self.label_head = (nn.Linear(channels, num_classes)
                           if num_classes else None)
        self.tag_loss = (tag_loss if isinstance(tag_loss, nn.Module) else
                         MODELS.build(tag_loss))
        self.label_loss_weight = label_loss_weight

    @torch.no_grad()
    def _channels(self) -> int:
        was_training = self.backbone.training
        self.backbone.eval()
        feats = self.backbone(torch.zeros(1, 3, 64, 64))
        self.backbone.train(was_training)
        feat = feats[-1] if isinstance(feats, (list, tuple)) else feats
        return int(feat.shape[1])

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """Pooled ``(B, D)`` features of ``(B, C, H, W)`` or
        ``(B, V, C, H, W)`` inputs (views averaged)."""
        num_views = inputs.shape[1] if inputs.dim() == 5 else 1
        images = inputs.flatten(0, 1) if inputs.dim() == 5 else inputs
        feats = self.backbone(images)
        feat_map = feats[-1] if isinstance(feats, (list, tuple)) else feats
        return pool_feature_map(feat_map, num_views).global_feat

    def _heads(self, inputs: torch.Tensor) -> Dict[str, torch.Tensor]:
        feat = self.dropout(self.extract_feat(inputs))
        out = {}
        if self.tag_head is not None:
            out['tag_logits'] = self.tag_head(feat)
        if self.label_head is not None:
            out['label_logits'] = self.label_head(feat)
        return out

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[ReportDataSample]] = None,
                mode: str = 'tensor'):
        """Dispatch to ``loss``, ``predict`` or the pooled features."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def loss(self, inputs: torch.Tensor,
             data_samples: List[ReportDataSample]) -> Dict[str, torch.Tensor]:
        """Tag loss and conclusion cross-entropy, for the targets the
        samples have."""
        out = self._heads(inputs)
        losses = {}
        if 'tag_logits' in out and 'gt_tags' in data_samples[0]:
            tags = torch.stack([s.gt_tags for s in data_samples]).to(
                out['tag_logits'].device)
            losses['loss_tags'] = self.tag_loss(out['tag_logits'], tags)
        if 'label_logits' in out and 'gt_label' in data_samples[0]:
            labels = torch.stack([s.gt_label for s in data_samples]).to(
                out['label_logits'].device)
            losses['loss_label'] = self.label_loss_weight * F.cross_entropy(
                out['label_logits'], labels)
        if not losses:
            raise ValueError('FindingClassifier got no targets: the training '
                             'data needs tags (tags_file) or a label '
                             '(label_key).')
        return losses

    @torch.no_grad()
    def predict(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List[ReportDataSample]] = None
    ) -> List[ReportDataSample]:
        """Set ``pred_tags`` (probabilities), ``pred_label`` and
        ``pred_label_scores`` (class probabilities)."""
        out = self._heads(inputs)
        if data_samples is None:
            data_samples = [
                ReportDataSample() for _ in range(inputs.shape[0])
            ]
        tag_probs = out.get('tag_logits')
        label_probs = out.get('label_logits')
        if tag_probs is not None:
            tag_probs = tag_probs.sigmoid()
        if label_probs is not None:
            label_probs = label_probs.softmax(-1)
        for i, sample in enumerate(data_samples):
            if tag_probs is not None:
                sample.pred_tags = tag_probs[i]
            if label_probs is not None:
                sample.pred_label_scores = label_probs[i]
                sample.pred_label = label_probs[i].argmax()
        return data_samples
