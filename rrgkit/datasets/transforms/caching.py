# Copyright (c) rrgkit contributors. All rights reserved.
"""Cache the output of deterministic transforms (decode + resize)."""
import contextlib
import copy
import hashlib
import io
import json
import os
import os.path as osp
import zipfile
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform, Compose

from rrgkit.registry import TRANSFORMS
from rrgkit.utils.fileio import atomic_write

__all__ = [
    'CachedTransforms', 'cache_pipeline', 'default_transform_cache_dir',
    'transform_name', 'is_random_transform', 'find_random_transform',
    'pipeline_settings', 'entry_key', 'make_entry', 'apply_entry',
    'save_entry', 'load_entry'
]

#: Bump when the stored format or the key changes; old entries are ignored.
CACHE_VERSION = 1
#: Record keys that the cached transforms read besides the image files:
#: geometric annotations that mmcv's transforms update with the image.
DEFAULT_KEY_FIELDS = ('gt_boxes', 'gt_bboxes')
_META = '__meta__'
#: The wrapper's type in configs: a full path that mmengine imports and
#: that configs can print (a class object added after loading cannot be).
_TYPE = 'rrgkit.datasets.CachedTransforms'
_LOAD_ERRORS = (OSError, ValueError, KeyError, EOFError, TypeError,
                zipfile.BadZipFile)
#: Random transforms whose class name has no 'Random' in it (mmpretrain's).
_RANDOM_NAMES = ('RandAugment', 'AutoAugment', 'ColorJitter', 'GaussianBlur',
                 'Lighting', 'Albumentations')


def default_transform_cache_dir() -> str:
    """``$RRGKIT_CACHE/transforms``, or ``~/.cache/rrgkit/transforms``."""
    root = os.environ.get('RRGKIT_CACHE') or '~/.cache/rrgkit'
    return osp.join(osp.expanduser(root), 'transforms')


class _Unsupported(Exception):
    """A value the cache cannot store: the record is not cached."""


def _encode(value, arrays: List[np.ndarray]):
    """JSON-able form of ``value``; arrays go to ``arrays`` by index."""
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise _Unsupported(value.dtype)
        arrays.append(value)
        return {'a': len(arrays) - 1}
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, tuple):
        return {'t': [_encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {'d': {k: _encode(v, arrays) for k, v in value.items()}}
    raise _Unsupported(type(value))


def _decode(value, arrays: Sequence[np.ndarray]):
    if isinstance(value, dict):
        if 'a' in value:
            return arrays[value['a']]
        if 'd' in value:
            return {k: _decode(v, arrays) for k, v in value['d'].items()}
        return tuple(_decode(v, arrays) for v in value['t'])
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    return value


def _digest(value) -> str:
    """A stable hash of a key field's value (array, number, list...)."""
    h = hashlib.sha1()
    arrays: List[np.ndarray] = []
    try:
        h.update(json.dumps(_encode(value, arrays)).encode())
    except _Unsupported:
        h.update(repr(value).encode())
    for arr in arrays:
        arr = np.ascontiguousarray(arr)
        h.update(f'{arr.dtype.str}{arr.shape}'.encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def transform_name(t) -> str:
    """Class name of a transform config or object (module path dropped)."""
    kind = t.get('type', '') if isinstance(t, dict) else t
    if not isinstance(kind, str):
        kind = getattr(kind, '__name__', type(kind).__name__)
    return kind.rsplit('.', 1)[-1]  # 'mmcv.transforms.Resize' -> 'Resize'


def is_random_transform(t) -> bool:
    """Whether a transform draws random numbers (judged from its settings).

    Random: a class name containing 'Random' (mmcv's ``RandomFlip``,
    rrgkit's ``RandomAffineView``), one of mmpretrain's ``RandAugment``,
    ``AutoAugment``, ``ColorJitter``, ``GaussianBlur``, ``Lighting``,
    ``Albumentations``, or any transform with a non-zero ``prob``.
    """
    name = transform_name(t)
    if 'Random' in name or name in _RANDOM_NAMES:
        return True
    prob = t.get('prob') if isinstance(t, dict) else getattr(t, 'prob', None)
    return isinstance(prob, (int, float)) and prob > 0


def _inner_transforms(t) -> Sequence:
    if isinstance(t, dict):
        return t.get('transforms') or ()
    inner = getattr(t, 'pipeline', None) or t
    return getattr(inner, 'transforms', None) or ()


def find_random_transform(
        transforms: Sequence[Union[dict, Callable]]) -> Optional[str]:
    """Name of the first random transform, wrappers' inner ones included.

    Args:
        transforms (Sequence[dict | Callable]): Configs or objects.

    Returns:
        str | None: e.g. ``'RandomFlip'``, or None if all are deterministic.
    """
    for t in transforms:
        if is_random_transform(t):
            return transform_name(t)
        inner = find_random_transform(_inner_transforms(t))
        if inner is not None:
            return inner
    return None


def pipeline_settings(transforms: Sequence[Callable]) -> str:
    """What the cache key holds of built transforms: their ``repr`` (their
    settings) and the mmcv, OpenCV and cache-format versions."""
    return json.dumps([
        CACHE_VERSION, mmcv.__version__, cv2.__version__,
        [repr(t) for t in transforms]
    ])


def entry_key(results: dict, settings: str,
              key_fields: Sequence[str] = DEFAULT_KEY_FIELDS) -> Optional[str]:
    """Cache key of a record: image files, key fields and settings.

    Args:
        results (dict): The record (``img_path`` and the ``key_fields``).
        settings (str): :func:`pipeline_settings` of the cached transforms
            (plus anything else the entry depends on).
        key_fields (Sequence[str]): Record keys the transforms read.

    Returns:
        str | None: A hex digest of each image file's absolute path, size
        and modification time, the key fields' values and ``settings``;
        None when the record has no (readable) image path.
    """
    paths = results.get('img_path')
    if paths is None:
        return None
    paths = list(paths) if isinstance(paths, (list, tuple)) else [paths]
    files = []
    for path in paths:
        try:
            st = os.stat(path)
        except (OSError, TypeError, ValueError):
            return None  # let the transforms raise their own error
        files.append([osp.abspath(path), st.st_size, st.st_mtime_ns])
    fields = {
        k: _digest(results[k])
        for k in key_fields if results.get(k) is not None
    }
    text = json.dumps([settings, files, fields], sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()


def make_entry(key: str, results: dict,
               out: dict) -> Optional[Tuple[dict, List[np.ndarray]]]:
    """The entry that turns ``results`` into ``out`` (see apply_entry).

    Args:
        key (str): The entry's key, stored in it.
        results (dict): A record before the transforms.
        out (dict): The same record after them.

    Returns:
        tuple | None: ``(meta, arrays)``: the added or changed values
        (JSON, arrays by index) and the removed keys; None when a value
        cannot be stored (not an array, number, string, or a list, tuple
        or str-keyed dict of those).
    """
    changed = {
        k: v
        for k, v in out.items() if k not in results or v is not results[k]
    }
    removed = [k for k in results if k not in out]
    arrays: List[np.ndarray] = []
    try:
        values = {k: _encode(v, arrays) for k, v in changed.items()}
    except _Unsupported:
        return None
    meta = dict(key=key, values=values, removed=removed,
                num_arrays=len(arrays))
    return meta, arrays


def apply_entry(results: dict, meta: dict,
                arrays: Sequence[np.ndarray]) -> dict:
    """``results`` with an entry's removed keys dropped and values set."""
    out = {k: v for k, v in results.items() if k not in meta['removed']}
    out.update((k, _decode(v, arrays)) for k, v in meta['values'].items())
    return out


def save_entry(path: Union[str, Path], meta: dict,
               arrays: Sequence[np.ndarray]) -> None:
    """Write an entry as one ``.npz`` (arrays + JSON, no pickle), atomically.

    A read-only or full cache folder is not an error: nothing is written.
    """
    payload = {f'a{i}': arr for i, arr in enumerate(arrays)}
    payload[_META] = np.array(json.dumps(meta))
    buf = io.BytesIO()
    np.savez(buf, **payload)
    with contextlib.suppress(OSError):
        atomic_write(path, lambda f: f.write(buf.getbuffer()), durable=False)


def load_entry(path: Union[str, Path],
               key: str) -> Optional[Tuple[dict, List[np.ndarray]]]:
    """Read an entry written by :func:`save_entry`.

    Returns:
        tuple | None: ``(meta, arrays)``; None when the file is missing,
        cannot be read, or holds another key (it is then rebuilt).
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz[_META]))
            arrays = [npz[f'a{i}'] for i in range(meta['num_arrays'])]
        if meta.get('key') != key:
            raise ValueError('entry of another key')
    except _LOAD_ERRORS:
        return None
    return meta, arrays


@TRANSFORMS.register_module()
class CachedTransforms(BaseTransform):
    """Run deterministic transforms once per image and cache their output.

    Wrap the deterministic start of a pipeline (typically
    ``LoadReportImage`` + ``Resize``) so that later epochs, DataLoader
    workers and later runs reuse the decoded, resized image instead of
    decoding the file again::

        train_pipeline = [
            dict(type=CachedTransforms, transforms=[
                dict(type=LoadReportImage),
                dict(type=Resize, scale=(224, 224), keep_ratio=False)]),
            dict(type=PackReportInputs),
        ]

    What is stored is everything the inner transforms add, change or
    remove in ``results`` (the image, ``ori_shape``, ``img_shape``,
    ``scale_factor``, resized boxes, ...), so a hit gives exactly the
    results the transforms would give. The key is a hash of each image
    file's absolute path, size and modification time, of the values of
    ``key_fields`` in the record (boxes, which ``Resize`` rescales), of the
    inner transforms' ``repr`` (their settings), and of the mmcv, OpenCV
    and cache-format versions. Editing an image, a box or a setting thus
    makes a new entry; stale entries stay on disk until the folder is
    deleted.

    ``cache='disk'`` writes one ``.npz`` file per entry (arrays plus a
    JSON description, no pickle) under ``cache_dir``, written to a temp
    file and renamed, so DataLoader workers and later runs share entries
    and never see a half-written one; an entry that cannot be read (or
    holds another key) is rebuilt and rewritten. ``cache='memory'`` keeps
    entries in a dict of the process (each DataLoader worker has its own;
    use persistent workers).

    The inner transforms must be deterministic and depend only on the image
    file(s), the ``key_fields`` and their own settings; random transforms
    (:func:`is_random_transform`) are refused. Records holding a value the
    cache cannot store (other than arrays, numbers, strings and lists,
    tuples or str-keyed dicts of those) are passed through uncached.

    Args:
        transforms (Sequence[dict | Callable]): The deterministic
            transforms, built with rrgkit's TRANSFORMS registry.
        cache (str): 'disk' or 'memory'. Defaults to 'disk'.
        cache_dir (str, optional): Folder of the disk cache. Defaults to
            :func:`default_transform_cache_dir` (``$RRGKIT_CACHE/transforms``
            or ``~/.cache/rrgkit/transforms``).
        key_fields (Sequence[str]): Record keys, besides ``img_path``, that
            the transforms read. Defaults to ``('gt_boxes', 'gt_bboxes')``.
    """

    def __init__(self,
                 transforms: Sequence[Union[dict, Callable]],
                 cache: str = 'disk',
                 cache_dir: Optional[str] = None,
                 key_fields: Sequence[str] = DEFAULT_KEY_FIELDS) -> None:
        if cache not in ('disk', 'memory'):
            raise ValueError(f"cache must be 'disk' or 'memory', got "
                             f'{cache!r}.')
        built = [
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in transforms
        ]
        random = find_random_transform(built)
        if random is not None:
            raise ValueError(
                f'CachedTransforms caches deterministic transforms '
                f'only; move {random} after it.')
        self.pipeline = Compose(built)
        self.cache = cache
        self.cache_dir = Path(cache_dir or default_transform_cache_dir())
        self.key_fields = tuple(key_fields)
        self._settings = pipeline_settings(built)
        self._memory: Dict[str, Tuple[dict, List[np.ndarray]]] = {}

    # ------------------------------------------------------------------ key
    def cache_key(self, results: dict) -> Optional[str]:
        """The entry's key, or None when ``results`` has no image path."""
        return entry_key(results, self._settings, self.key_fields)

    def entry_path(self, key: str) -> Path:
        """Where the disk cache keeps the entry ``key``."""
        return self.cache_dir / key[:2] / f'{key}.npz'

    # ---------------------------------------------------------- store/load
    def _store(self, key: str, meta: dict, arrays: List[np.ndarray]) -> None:
        if self.cache == 'memory':  # copies: later transforms may edit ``out``
            self._memory[key] = (meta, [arr.copy() for arr in arrays])
            return
        save_entry(self.entry_path(key), meta, arrays)

    def _load(self, key: str) -> Optional[Tuple[dict, List[np.ndarray]]]:
        if self.cache == 'memory':
            entry = self._memory.get(key)
            if entry is None:
                return None
            return entry[0], [arr.copy() for arr in entry[1]]
        return load_entry(self.entry_path(key), key)  # None: rebuilt

    # ------------------------------------------------------------ transform
    def transform(self, results: dict) -> Optional[dict]:
        """Return the inner transforms' output, from the cache if there."""
        key = self.cache_key(results)
        if key is None:
            return self.pipeline(results)
        entry = self._load(key)
        if entry is not None:
            return apply_entry(results, *entry)
        out = self.pipeline(dict(results))
        if out is None:  # a transform dropped the sample: nothing to cache
            return None
        entry = make_entry(key, results, out)
        if entry is not None:  # else a value the cache cannot store
            self._store(key, *entry)
        return out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(transforms={self.pipeline}, '
                f'cache={self.cache!r}, cache_dir={str(self.cache_dir)!r})')


def cache_pipeline(pipeline: Sequence[Union[dict, Callable]],
                   cache: str = 'disk',
                   cache_dir: Optional[str] = None) -> list:
    """``pipeline`` with its deterministic start wrapped in a cache.

    The start is every transform before the first random one
    (:func:`is_random_transform`) or the packing one (``Pack...``), e.g.
    ``[LoadReportImage, Resize]`` of ``[LoadReportImage, Resize,
    PackReportInputs]``. For Python code that builds pipelines; a
    pure-Python config cannot call functions, so write the
    ``dict(type=CachedTransforms, transforms=[...])`` out there.

    Args:
        pipeline (Sequence[dict | Callable]): Transform configs or objects.
        cache (str): 'disk' or 'memory'. Defaults to 'disk'.
        cache_dir (str, optional): See :class:`CachedTransforms`.

    Returns:
        list: The new pipeline (``pipeline`` itself is not changed), whose
        first item is ``dict(type='rrgkit.datasets.CachedTransforms',
        transforms=[...], ...)``; a pipeline without such a start, or
        already cached, comes back as a copy of the list.
    """
    pipeline = list(pipeline)
    n = 0
    for t in pipeline:
        if is_random_transform(t) or transform_name(t).startswith(
                ('Pack', 'CachedTransforms')):
            break
        n += 1
    if n == 0:
        return pipeline
    wrapper = dict(
        type=_TYPE,
        transforms=[copy.deepcopy(t) if isinstance(t, dict) else t
                    for t in pipeline[:n]],
        cache=cache,
        cache_dir=cache_dir)
    return [wrapper] + pipeline[n:]
