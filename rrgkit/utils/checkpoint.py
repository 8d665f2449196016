# Copyright (c) rrgkit contributors. All rights reserved.
"""Safe checkpoint loading under torch's ``weights_only=True`` default.

mmengine 0.10.7 loads local checkpoints with a bare ``torch.load``. Since
torch made ``weights_only=True`` the default, its own checkpoints (which pickle
a ``HistoryBuffer`` and a few numpy objects in ``message_hub``) are refused.
rrgkit keeps the safety check on and allows exactly the extra objects that
mmengine writes, only for the duration of one load.

Importing :mod:`rrgkit` replaces mmengine's local-file checkpoint loader with
:func:`load_from_local_safe`, so ``load_from``, ``--resume``, ``tools/test.py``
and inference all take this path; URLs (which mmengine reads with
``weights_only=False``) go through :func:`load_from_http_safe`. A checkpoint
that tries to run code when unpickled is refused with
:class:`UnsafeCheckpointError`; rrgkit never falls back to
``weights_only=False``.
"""
import builtins
import contextlib
import os
import os.path as osp
import pickle
from typing import Any, Dict, Optional
from urllib.parse import urlparse

import mmengine.runner.checkpoint as _mmengine_checkpoint
import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.optim.scheduler.param_scheduler import OneCycleParamScheduler
from mmengine.runner.checkpoint import CheckpointLoader

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct, scalar
except ImportError:  # pragma: no cover - numpy < 2
    from numpy.core.multiarray import _reconstruct, scalar

__all__ = [
    'MMENGINE_CKPT_GLOBALS', 'CheckpointError', 'UnsafeCheckpointError',
    'mmengine_checkpoint_globals', 'safe_load_checkpoint',
    'load_from_local_safe', 'load_from_http_safe'
]

#: The objects mmengine checkpoints contain besides tensors and builtins.
#: ``getattr`` is needed because ``HistoryBuffer.statistics_methods`` pickles
#: as ``getattr(HistoryBuffer, 'min')``; the weights-only unpickler still
#: refuses to *call* anything outside this list. The numpy dtype classes are
#: BUILD targets, which ``get_unsafe_globals_in_checkpoint`` does not report.
#: ``OneCycleParamScheduler`` (``OneCycleLR``) keeps its annealing function
#: in its state, pickled as ``getattr(OneCycleParamScheduler, '_annealing_*')``.
MMENGINE_CKPT_GLOBALS = [
    HistoryBuffer,
    OneCycleParamScheduler,
    builtins.getattr,
    np.ndarray,
    np.dtype,
    _reconstruct,
    scalar,
    type(np.dtype(np.float64)),
    type(np.dtype(np.float32)),
    type(np.dtype(np.int64)),
    type(np.dtype(np.int32)),
    type(np.dtype(np.bool_)),
    # Checkpoints written under numpy < 2 name the old module path.
    (_reconstruct, 'numpy.core.multiarray._reconstruct'),
    (scalar, 'numpy.core.multiarray.scalar'),
]


class CheckpointError(RuntimeError):
    """A checkpoint cannot be used with the current model or settings."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint holds objects that the safe unpickler refuses."""


def mmengine_checkpoint_globals() -> contextlib.AbstractContextManager:
    """Context in which ``torch.load`` accepts mmengine's checkpoint objects.

    Returns:
        A ``torch.serialization.safe_globals`` context manager.
    """
    return torch.serialization.safe_globals(MMENGINE_CKPT_GLOBALS)


def safe_load_checkpoint(filename: str,
                         map_location: Optional[Any] = 'cpu') -> Dict:
    """Load a checkpoint file with ``weights_only=True`` and the allowlist.

    Args:
        filename (str): Path of the checkpoint file.
        map_location (Any, optional): As for :func:`torch.load`.
            Defaults to ``'cpu'``.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: If the file does not exist.
        UnsafeCheckpointError: If unpickling would need objects outside the
            allowlist (for example a crafted file that tries to run code).
        CheckpointError: If the file is not a readable torch checkpoint.
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'Checkpoint {filename!r} does not exist. Check the path given '
            'to load_from / --resume / tools/test.py.')
    try:
        with mmengine_checkpoint_globals():
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        first_line = str(err).strip().splitlines()[-1] if str(err) else ''
        for line in str(err).splitlines():
            if 'GLOBAL' in line or 'Unsupported' in line:
                first_line = line.strip()
                break
        raise UnsafeCheckpointError(
            f'Refused to load checkpoint {filename!r}: it contains Python '
            f'objects outside rrgkit\'s allowlist ({first_line}). Loading it '
            'could execute code. rrgkit never disables this check; only use '
            'checkpoints written by rrgkit/mmengine, or convert third-party '
            'weights to a plain state_dict first.') from None
    except (RuntimeError, EOFError, OSError) as err:
        raise CheckpointError(
            f'Could not read checkpoint {filename!r}: {err}. The file may be '
            'truncated or not a torch checkpoint; re-save or re-download '
            'it.') from None


def load_from_local_safe(filename: str, map_location: Optional[Any] = None):
    """mmengine ``CheckpointLoader`` scheme for local files (see module doc).

    Args:
        filename (str): Path of the checkpoint file.
        map_location (Any, optional): As for :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.
    """
    return safe_load_checkpoint(filename, map_location)


# Replace mmengine's bare ``torch.load`` for local files (prefix '').
CheckpointLoader.register_scheme(
    prefixes='', loader=load_from_local_safe, force=True)


def load_from_http_safe(filename: str,
                        map_location: Optional[Any] = None,
                        model_dir: Optional[str] = None,
                        progress: bool = False) -> Dict:
    """mmengine scheme for ``http(s)://`` checkpoints, read safely.

    mmengine reads URLs with ``torch.hub.load_state_dict_from_url``, whose
    default is ``weights_only=False``. This downloads the file once into
    ``model_dir`` (default: ``<torch.hub.get_dir()>/checkpoints``, i.e.
    ``$TORCH_HOME/hub/checkpoints``; rank 0 first, the others wait) and reads
    it with :func:`safe_load_checkpoint`. ``torchvision://``,
    ``open-mmlab://`` and ``mmcls://`` names resolve to URLs read here too.

    Args:
        filename (str): The URL.
        map_location (Any, optional): As for :func:`torch.load`.
        model_dir (str, optional): Download cache folder. Defaults to None.
        progress (bool): Show a download progress bar. Defaults to False.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        CheckpointError: If the file is not cached and cannot be downloaded.
    """
    from mmengine.dist import barrier, get_dist_info
    if model_dir is None:
        model_dir = osp.join(torch.hub.get_dir(), 'checkpoints')
    cached = osp.join(model_dir, osp.basename(urlparse(filename).path))
    rank, world_size = get_dist_info()
    if rank == 0 and not osp.isfile(cached):
        os.makedirs(model_dir, exist_ok=True)
        try:
            torch.hub.download_url_to_file(filename, cached, progress=progress)
        except (OSError, ValueError) as err:  # URLError is an OSError
            raise CheckpointError(
                f'Could not download checkpoint {filename!r} ({err}). Without '
                f'network access, copy the file to {cached!r} (the download '
                'cache: $TORCH_HOME/hub/checkpoints) or give its local '
                'path instead of the URL.') from None
    if world_size > 1:
        barrier()
    return safe_load_checkpoint(cached, map_location)


CheckpointLoader.register_scheme(
    prefixes=('http://', 'https://'), loader=load_from_http_safe, force=True)
# mmengine's torchvision:// open-mmlab:// mmcls:// loaders call this by name.
_mmengine_checkpoint.load_from_http = load_from_http_safe


def _strip_prefix(state_dict: Dict, prefix: str = 'module.') -> Dict:
    if all(k.startswith(prefix) for k in state_dict):
        return {k[len(prefix):]: v for k, v in state_dict.items()}
    return state_dict


def check_checkpoint_fits_model(model: torch.nn.Module,
                                checkpoint: Dict,
                                source: str,
                                advice: Optional[str] = None) -> None:
    """Refuse a checkpoint that belongs to another model or vocabulary.

    mmengine loads state dicts non-strictly and only warns on shape
    mismatches, which turns a wrong checkpoint into silently wrong outputs.
    This check runs before loading and raises instead. A checkpoint that
    covers only part of the model (e.g. pretrained backbone weights) is fine.

    Args:
        model (nn.Module): The model about to receive the weights.
        checkpoint (dict): The loaded checkpoint (with ``state_dict``) or a
            bare state dict.
        source (str): Where it came from, for the error message.
        advice (str, optional): What to do, ending the error message.
            Defaults to advice for a whole trained model.

    Raises:
        CheckpointError: On shape mismatches or when no parameter matches.
        VocabularyMismatchError: When the stored vocabulary differs.
    """
    state = checkpoint.get('state_dict', checkpoint)
    state = _strip_prefix(dict(state))
    own = model.state_dict()
    trained_as = checkpoint.get('meta', {}).get('rrgkit', {}).get('model')
    hint = f' (it was saved from a {trained_as})' if trained_as else ''
    vocab = getattr(model, 'vocab', None)
    key = 'vocab._extra_state'
    if vocab is not None and key in state and hasattr(vocab, 'tokenizer'):
        vocab.tokenizer.check_compatible(state[key], source=source)
    common = [k for k in own if k in state]
    if not common:
        raise CheckpointError(
            f'Checkpoint {source} has no parameter of this '
            f'{type(model).__name__}{hint}: e.g. it has '
            f'{list(state)[:3]}, the model expects {list(own)[:3]}. ' +
            (advice or 'Use the config the checkpoint was trained with.'))
    bad = [(k, tuple(state[k].shape), tuple(own[k].shape)) for k in common
           if isinstance(own[k], torch.Tensor)
           and isinstance(state[k], torch.Tensor)
           and state[k].shape != own[k].shape]
    if bad:
        shown = '; '.join(f'{k}: checkpoint {a} vs model {b}'
                          for k, a, b in bad[:3])
        raise CheckpointError(
            f'Checkpoint {source} does not fit this {type(model).__name__}'
            f'{hint}: {len(bad)} parameter(s) have other shapes ({shown}). ' +
            (advice or 'It was trained with another architecture or '
             'vocabulary; use its own config, or drop those keys before '
             'loading.'))


__all__.append('check_checkpoint_fits_model')
