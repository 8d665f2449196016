# Copyright (c) rrgkit contributors. All rights reserved.
"""One config key that trains any report model on cached features.

A config (or ``--cfg-options``) with a top-level ``cached_features`` dict::

    cached_features = dict(
        checkpoint='checkpoints/densenet121_random_seed0.pth',
        prefix='',               # key prefix of its weights in the file
        out_channels=1024,       # channels of its last feature map
        image_size=224)          # optional: the Resize scale of every split

(plus, optionally, ``backbone``: the frozen backbone's config when it is
not the model's own ``model.backbone``) is rewritten by
:func:`apply_cached_features` when the config is loaded
(:func:`rrgkit.utils.setup_env.load_config`): every dataloader's dataset
gets ``feature_cache`` (the dict without ``out_channels`` and
``image_size``; see docs/feature_cache.md), the image resize of every
pipeline gets ``image_size``, in-memory image caching is dropped and the
model's backbone (a wrapper's ``generator``'s, as in SCST configs) becomes
``CachedFeatures(out_channels)``. Since
``--cfg-options`` can create nested keys, a benchmark turns it on for any
method without a config file of its own (``configs/benchmarks/``).
"""
import copy
from typing import List

__all__ = ['apply_cached_features', 'CachedFeaturesConfigError']

_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
_MODEL_KEYS = ('out_channels', 'image_size')


class CachedFeaturesConfigError(ValueError):
    """``cached_features`` cannot be applied to the config."""


def _resize_steps(pipeline: list) -> List[dict]:
    return [step for step in pipeline
            if isinstance(step, dict) and 'scale' in step]


def _backbone_holder(model):
    """The model dict with the backbone (a wrapper's ``generator``, e.g.
    ``SCSTGenerator``'s, when the model itself has none)."""
    while model is not None and 'backbone' not in model:
        model = model.get('generator')
    return model


def apply_cached_features(cfg, source: str = 'config') -> bool:
    """Rewrite ``cfg`` in place for its top-level ``cached_features``.

    Args:
        cfg (Config | dict): A loaded config.
        source (str): Its file, for messages. Defaults to 'config'.

    Returns:
        bool: Whether the config had (a non-empty) ``cached_features``.

    Raises:
        CachedFeaturesConfigError: A missing key or no dataloader.
    """
    spec = cfg.get('cached_features')
    if not spec:
        return False
    # deepcopy keeps a pure-Python config's lazy ``type`` objects intact
    # (dict() would resolve them into classes that cannot be dumped).
    spec = copy.deepcopy(spec)
    missing = [k for k in ('checkpoint', 'out_channels') if k not in spec]
    if missing:
        raise CachedFeaturesConfigError(
            f'{source}: cached_features has no {missing}; give them (e.g. '
            "cached_features.checkpoint=X.pth cached_features.out_channels"
            '=1024, docs/feature_cache.md).')
    cache = copy.deepcopy(spec)
    for key in _MODEL_KEYS:
        cache.pop(key, None)
    model = _backbone_holder(cfg['model'])
    if model is None:
        raise CachedFeaturesConfigError(
            f'{source}: cached_features is set but the model has no '
            'backbone to replace with CachedFeatures.')
    if 'backbone' not in cache:
        backbone = model.get('backbone')
        if not backbone or backbone.get('type') in ('CachedFeatures',):
            raise CachedFeaturesConfigError(
                f'{source}: cached_features has no backbone and the model '
                'has none to freeze; give cached_features.backbone.')
        cache['backbone'] = copy.deepcopy(backbone)
        # Recorded, so that a dumped config (the work dir's copy) loads
        # again to the same thing.
        cfg['cached_features']['backbone'] = copy.deepcopy(backbone)
    size = spec.get('image_size')
    loaders = [cfg[name] for name in _LOADERS if cfg.get(name)]
    if not loaders:
        raise CachedFeaturesConfigError(
            f'{source}: cached_features is set but the config has no '
            'dataloaders to cache the features of.')
    for loader in loaders:
        dataset = loader['dataset']
        dataset.pop('cache_images', None)  # the features replace images
        dataset['feature_cache'] = copy.deepcopy(cache)
        if size is not None:
            for step in _resize_steps(dataset.get('pipeline', [])):
                step['scale'] = (int(size), int(size))
    model['backbone'] = dict(type='CachedFeatures',
                             out_channels=int(spec['out_channels']))
    return True
