# Copyright (c) rrgkit contributors. All rights reserved.
"""Apply single-image transforms to every view of a multi-view record."""
from typing import Callable, List, Optional, Sequence, Union

from mmcv.transforms import BaseTransform, Compose

from rrgkit.registry import TRANSFORMS

__all__ = ['EachView']

#: Keys that hold one value per view when ``results['img']`` is a list.
DEFAULT_VIEW_KEYS = ('img', 'img_path', 'ori_shape', 'img_shape', 'scale',
                     'scale_factor', 'keep_ratio', 'pad_shape', 'flip',
                     'flip_direction')


@TRANSFORMS.register_module()
class EachView(BaseTransform):
    """Run a pipeline on each view of a record, or on its single image.

    When ``results['img']`` is a list, every view gets its own copy of
    ``results`` in which the per-view keys (``view_keys``: ``img``,
    ``img_path``, ``ori_shape``, ``img_shape``, ``scale_factor``, ...) hold
    that view's value; the other keys are shared. Afterwards each per-view
    key, and each key the pipeline added or replaced, becomes a list over
    the views. Random transforms draw independently for each view. When
    ``results['img']`` is a single array the pipeline runs on it directly,
    so the same config serves single- and multi-view datasets.

    Example:
        >>> dict(type='EachView', transforms=[
        ...     dict(type='Resize', scale=(224, 224), keep_ratio=False)])

    Args:
        transforms (Sequence[dict | Callable]): The inner pipeline, built
            with rrgkit's TRANSFORMS registry (mmcv and mmpretrain names
            work too).
        view_keys (Sequence[str], optional): Keys scattered per view.
            Defaults to :data:`DEFAULT_VIEW_KEYS`.
    """

    def __init__(self,
                 transforms: Sequence[Union[dict, Callable]],
                 view_keys: Optional[Sequence[str]] = None) -> None:
        self.pipeline = Compose([
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in transforms
        ])
        self.view_keys = tuple(DEFAULT_VIEW_KEYS if view_keys is
                               None else view_keys)

    def transform(self, results: dict) -> Optional[dict]:
        """Apply the pipeline per view (``img`` list) or once (array)."""
        views = results.get('img')
        if not isinstance(views, list):
            return self.pipeline(results)
        n = len(views)
        scattered = {
            k: results[k]
            for k in self.view_keys
            if isinstance(results.get(k), list) and len(results[k]) == n
        }
        outputs: List[dict] = []
        for i in range(n):
            view = dict(results)
            view.update({k: v[i] for k, v in scattered.items()})
            out = self.pipeline(view)
            if out is None:  # a transform dropped the sample
                return None
            outputs.append(out)
        keys = {k for out in outputs for k in out}
        merged = {k: v for k, v in results.items() if k in keys}
        for key in keys:
            values = [out.get(key) for out in outputs]
            changed = any(key not in results or v is not results[key]
                          for v in values)
            if key in scattered or key in self.view_keys or changed:
                merged[key] = values
        return merged

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(transforms={self.pipeline})'
