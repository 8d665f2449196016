# Copyright (c) rrgkit contributors. All rights reserved.
"""Tag classification with backbone + region proposer (ASGK stage 2)."""
from typing import List, Optional, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from rrgkit.models.utils.visual_features import pool_feature_map
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample

__all__ = ['TagClassifier']

ModuleCfg = Union[dict, nn.Module]


def _build(cfg: Optional[ModuleCfg]) -> Optional[nn.Module]:
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    return MODELS.build(cfg)


@MODELS.register_module()
class TagClassifier(BaseModel):
    """Train the visual branches on medical tags alone.

    ASGK pretrains its two DenseNets jointly on the tags (stage 2) before the
    whole network is trained. This model holds the same ``backbone`` and
    ``region_proposer`` attributes as :class:`ReportGenerator`, so its
    checkpoint loads into the report generator with ``load_from``. Its losses
    are the proposer's tag losses (focal or BCE on the global, region and
    fused branches).

    Args:
        backbone (dict | nn.Module): The global image encoder.
        region_proposer (dict | nn.Module): A proposer that returns tag
            losses, e.g. ``CAMThresholdProposer``.
        data_preprocessor (dict, optional): Defaults to
            ``ReportDataPreprocessor``.
        init_cfg (dict, optional): Defaults to None.
    """

    def __init__(self,
                 backbone: ModuleCfg,
                 region_proposer: ModuleCfg,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='ReportDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = _build(backbone)
        self.region_proposer = _build(region_proposer)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[ReportDataSample]] = None,
                mode: str = 'tensor'):
        """Dispatch to ``loss``, ``predict`` or the fused tag logits."""
        visual, losses = self._run(inputs, data_samples)
        if mode == 'loss':
            if not losses:
                raise ValueError('TagClassifier got no tag losses: the '
                                 'training data needs gt_tags.')
            return losses
        if mode == 'predict':
            return self._predict(visual, data_samples)
        if mode == 'tensor':
            return visual.extras['tag_logits']
        raise RuntimeError(f'Invalid mode "{mode}".')

    def _run(self, inputs, data_samples):
        num_views = inputs.shape[1] if inputs.dim() == 5 else 1
        images = inputs.flatten(0, 1) if inputs.dim() == 5 else inputs
        feats = self.backbone(images)
        feat_map = feats[-1] if isinstance(feats, (list, tuple)) else feats
        visual = pool_feature_map(feat_map, num_views)
        return self.region_proposer(inputs, visual, data_samples)

    @staticmethod
    def _predict(visual, data_samples) -> List[ReportDataSample]:
        probs = visual.extras['tag_logits'].detach().sigmoid()
        boxes = visual.extras.get('region_boxes')
        if data_samples is None:
            data_samples = [ReportDataSample() for _ in range(len(probs))]
        for i, sample in enumerate(data_samples):
            sample.pred_tags = probs[i]
            if boxes is not None:
                sample.pred_region_box = boxes[i].detach()
        return data_samples

