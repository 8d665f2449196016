# Copyright (c) rrgkit contributors. All rights reserved.
"""Visual features computed once by a frozen network, then read from disk.

Two halves of one format:

* :class:`FrozenFeatureExtractor` runs a frozen backbone (and, optionally, a
  frozen region proposer) on images and returns the arrays a dataset caches
  (:class:`rrgkit.datasets.transforms.LoadCachedFeatures`);
* :class:`CachedFeatures` stands in for the backbone of a
  :class:`~rrgkit.models.ReportGenerator` trained on them and turns the
  cached arrays of a batch back into :class:`VisualFeatures`.

The arrays of one study are a dict: ``{'feat_map': (C, h, w)}`` (or
``(V, C, h, w)`` for ``V`` views), the backbone's last feature map, pooled
when read as the image backbone's would be; or, with a region proposer,
the proposer's output ``{'visual.global_feat': (D,), 'visual.tokens': (N,
D), 'visual.feat_map': (D, h, w), 'visual.extras.<name>': ...}``.
"""
import inspect
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn

from rrgkit.models.utils.visual_features import (VisualFeatures,
                                                 pool_feature_map)
from rrgkit.registry import MODELS
from rrgkit.utils.checkpoint import CheckpointError
from rrgkit.utils.pretrained import load_pretrained

__all__ = [
    'CachedFeatures', 'FrozenFeatureExtractor', 'visual_to_arrays',
    'arrays_to_visual', 'check_image_inputs'
]

_EXTRAS = 'visual.extras.'


def _error(message: str) -> Exception:
    # A DatasetError, which the tools print as one line. Imported here:
    # rrgkit.datasets is not imported by rrgkit.models at import time.
    from rrgkit.datasets.errors import FeatureCacheError
    return FeatureCacheError(message)


def _last_map(feats) -> torch.Tensor:
    return feats[-1] if isinstance(feats, (list, tuple)) else feats


def visual_to_arrays(visual: VisualFeatures) -> Dict[str, torch.Tensor]:
    """The fields of a batch's ``visual`` as named batch-first tensors.

    Args:
        visual (VisualFeatures): A region proposer's output.

    Returns:
        dict[str, Tensor]: ``visual.global_feat``, ``visual.tokens``,
        ``visual.feat_map`` (when set) and ``visual.extras.<name>``.

    Raises:
        FeatureCacheError: If an extra is not a tensor with one row per
            study.
    """
    out = {
        'visual.global_feat': visual.global_feat,
        'visual.tokens': visual.tokens
    }
    if visual.feat_map is not None:
        out['visual.feat_map'] = visual.feat_map
    for name, value in visual.extras.items():
        if not (isinstance(value, torch.Tensor) and value.dim() > 0
                and value.shape[0] == visual.batch_size):
            raise _error(
                f'feature_cache: the region proposer\'s extras[{name!r}] is '
                'not a tensor with one row per image, so it cannot be '
                'cached; cache the backbone only (region_proposer=None).')
        out[_EXTRAS + name] = value
    return out


def arrays_to_visual(arrays: Dict[str, torch.Tensor]) -> VisualFeatures:
    """Inverse of :func:`visual_to_arrays` (a batch, floats as float32)."""
    arrays = {
        k: v.float() if v.is_floating_point() else v
        for k, v in arrays.items()
    }
    if 'feat_map' in arrays:
        maps = arrays['feat_map']
        if maps.dim() == 5:  # (B, V, C, h, w): views of a study adjacent
            return pool_feature_map(maps.flatten(0, 1), maps.shape[1])
        return pool_feature_map(maps, 1)
    extras = {
        k[len(_EXTRAS):]: v
        for k, v in arrays.items() if k.startswith(_EXTRAS)
    }
    return VisualFeatures(arrays['visual.global_feat'],
                          arrays['visual.tokens'],
                          arrays.get('visual.feat_map'), extras)


def _load_part(module: nn.Module, checkpoint: str, prefix: str, what: str,
               key: str) -> None:
    """Load every weight of ``module`` from ``checkpoint``'s ``prefix``."""
    try:
        missing, _ = load_pretrained(module, checkpoint, prefix or None)
    except CheckpointError as err:  # name this option, not init_cfg's
        raise CheckpointError(
            str(err).replace('init_cfg.prefix',
                             f'feature_cache.{key}')) from None
    if missing:
        raise CheckpointError(
            f'feature_cache.checkpoint {checkpoint!r} has no weights for '
            f'{len(missing)} tensor(s) of the {what} under {prefix!r} (e.g. '
            f'{missing[:3]}), so its features would depend on a random '
            f'initialisation; give the checkpoint the {what} was trained '
            f'with, or set feature_cache.{key}.')


class FrozenFeatureExtractor(nn.Module):
    """A backbone (+ region proposer) in eval mode, without gradients.

    Args:
        backbone (dict): Config of the image backbone.
        checkpoint (str): Checkpoint holding its weights: an mmengine
            checkpoint, a bare state dict, or torchvision/timm weights, read
            by :func:`rrgkit.utils.pretrained.load_pretrained` (the safe
            loader); every weight of the backbone must be in it.
        prefix (str): Key prefix of the backbone's weights in the
            checkpoint. Defaults to ``'backbone.'`` (a trained generator's);
            ``''`` for a bare backbone state dict.
        region_proposer (dict, optional): Config of a region proposer run
            after the backbone; ``in_channels`` is filled in from the
            backbone when left out. Defaults to None.
        proposer_prefix (str): Key prefix of its weights. Defaults to
            ``'region_proposer.'``.
        data_preprocessor (dict, optional): ``ReportDataPreprocessor``
            arguments (``mean``/``std``), as the model's. Defaults to None
            (ImageNet statistics).
    """

    def __init__(self,
                 backbone: dict,
                 checkpoint: str,
                 prefix: str = 'backbone.',
                 region_proposer: Optional[dict] = None,
                 proposer_prefix: str = 'region_proposer.',
                 data_preprocessor: Optional[dict] = None) -> None:
        super().__init__()
        self.backbone = MODELS.build(backbone)
        _load_part(self.backbone, checkpoint, prefix, 'backbone', 'prefix')
        self.backbone.eval()  # a sizing forward must not touch BN statistics
        self.region_proposer = None
        if region_proposer is not None:
            cfg = dict(region_proposer)
            kind = cfg['type']
            cls = MODELS.get(kind) if isinstance(kind, str) else kind
            if (cls is not None and cfg.get('in_channels') is None
                    and 'in_channels' in inspect.signature(cls).parameters):
                cfg['in_channels'] = self._backbone_channels()
            self.region_proposer = MODELS.build(cfg)
            _load_part(self.region_proposer, checkpoint, proposer_prefix,
                       'region proposer', 'proposer_prefix')
        preprocessor = dict(type='ReportDataPreprocessor')
        preprocessor.update(data_preprocessor or {})
        self.data_preprocessor = MODELS.build(preprocessor)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> 'FrozenFeatureExtractor':
        """Stay in eval mode: the features must not depend on the batch."""
        return super().train(False)

    @torch.no_grad()
    def _backbone_channels(self) -> int:
        feat_map = _last_map(self.backbone(torch.zeros(1, 3, 64, 64)))
        return int(feat_map.shape[1])

    @torch.no_grad()
    def forward(self,
                images: Sequence[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Features of a batch of packed images.

        Args:
            images (Sequence[Tensor]): uint8 ``(C, H, W)`` or ``(V, C, H,
                W)`` images of one size, as ``PackReportInputs`` packs them.

        Returns:
            dict[str, Tensor]: Batch-first arrays (see the module doc).
        """
        inputs = self.data_preprocessor(dict(inputs=list(images)))['inputs']
        multi_view = inputs.dim() == 5
        flat = inputs.flatten(0, 1) if multi_view else inputs
        feat_map = _last_map(self.backbone(flat))
        if self.region_proposer is None:
            if multi_view:
                feat_map = feat_map.unflatten(0, inputs.shape[:2])
            return {'feat_map': feat_map}
        visual = pool_feature_map(feat_map,
                                  inputs.shape[1] if multi_view else 1)
        visual, _ = self.region_proposer(inputs, visual, None)
        return visual_to_arrays(visual)


@MODELS.register_module()
class CachedFeatures(nn.Module):
    """Backbone stand-in of a generator trained on cached features.

    The dataset's ``feature_cache`` option packs each study's cached arrays
    instead of its image; this module turns a batch of them into
    :class:`VisualFeatures` (the backbone's feature map pooled as
    :func:`pool_feature_map` pools it, or a cached proposer's output as
    stored). It has no weights.

    Args:
        out_channels (int): Channels of the cached features (e.g. 1024 for
            DenseNet-121), which size the encoder and decoder.
    """

    def __init__(self, out_channels: int) -> None:
        super().__init__()
        self.out_channels = int(out_channels)

    def forward(self, inputs: Dict[str, torch.Tensor]) -> VisualFeatures:
        """Cached arrays of a batch -> visual features."""
        if not isinstance(inputs, dict):
            raise _error(
                'model.backbone is CachedFeatures but the batch holds images: '
                "set the dataset's feature_cache option (docs/"
                'feature_cache.md), or give model.backbone an image network.')
        visual = arrays_to_visual(inputs)
        channels = visual.global_feat.shape[-1]
        if channels != self.out_channels:
            raise _error(
                f'model.backbone.out_channels={self.out_channels} but the '
                f'cached features have {channels} channels; set '
                f'out_channels={channels}.')
        return visual

    def extra_repr(self) -> str:
        return f'out_channels={self.out_channels}'


def check_image_inputs(inputs, backbone: nn.Module) -> None:
    """Refuse cached features given to a generator with an image backbone."""
    if isinstance(inputs, dict):
        raise _error(
            'The batch holds cached features (the dataset\'s feature_cache) '
            f'but model.backbone is {type(backbone).__name__}; set '
            "model.backbone=dict(type='CachedFeatures', out_channels=...).")
