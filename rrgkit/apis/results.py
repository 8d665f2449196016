# Copyright (c) rrgkit contributors. All rights reserved.
"""Recorded results: what ``tools/test.py --record`` keeps of an evaluation.

A record is a small JSON file committed under ``docs/results/``: the scores,
how they were computed (split, evaluation tokenization, number of images),
which config and checkpoint produced them (paths relative to the repository)
and the command that did. The docs' tables are generated from records only
(``tools/gen_docs_tables.py``), never typed by hand.
"""
import hashlib
import json
import os
import os.path as osp
import re
import shlex
import subprocess
from typing import Any, Dict, List, Mapping, Optional

from rrgkit.utils.fileio import atomic_write_json

__all__ = ['RECORD_FORMAT', 'RecordError', 'make_record', 'write_record',
           'load_record', 'repo_root', 'run_signature', 'config_hash',
           'dataset_hash']

# Keys that differ between runs of the same experiment, left out of hashes.
_RUN_KEYS = ('work_dir', 'load_from', 'resume', 'experiment_name',
             'launcher', 'randomness', 'filename')

RECORD_FORMAT = 'rrgkit-result/1'
_EPOCH = re.compile(r'epoch_(\d+)\.pth$')
_ITER = re.compile(r'iter_(\d+)\.pth$')


class RecordError(ValueError):
    """A result record that cannot be read or is incomplete."""


def repo_root() -> str:
    """The repository root (the folder holding ``rrgkit/``)."""
    return osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _relative(path: str, root: str) -> str:
    path = osp.abspath(path)
    rel = osp.relpath(path, root)
    return path if rel.startswith('..') else rel.replace(os.sep, '/')


def _versions() -> Dict[str, str]:
    import mmengine
    import torch

    import rrgkit
    return dict(rrgkit=rrgkit.__version__, torch=torch.__version__,
                mmengine=mmengine.__version__)


def _git_commit(root: str) -> Optional[str]:
    try:
        out = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=root,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def _digest(obj: Any) -> str:
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode('utf-8')).hexdigest()[:16]


def config_hash(cfg: Mapping) -> str:
    """Hash of a config without its run-specific keys (work dir, seed...)."""
    data = cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)
    return _digest({k: v for k, v in data.items() if k not in _RUN_KEYS})


def dataset_hash(dataset) -> str:
    """Hash of a split's image ids and reports, in order."""
    items = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        items.append([str(info.get('img_id')), info.get('report'),
                      info.get('references')])
    return _digest(items)


def run_signature(runner) -> Dict[str, Any]:
    """What makes an evaluation comparable, read off a test runner.

    ``data_hash`` (the evaluated split), ``vocab_hash`` (the model's
    tokenizer), ``config_hash`` (the config without run-specific keys) and
    ``seed``.
    """
    model = getattr(runner.model, 'module', runner.model)
    tokenizer = getattr(model, 'tokenizer', None)
    seed = (runner.cfg.get('randomness') or {}).get('seed')
    return dict(
        data_hash=dataset_hash(runner.test_dataloader.dataset),
        vocab_hash=getattr(tokenizer, 'vocab_hash', None),
        config_hash=config_hash(runner.cfg),
        seed=seed)


def make_record(summary: Dict[str, Any], argv: List[str],
                root: Optional[str] = None) -> Dict[str, Any]:
    """Build a record from the summary ``tools/test.py`` writes.

    Args:
        summary (dict): ``config``, ``checkpoint`` (None for a method
            without training), ``split``, ``metrics``, ``signature`` as in
            ``metrics.json``.
        argv (list[str]): The command line that produced it (for the docs).
        root (str, optional): Repository root for relative paths.

    Returns:
        dict: The record.
    """
    root = root or repo_root()
    ckpt = summary.get('checkpoint')
    selected = None  # a method without training (a sanity baseline)
    if ckpt:
        name = osp.basename(ckpt)
        epoch = _EPOCH.search(name)
        step = _ITER.search(name)
        selected = dict(file=name,
                        on_val=name.startswith('best_'),
                        epoch=int(epoch.group(1)) if epoch else None,
                        iteration=int(step.group(1)) if step else None)
    return {
        'format': RECORD_FORMAT,
        'config': _relative(summary['config'], root),
        'checkpoint': _relative(ckpt, root) if ckpt else None,
        'selected': selected,
        'split': summary['split'],
        'metrics': {k: float(v) for k, v in sorted(summary['metrics'].items())},
        'signature': summary.get('signature', {}),
        'command': ' '.join(shlex.quote(a) for a in argv),
        'versions': _versions(),
        'commit': _git_commit(root),
    }


def write_record(record: Dict[str, Any], path: str) -> str:
    """Write a record atomically (a crash leaves no half-written file)."""
    return atomic_write_json(record, path)


def load_record(path: str) -> Dict[str, Any]:
    """Read and check a record.

    Raises:
        RecordError: Missing file, bad JSON or a record without scores.
    """
    if not osp.isfile(path):
        raise RecordError(f'No result record at {path}: run the command the '
                          'docs give for it with `tools/test.py ... --record '
                          f'{path}`.')
    try:
        with open(path, encoding='utf-8') as f:
            record = json.load(f)
    except json.JSONDecodeError as err:
        raise RecordError(f'{path} is not valid JSON ({err}); re-record it '
                          'with tools/test.py --record.') from None
    if not isinstance(record, dict) or record.get('format') != RECORD_FORMAT:
        raise RecordError(f'{path} is not an rrgkit result record (expected '
                          f'"format": "{RECORD_FORMAT}").')
    for key in ('metrics', 'split', 'config'):
        if key not in record:
            raise RecordError(f'{path} has no {key!r}; re-record it with '
                              'tools/test.py --record.')
    return record
