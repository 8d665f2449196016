# Copyright (c) rrgkit contributors. All rights reserved.
"""The embedded synthetic chest-CT dataset as a ``ReportDataset``."""
import json
from typing import Dict, Optional, Sequence

from rrgkit.registry import DATASETS
from .report_dataset import ReportDataset
from .synthetic import ensure_synthetic_ct

__all__ = ['SyntheticCTDataset']

_REPORT_KEYS = {'en': 'report', 'zh': 'report_zh'}


@DATASETS.register_module()
class SyntheticCTDataset(ReportDataset):
    """Procedural chest-CT slices with findings, tags, boxes and reports.

    The data is generated on first use into a cache folder
    (``$RRGKIT_CACHE`` or ``~/.cache/rrgkit``), keyed by the knobs, and then
    read like any R2Gen-style dataset. Every sample carries ``gt_label`` (the
    diagnostic conclusion), ``gt_tags`` (multi-hot) and ``gt_boxes`` (lesion
    boxes, ground truth that real datasets lack).

    Args:
        split (str): ``'train'``, ``'val'`` or ``'test'``. Defaults to
            ``'train'``.
        language (str): ``'en'`` or ``'zh'`` reports. Defaults to ``'en'``.
        num_images (int): Images over all splits. Defaults to 600.
        image_size (int): Side of the generated images. Defaults to 128.
        seed (int): Generator seed. Defaults to 0.
        normal_fraction (float): Share of images without findings.
            Defaults to 0.4.
        lesion_mix (dict, optional): Relative weight per finding type.
            Defaults to None (the generator's defaults).
        split_ratio (Sequence[float]): Train/val/test shares.
            Defaults to ``(0.8, 0.1, 0.1)``.
        cache_root (str, optional): Cache folder. Defaults to None.
        **kwargs: Passed to :class:`ReportDataset` (``pipeline``,
            ``test_mode`` ...).
    """

    def __init__(self,
                 split: str = 'train',
                 language: str = 'en',
                 num_images: int = 600,
                 image_size: int = 128,
                 seed: int = 0,
                 normal_fraction: float = 0.4,
                 lesion_mix: Optional[Dict[str, float]] = None,
                 split_ratio: Sequence[float] = (0.8, 0.1, 0.1),
                 cache_root: Optional[str] = None,
                 **kwargs) -> None:
        if language not in _REPORT_KEYS:
            raise ValueError(f"SyntheticCTDataset: language must be 'en' or "
                             f"'zh', got {language!r}")
        root = ensure_synthetic_ct(
            cache_root,
            num_images=num_images,
            image_size=image_size,
            seed=seed,
            normal_fraction=normal_fraction,
            lesion_mix=lesion_mix,
            split_ratio=tuple(split_ratio))
        with open(root / 'meta.json', encoding='utf-8') as f:
            meta = json.load(f)
        super().__init__(
            ann_file=str(root / 'annotation.json'),
            data_root='',
            data_prefix=dict(img_path=str(root / 'images')),
            split=split,
            report_key=_REPORT_KEYS[language],
            label_key='label',
            tags_key='tags',
            tag_names=meta['tag_names'],
            boxes_key='boxes',
            **kwargs)
