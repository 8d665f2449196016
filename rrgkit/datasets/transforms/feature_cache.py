# Copyright (c) rrgkit contributors. All rights reserved.
"""Cache a frozen backbone's feature maps on disk, one entry per image."""
import hashlib
import json
import os.path as osp
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform, Compose

from rrgkit.registry import TRANSFORMS
from ..errors import FeatureCacheError
from ..tags.annotate import file_sha256
from .caching import (DEFAULT_KEY_FIELDS, apply_entry,
                      default_transform_cache_dir, entry_key,
                      find_random_transform, load_entry, make_entry,
                      pipeline_settings, save_entry, transform_name)
from .formatting import PackReportInputs

__all__ = [
    'LoadCachedFeatures', 'feature_cache_pipeline',
    'default_feature_cache_dir', 'FEATURE_CACHE_OPTIONS'
]

#: Bump when the stored features or their key change.
FEATURE_CACHE_VERSION = 1
#: The keys of a dataset's ``feature_cache`` option.
FEATURE_CACHE_OPTIONS = ('backbone', 'checkpoint', 'prefix', 'region_proposer',
                         'proposer_prefix', 'data_preprocessor', 'dtype',
                         'batch_size', 'device', 'cache_dir')
_DTYPES = {'float16': np.float16, 'float32': np.float32}


def default_feature_cache_dir() -> str:
    """``$RRGKIT_CACHE/features``, or ``~/.cache/rrgkit/features``."""
    return osp.join(osp.dirname(default_transform_cache_dir()), 'features')


def _describe(cfg) -> str:
    """Stable text of a config (classes by their import path)."""

    def name(obj):
        if isinstance(obj, type):
            return f'{obj.__module__}.{obj.__qualname__}'
        return repr(obj)

    return json.dumps(cfg, sort_keys=True, default=name)


@TRANSFORMS.register_module()
class LoadCachedFeatures(BaseTransform):
    """Load a record's frozen-backbone features instead of its image.

    Takes the place of the deterministic start of a pipeline (image loading
    and resizing, ``transforms``): the start runs once per image, the
    frozen backbone (+ optional region proposer, see
    :class:`~rrgkit.models.backbones.cached_features.FrozenFeatureExtractor`)
    turns the image into features, and what the start gives besides the
    image (``ori_shape``, ``img_shape``, resized boxes ...) is stored with
    them, in one ``.npz`` entry per image. Later the record gets ``feats``
    (a dict of arrays, packed by ``PackReportInputs``) and those values, and
    no image is decoded. A generator reads them with
    ``backbone=dict(type='CachedFeatures', out_channels=...)``.

    Entries live in ``cache_dir/<model key>/``. The model key hashes the
    checkpoint file's bytes (SHA-256), the backbone and proposer configs,
    the prefixes, the normalisation, ``dtype`` and the torch version; the
    entry key is :class:`~rrgkit.datasets.CachedTransforms`'s (each image
    file's path, size and modification time, the record's boxes, the
    start's settings). A changed checkpoint, pipeline or image thus gets a
    new entry; stale ones stay until the folder is deleted. Entries are
    written atomically (a crash leaves none half-written); an unreadable
    one is recomputed.

    :meth:`fill` computes the missing entries of many records in batches
    (``ReportDataset(feature_cache=...)`` calls it in the main process when
    the dataset is built); a record still missing when loaded is computed
    alone. Random transforms cannot be cached and are refused.

    Args:
        transforms (Sequence[dict | Callable]): The deterministic start.
        backbone (dict): Config of the frozen image backbone.
        checkpoint (str): Its weights (mmengine checkpoint or state dict).
        prefix (str): Key prefix of the backbone's weights in
            ``checkpoint``. Defaults to ``'backbone.'``.
        region_proposer (dict, optional): A frozen region proposer run
            after the backbone (weights under ``proposer_prefix``).
            Defaults to None.
        proposer_prefix (str): Defaults to ``'region_proposer.'``.
        data_preprocessor (dict, optional): ``mean``/``std`` of the
            normalisation, as the model's. Defaults to None (ImageNet's).
        dtype (str): 'float16' (half the disk) or 'float32'.
            Defaults to 'float16'.
        batch_size (int): Images per backbone forward in :meth:`fill`.
            Defaults to 16.
        device (str, optional): Where features are computed. Defaults to
            None ('cuda' when available, else 'cpu').
        cache_dir (str, optional): Defaults to
            :func:`default_feature_cache_dir`.
        key_fields (Sequence[str]): Record keys the start reads besides the
            image files. Defaults to ``('gt_boxes', 'gt_bboxes')``.
    """

    def __init__(self,
                 transforms: Sequence[Union[dict, Callable]],
                 backbone: dict,
                 checkpoint: str,
                 prefix: str = 'backbone.',
                 region_proposer: Optional[dict] = None,
                 proposer_prefix: str = 'region_proposer.',
                 data_preprocessor: Optional[dict] = None,
                 dtype: str = 'float16',
                 batch_size: int = 16,
                 device: Optional[str] = None,
                 cache_dir: Optional[str] = None,
                 key_fields: Sequence[str] = DEFAULT_KEY_FIELDS) -> None:
        if dtype not in _DTYPES:
            raise FeatureCacheError(f'feature_cache.dtype must be one of '
                                    f'{sorted(_DTYPES)}, got {dtype!r}.')
        built = [
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in transforms
        ]
        _refuse_random(built)
        if not isinstance(checkpoint, str) or not osp.isfile(checkpoint):
            raise FileNotFoundError(
                f'feature_cache.checkpoint {checkpoint!r} does not exist; '
                "give the frozen backbone's checkpoint (a trained "
                "generator's .pth, or a backbone state dict with "
                "prefix='').")
        self.pipeline = Compose(built)
        self.model_cfg = dict(backbone=backbone,
                              checkpoint=checkpoint,
                              prefix=prefix,
                              region_proposer=region_proposer,
                              proposer_prefix=proposer_prefix,
                              data_preprocessor=data_preprocessor)
        described = {
            k: v
            for k, v in self.model_cfg.items() if k != 'checkpoint'
        }
        text = json.dumps([
            FEATURE_CACHE_VERSION, torch.__version__,
            file_sha256(checkpoint),
            _describe(described), dtype
        ])
        self.model_key = hashlib.sha1(text.encode()).hexdigest()
        self.cache_dir = Path(cache_dir or default_feature_cache_dir(),
                              self.model_key[:16])
        self.dtype = dtype
        self.batch_size = int(batch_size)
        self.device = device
        self.key_fields = tuple(key_fields)
        self._settings = pipeline_settings(built)
        self._extractor = None
        #: Images whose features this object computed (not read).
        self.num_computed = 0

    # ------------------------------------------------------------------ key
    def cache_key(self, results: dict) -> Optional[str]:
        """The entry's key, or None when ``results`` has no image file."""
        return entry_key(results, self._settings, self.key_fields)

    def entry_path(self, key: str) -> Path:
        """Where the entry ``key`` is kept."""
        return self.cache_dir / key[:2] / f'{key}.npz'

    # -------------------------------------------------------------- compute
    def _get_extractor(self):
        if self._extractor is None:
            from rrgkit.models.backbones.cached_features import \
                FrozenFeatureExtractor
            device = self.device or ('cuda'
                                     if torch.cuda.is_available() else 'cpu')
            self._extractor = FrozenFeatureExtractor(
                **self.model_cfg).to(device)
        return self._extractor

    def _compute(self, items: Sequence[Tuple[Optional[str],
                                             dict]]) -> List[dict]:
        """Run start + extractor on ``(key, record)`` items; store them."""
        outs = [self.pipeline(dict(rec)) for _, rec in items]
        if any(out is None for out in outs):
            raise FeatureCacheError(
                'feature_cache: a transform of the pipeline dropped a record;'
                ' only transforms that keep every record can be cached.')
        packer = PackReportInputs(meta_keys=())
        images = [packer.transform(out)['inputs'] for out in outs]
        arrays = {
            k: v.cpu().numpy()
            for k, v in self._get_extractor()(images).items()
        }
        results = []
        for i, ((key, rec), out) in enumerate(zip(items, outs)):
            out = {k: v for k, v in out.items() if k != 'img'}
            out['feats'] = {k: self._cast(v[i]) for k, v in arrays.items()}
            entry = None if key is None else make_entry(key, rec, out)
            if entry is None:  # no file to key, or a value not storable
                results.append(out)
                continue
            save_entry(self.entry_path(key), *entry)
            results.append(apply_entry(rec, *entry))  # exactly as a hit
        self.num_computed += len(items)
        return results

    def _cast(self, arr: np.ndarray) -> np.ndarray:
        if np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(_DTYPES[self.dtype])
        return np.ascontiguousarray(arr)

    def fill(self, records: Sequence[dict]) -> int:
        """Compute the entries of ``records`` that are not cached yet.

        Args:
            records (Sequence[dict]): Records as the dataset gives them to
                its pipeline (``img_path``, boxes ...).

        Returns:
            int: How many images were computed (0 when all were cached).
        """
        todo = {}
        for rec in records:
            key = self.cache_key(rec)
            if (key is not None and key not in todo
                    and load_entry(self.entry_path(key), key) is None):
                todo[key] = rec
        items = list(todo.items())
        for start in range(0, len(items), self.batch_size):
            self._compute(items[start:start + self.batch_size])
        self._extractor = None  # not copied into DataLoader workers
        return len(items)

    # ------------------------------------------------------------ transform
    def transform(self, results: dict) -> dict:
        """Return ``results`` with ``feats`` and the start's other values."""
        key = self.cache_key(results)
        entry = None if key is None else load_entry(self.entry_path(key), key)
        if entry is None:
            return self._compute([(key, results)])[0]
        return apply_entry(results, *entry)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state['_extractor'] = None  # rebuilt where needed
        return state

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(transforms={self.pipeline}, '
                f'backbone={self.model_cfg["backbone"]}, '
                f'checkpoint={self.model_cfg["checkpoint"]!r}, '
                f'dtype={self.dtype!r}, cache_dir={str(self.cache_dir)!r})')


def _refuse_random(transforms: Sequence) -> None:
    random = find_random_transform(transforms)
    if random is not None:
        raise FeatureCacheError(
            f'feature_cache: {random} in the pipeline is a random '
            'augmentation, but cached features are computed once per image; '
            f'remove {random} from the pipeline, or the feature_cache '
            'option.')


def feature_cache_pipeline(
        pipeline: Sequence[Union[dict, Callable]],
        feature_cache: dict) -> Tuple[LoadCachedFeatures, list]:
    """``pipeline`` with its start replaced by a :class:`LoadCachedFeatures`.

    The start is everything before the packing transform (``Pack...``);
    no transform of the pipeline may be random.

    Args:
        pipeline (Sequence[dict | Callable]): Transform configs or objects.
        feature_cache (dict): The :class:`LoadCachedFeatures` arguments
            other than ``transforms`` (keys :data:`FEATURE_CACHE_OPTIONS`).

    Returns:
        tuple: The loader and the new pipeline (``[loader, Pack..., ...]``).

    Raises:
        FeatureCacheError: On unknown or missing keys, a random transform,
            or a pipeline without a start and a packing transform.
    """
    options = dict(feature_cache)
    unknown = sorted(set(options) - set(FEATURE_CACHE_OPTIONS))
    if unknown:
        raise FeatureCacheError(
            f'feature_cache has unknown key(s) {unknown}; the keys are '
            f'{list(FEATURE_CACHE_OPTIONS)}.')
    for key, what in (('backbone', "the frozen backbone's config"),
                      ('checkpoint', 'its weights')):
        if options.get(key) is None:
            raise FeatureCacheError(
                f'feature_cache needs {key!r} ({what}); see '
                'docs/feature_cache.md.')
    pipeline = list(pipeline)
    _refuse_random(pipeline)
    names = [transform_name(t) for t in pipeline]
    n = next((i for i, name in enumerate(names) if name.startswith('Pack')), 0)
    if n == 0:
        raise FeatureCacheError(
            'feature_cache needs a pipeline of image loading and resizing '
            f'transforms followed by PackReportInputs; got {names}.')
    loader = LoadCachedFeatures(transforms=pipeline[:n], **options)
    return loader, [loader] + pipeline[n:]
