# Copyright (c) rrgkit contributors. All rights reserved.
"""Generate the synthetic chest-CT report dataset, and cache it.

Every image ``i`` derives its own random streams from ``(seed, i)``, so an
image does not depend on generation order and the same knobs always give
the same pixels and a byte-identical ``annotation.json``.
"""
import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple, Union

import numpy as np
from PIL import Image

from rrgkit.utils.fileio import atomic_write_json

from .findings import (ABNORMAL_TAGS, FINDING_TYPES, LABEL_NAMES, NORMAL_TAGS,
                       TAG_NAMES, conclusion_label, findings_to_tags,
                       resolve_lesion_mix, sample_findings)
from .lesions import render_slice
from .phantom import Anatomy, sample_anatomy
from .reports import write_reports

__all__ = [
    'GENERATOR_VERSION', 'SyntheticCTConfig', 'SyntheticCase', 'render_case',
    'generate_synthetic_ct', 'ensure_synthetic_ct', 'default_cache_root'
]

#: Bump whenever the output for given knobs changes (it is in the cache key).
GENERATOR_VERSION = 'rrgkit-synth-ct-1.0'
_SPLITS = ('train', 'val', 'test')
_STALE_TEMP_S = 6 * 3600  # leftover temp folders older than this are removed
_AUTO_PROGRESS_MIN = 50


@dataclass
class SyntheticCTConfig:
    """Knobs of the synthetic chest-CT dataset.

    Args:
        num_images (int): Number of images. Defaults to 600.
        image_size (int): Side of the square images in pixels (32-1024).
            Defaults to 128.
        seed (int): Non-negative base seed. Defaults to 0.
        normal_fraction (float): Share of images without findings.
            Defaults to 0.4.
        lesion_mix (dict, optional): Relative weight per finding type (see
            ``FINDING_TYPES``); ``None`` uses the defaults. Defaults to None.
        split_ratio (tuple): Train/val/test shares (normalised). Defaults to
            ``(0.8, 0.1, 0.1)``.
    """
    num_images: int = 600
    image_size: int = 128
    seed: int = 0
    normal_fraction: float = 0.4
    lesion_mix: Optional[Dict[str, float]] = None
    split_ratio: Tuple[float, float, float] = (0.8, 0.1, 0.1)

    def __post_init__(self):
        for name in ('num_images', 'image_size', 'seed'):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(
                    value, (int, np.integer)):
                raise TypeError(f'SyntheticCTConfig.{name} must be an int, '
                                f'got {value!r}.')
            setattr(self, name, int(value))
        if self.num_images < 1:
            raise ValueError('num_images must be >= 1, got '
                             f'{self.num_images}.')
        if not 32 <= self.image_size <= 1024:
            raise ValueError('image_size must be between 32 and 1024 pixels, '
                             f'got {self.image_size}.')
        if self.seed < 0:
            raise ValueError(f'seed must be >= 0, got {self.seed}.')
        if not 0.0 <= float(self.normal_fraction) <= 1.0:
            raise ValueError('normal_fraction must be in [0, 1], got '
                             f'{self.normal_fraction}.')
        self.normal_fraction = float(self.normal_fraction)
        ratio = tuple(float(r) for r in self.split_ratio)
        if len(ratio) != 3 or min(ratio) < 0 or sum(ratio) <= 0:
            raise ValueError('split_ratio must be three non-negative numbers '
                             f'(train, val, test), got {self.split_ratio}.')
        self.split_ratio = ratio
        if self.lesion_mix is not None:
            resolve_lesion_mix(self.lesion_mix)  # validate early

    def to_dict(self) -> dict:
        """JSON-friendly knobs, with ``lesion_mix`` resolved."""
        knobs = dataclasses.asdict(self)
        knobs['lesion_mix'] = resolve_lesion_mix(self.lesion_mix)
        knobs['split_ratio'] = list(self.split_ratio)
        return knobs

    def cache_key(self) -> str:
        """Short hash of the knobs and :data:`GENERATOR_VERSION`."""
        text = json.dumps({'knobs': self.to_dict(),
                           'version': GENERATOR_VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]

    def split_counts(self) -> Dict[str, int]:
        """Images per split: val/test are rounded, train takes the rest."""
        total = sum(self.split_ratio)
        n_val = int(round(self.num_images * self.split_ratio[1] / total))
        n_test = int(round(self.num_images * self.split_ratio[2] / total))
        n_val = min(n_val, self.num_images)
        n_test = min(n_test, self.num_images - n_val)
        return {'train': self.num_images - n_val - n_test, 'val': n_val,
                'test': n_test}


@dataclass
class SyntheticCase:
    """One rendered image with its findings (boxes filled in)."""
    index: int
    image: np.ndarray
    findings: List[dict]
    anatomy: Anatomy


def _streams(seed: int, index: int) -> List[np.random.Generator]:
    # anatomy, findings, finding geometry, noise, text
    children = np.random.SeedSequence([seed, index]).spawn(5)
    return [np.random.default_rng(c) for c in children]


def render_case(cfg: SyntheticCTConfig, index: int,
                with_findings: bool = True) -> SyntheticCase:
    """Render image ``index`` of the dataset described by ``cfg``.

    Args:
        cfg (SyntheticCTConfig): The knobs.
        index (int): Image index in ``[0, cfg.num_images)``.
        with_findings (bool): False draws the same slice (same anatomy and
            noise) without its findings, e.g. to compare lesion boxes with
            normal tissue. Defaults to True.

    Returns:
        SyntheticCase: The uint8 image and the findings with ``boxes``.
    """
    anat_rng, find_rng, geom_rng, noise_rng, _ = _streams(cfg.seed, index)
    anatomy = sample_anatomy(anat_rng, cfg.image_size)
    findings = sample_findings(find_rng, cfg.normal_fraction,
                               resolve_lesion_mix(cfg.lesion_mix))
    drawn = findings if with_findings else []
    image, boxes = render_slice(anatomy, drawn, geom_rng, noise_rng)
    for finding, fboxes in zip(drawn, boxes):
        finding['boxes'] = fboxes
    return SyntheticCase(index, image, drawn, anatomy)


def _record(cfg: SyntheticCTConfig, case: SyntheticCase, split: str,
            id_width: int) -> dict:
    text_rng = _streams(cfg.seed, case.index)[4]
    label = conclusion_label(case.findings)
    report, report_zh = write_reports(case.findings, label, text_rng)
    sample_id = f'synth_{case.index:0{id_width}d}'
    boxes, box_tags = [], []
    for finding in case.findings:
        for box in finding['boxes']:
            boxes.append(box)
            box_tags.append(finding['type'])
    return {'id': sample_id, 'image_path': f'{sample_id}.png',
            'report': report, 'report_zh': report_zh, 'split': split,
            'label': label, 'tags': findings_to_tags(case.findings),
            'boxes': boxes, 'box_tags': box_tags, 'findings': case.findings}


def _assign_splits(cfg: SyntheticCTConfig) -> List[str]:
    counts = cfg.split_counts()
    order = np.random.default_rng(
        np.random.SeedSequence([cfg.seed, 2**32 - 1, 1])).permutation(
            cfg.num_images)
    names = np.empty(cfg.num_images, dtype=object)
    start = 0
    for split in _SPLITS:
        names[order[start:start + counts[split]]] = split
        start += counts[split]
    return list(names)


def _iterate(n: int, progress: bool):
    if not progress:
        yield from range(n)
        return
    from rich.progress import Progress
    with Progress(transient=True) as bar:
        task = bar.add_task(f'Generating {n} synthetic CT images', total=n)
        for i in range(n):
            yield i
            bar.advance(task)


def generate_synthetic_ct(out_dir: Union[str, Path],
                          cfg: Union[SyntheticCTConfig, Mapping, None] = None,
                          progress: bool = False) -> Path:
    """Write the dataset into ``out_dir`` (which must be new or empty).

    Writes ``images/<id>.png`` (8-bit gray), ``annotation.json``
    (``{"train": [...], "val": [...], "test": [...]}``) and, last,
    ``meta.json`` (tag vocabulary, label names, knobs, generator version),
    whose presence marks the folder complete.

    Args:
        out_dir (str | Path): Output folder.
        cfg (SyntheticCTConfig | Mapping, optional): Knobs; ``None`` uses
            the defaults. Defaults to None.
        progress (bool): Show a ``rich`` progress bar. Defaults to False.

    Returns:
        Path: ``out_dir``.

    Raises:
        FileExistsError: If ``out_dir`` exists and is not empty.
    """
    if cfg is None:
        cfg = SyntheticCTConfig()
    elif isinstance(cfg, Mapping):
        cfg = SyntheticCTConfig(**cfg)
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(
            f'Synthetic CT output folder {out_dir} is not empty; pass a new '
            'or empty folder, or use ensure_synthetic_ct() for a cached copy.')
    image_dir = out_dir / 'images'
    image_dir.mkdir(parents=True, exist_ok=True)
    splits = _assign_splits(cfg)
    id_width = max(5, len(str(cfg.num_images - 1)))
    annotation = {s: [] for s in _SPLITS}
    for index in _iterate(cfg.num_images, progress):
        case = render_case(cfg, index)
        record = _record(cfg, case, splits[index], id_width)
        Image.fromarray(case.image).save(image_dir / record['image_path'])
        annotation[record['split']].append(record)
    atomic_write_json(annotation, out_dir / 'annotation.json')
    meta = {
        'generator_version': GENERATOR_VERSION,
        'tag_names': list(TAG_NAMES),
        'abnormal_tags': list(ABNORMAL_TAGS),
        'normal_tags': list(NORMAL_TAGS),
        'finding_types': list(FINDING_TYPES),
        'label_names': list(LABEL_NAMES),
        'label_rule': ('1 (covid-like) when ground-glass opacity and/or '
                       'consolidation involve both lungs or are subpleural; '
                       'else 0'),
        'knobs': cfg.to_dict(),
        'split_counts': {s: len(v) for s, v in annotation.items()},
        'image_convention': ("radiological: patient's right lung on the "
                             'image left, anterior at the top'),
        'box_format': 'xyxy pixel edges: x1 <= x < x2, y1 <= y < y2',
    }
    atomic_write_json(meta, out_dir / 'meta.json')  # last: marks completion
    return out_dir


def default_cache_root() -> Path:
    """``$RRGKIT_CACHE`` if set, else ``~/.cache/rrgkit``."""
    root = os.environ.get('RRGKIT_CACHE') or '~/.cache/rrgkit'
    return Path(root).expanduser()


def _is_complete(folder: Path) -> bool:
    try:
        meta = json.loads((folder / 'meta.json').read_text(encoding='utf-8'))
    except (OSError, ValueError):
        return False
    return meta.get('generator_version') == GENERATOR_VERSION


def _remove_stale_temps(root: Path) -> None:
    now = time.time()
    for tmp in root.glob('.synth_ct_*.tmp-*'):
        try:
            newest = max(p.stat().st_mtime for p in (tmp, tmp / 'images')
                         if p.exists())
        except (OSError, ValueError):
            continue
        if now - newest > _STALE_TEMP_S:
            shutil.rmtree(tmp, ignore_errors=True)


def _move_into_place(tmp: Path, final: Path) -> None:
    """Rename ``tmp`` to ``final``; an incomplete ``final`` is replaced."""
    for _ in range(3):
        try:
            os.replace(tmp, final)  # fails if final is a non-empty folder
            return
        except OSError:
            if _is_complete(final):
                return  # another process finished first; keep theirs
        trash = final.with_name(f'.{final.name}.trash-{uuid.uuid4().hex}')
        try:
            os.replace(final, trash)  # set a broken folder aside
        except FileNotFoundError:
            pass
        shutil.rmtree(trash, ignore_errors=True)
    raise RuntimeError(f'Could not move the generated dataset {tmp} into '
                       f'place at {final}; remove {final} and try again.')


def ensure_synthetic_ct(cache_root: Union[str, Path, None] = None,
                        progress: Optional[bool] = None, **knobs) -> Path:
    """Return the cached dataset for ``knobs``, generating it on first use.

    The folder is ``cache_root / f'synth_ct_{key}'`` where ``key`` hashes
    the knobs and :data:`GENERATOR_VERSION`. A complete folder (valid
    ``meta.json``) is reused as is. Otherwise the dataset is generated into
    a temporary sibling folder and renamed into place, so a crash never
    leaves a half-written dataset, and a concurrent process that finished
    first wins.

    Args:
        cache_root (str | Path, optional): Cache folder. Defaults to
            ``$RRGKIT_CACHE`` or ``~/.cache/rrgkit``.
        progress (bool, optional): Show a progress bar; ``None`` shows one
            when generating 50 images or more. Defaults to None.
        **knobs: Fields of :class:`SyntheticCTConfig`.

    Returns:
        Path: The dataset folder.
    """
    fields = {f.name for f in dataclasses.fields(SyntheticCTConfig)}
    unknown = sorted(set(knobs) - fields)
    if unknown:
        raise TypeError(f'ensure_synthetic_ct got unknown knob(s) {unknown}; '
                        f'valid knobs: {sorted(fields)}.')
    cfg = SyntheticCTConfig(**knobs)
    root = (Path(cache_root).expanduser() if cache_root else
            default_cache_root())
    final = root / f'synth_ct_{cfg.cache_key()}'
    if _is_complete(final):
        return final
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(root)
    if progress is None:
        progress = cfg.num_images >= _AUTO_PROGRESS_MIN
    tmp = Path(tempfile.mkdtemp(prefix=f'.{final.name}.tmp-', dir=root))
    try:
        generate_synthetic_ct(tmp, cfg, progress=progress)
        _move_into_place(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final
