# Copyright (c) rrgkit contributors. All rights reserved.
"""Pack a loaded record into model inputs and a ReportDataSample."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from rrgkit.registry import TRANSFORMS
from rrgkit.structures import ReportDataSample
from ..errors import DatasetError

__all__ = ['PackReportInputs']


def _to_chw(img: np.ndarray) -> torch.Tensor:
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3:
        raise DatasetError(f'Expected an HxW or HxWxC image, got shape '
                           f'{img.shape}.')
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


@TRANSFORMS.register_module()
class PackReportInputs(BaseTransform):
    """Pack ``img`` and the annotations into ``inputs`` and a data sample.

    ``inputs`` is a ``(C, H, W)`` tensor for one image or ``(V, C, H, W)``
    for a list of views (which must share one size: resize them with
    ``EachView``). The dtype follows the image (uint8 unless
    ``LoadReportImage(to_float32=True)``); normalisation is left to the
    model's data preprocessor. A record with cached features (``feats``,
    from ``LoadCachedFeatures``) packs them instead, as a dict of tensors.

    The data sample (:class:`ReportDataSample`) gets the meta keys that are
    present and the fields: ``gt_report`` (from ``report``), ``gt_reports``
    (a list of references, from ``gt_reports`` or else ``references``),
    ``gt_descriptions`` (from ``descriptions``), ``gt_conclusion`` (from
    ``conclusion``), ``gt_label``, ``gt_tags`` and ``gt_boxes``; each only
    when present.
    Boxes are read from ``gt_bboxes`` (where ``LoadReportImage`` puts them
    and where mmcv's ``Resize``/``Pad``/``CenterCrop``/``RandomFlip`` keep
    them in the packed image's pixels), else from ``gt_boxes`` rescaled by
    mmcv's ``scale_factor`` ``(w_scale, h_scale)`` when there is one.

    Args:
        meta_keys (Sequence[str]): Keys copied into the sample's metainfo.
            Defaults to ``('img_id', 'img_path', 'ori_shape', 'img_shape')``.
    """

    def __init__(
        self,
        meta_keys: Sequence[str] = ('img_id', 'img_path', 'ori_shape',
                                    'img_shape')
    ) -> None:
        self.meta_keys = tuple(meta_keys)

    @staticmethod
    def _pack_img(results: dict) -> torch.Tensor:
        img = results['img']
        if not isinstance(img, (list, tuple)):
            return _to_chw(img)
        views = [_to_chw(v) for v in img]
        shapes = {tuple(v.shape) for v in views}
        if len(shapes) > 1:
            raise DatasetError(
                f'Views of {results.get("img_path")!r} have different sizes '
                f'{[tuple(v.shape) for v in views]} (C, H, W); resize them '
                "to one size first, e.g. dict(type='EachView', transforms="
                "[dict(type='Resize', scale=(224, 224), keep_ratio=False)]).")
        return torch.stack(views)

    @staticmethod
    def _boxes(results: dict):
        if results.get('gt_bboxes') is not None:
            boxes = np.asarray(results['gt_bboxes'], dtype=np.float32)
        elif results.get('gt_boxes') is not None:
            boxes = np.asarray(results['gt_boxes'], dtype=np.float32)
            factor = results.get('scale_factor')
            if factor is not None:
                boxes = boxes * np.tile(np.asarray(factor, dtype=np.float32),
                                        2)
        else:
            return None
        if isinstance(results.get('img'), (list, tuple)):
            raise DatasetError(
                f'{results.get("img_path")!r}: boxes are only supported for '
                'single-image records.')
        return boxes.reshape(-1, 4)

    def transform(self, results: dict) -> dict:
        """Return ``{'inputs': tensor (or dict), 'data_samples': sample}``."""
        if 'feats' in results:  # LoadCachedFeatures
            inputs = {k: torch.from_numpy(v)
                      for k, v in results['feats'].items()}
        elif 'img' not in results:
            raise DatasetError(
                "PackReportInputs needs results['img']; put LoadReportImage "
                'before it in the pipeline.')
        else:
            inputs = self._pack_img(results)
        sample = ReportDataSample()
        sample.set_metainfo(
            {k: results[k]
             for k in self.meta_keys if k in results})
        if results.get('report') is not None:
            sample.set_gt_report(results['report'])
        refs = results.get('gt_reports')
        if refs is None:
            refs = results.get('references')
        if refs is not None:
            sample.set_gt_reports(refs)
        if results.get('descriptions') is not None:
            sample.set_gt_descriptions(results['descriptions'])
        if results.get('conclusion') is not None:
            sample.set_gt_conclusion(results['conclusion'])
        if results.get('gt_label') is not None:
            sample.set_gt_label(results['gt_label'])
        if results.get('gt_tags') is not None:
            sample.set_gt_tags(results['gt_tags'])
        boxes = self._boxes(results)
        if boxes is not None:
            sample.set_gt_boxes(boxes)
        return {'inputs': inputs, 'data_samples': sample}

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
