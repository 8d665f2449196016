# Copyright (c) rrgkit contributors. All rights reserved.
"""Config loading and error reporting shared by the command-line tools."""
import argparse
import os
import os.path as osp
import sys
from typing import Callable, Optional

from mmengine.config import Config, DictAction
from mmengine.utils import import_modules_from_strings

from .cached_features_cfg import apply_cached_features
from .config_check import check_config_types
from .dist import setup_distributed

__all__ = [
    'add_common_args', 'load_config', 'set_data_root', 'resolve_work_dir',
    'without_hook', 'user_message', 'run_cli'
]


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add the options tools/train.py and tools/test.py share.

    ``--work-dir``, ``--data-root``, ``--cfg-options``, ``--launcher`` and
    ``--local-rank`` (:func:`resolve_work_dir` exports it as ``LOCAL_RANK``
    when that is unset).

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    parser.add_argument('--work-dir', help='where to save logs and models')
    parser.add_argument(
        '--data-root',
        help="point the config's main dataset(s) at this folder (the "
        "data_root values equal to the config's top-level data_root)")
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_cfg.max_epochs=2')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def resolve_work_dir(cfg: Config, args: argparse.Namespace) -> None:
    """Set launcher and work dir: CLI > config > ``work_dirs/<config>``.

    A distributed launcher also gets rrgkit's runner and, on a CPU-only
    machine, the ``gloo`` backend and a CPU DDP wrapper (see
    :func:`rrgkit.utils.dist.setup_distributed`).

    Args:
        cfg (Config): Changed in place.
        args (argparse.Namespace): Parsed options with ``config``,
            ``work_dir``, ``launcher`` and ``local_rank``.
    """
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg.launcher = args.launcher
    setup_distributed(cfg)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])


def set_data_root(node, data_root: str, old: Optional[str] = None) -> int:
    """Replace ``data_root`` values in a config tree.

    Args:
        node: Config (sub)tree, changed in place.
        data_root (str): The new data root.
        old (str, optional): Replace only the values equal to this (the
            config's top-level ``data_root``), so other datasets (e.g. a
            textbook) keep theirs. None replaces every ``data_root``.

    Returns:
        int: How many ``data_root`` keys were replaced.
    """
    count = 0
    if isinstance(node, dict):
        for key in list(node.keys()):
            if key == 'data_root' and not isinstance(node[key], dict):
                if old is None or node[key] == old:
                    node[key] = data_root
                    count += 1
            else:
                count += set_data_root(node[key], data_root, old)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += set_data_root(value, data_root, old)
    return count


def load_config(path: str,
                cfg_options: Optional[dict] = None,
                data_root: Optional[str] = None) -> Config:
    """Load a config file, apply overrides and check component names.

    Args:
        path (str): Config file.
        cfg_options (dict, optional): ``--cfg-options`` overrides.
        data_root (str, optional): ``--data-root``: replaces the
            ``data_root`` of the datasets that use the config's top-level
            ``data_root`` (all of them when there is none).

    Returns:
        Config: The checked config.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Config file {path!r} does not exist.')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if data_root is not None and not cfg.get('stages'):
        # A pipeline passes --data-root on to each stage's config.
        old = cfg.get('data_root')
        old = old if isinstance(old, str) else None
        if set_data_root(cfg._cfg_dict, data_root, old) == 0:
            raise ValueError(f'--data-root given, but config {path} has no '
                             'data_root key to set.')
    # mmengine imports ``custom_imports`` only for classic (``_base_``)
    # configs; import them for pure-Python configs too (e.g. a plugin in
    # projects/), so that the names they register pass the check below.
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg['custom_imports'])
    apply_cached_features(cfg, path)
    check_config_types(cfg, path)
    model = cfg.get('model')
    if isinstance(model, dict) and model.get('decode_cfg') is not None:
        # Fail on a misspelt decoding option before any data is read.
        from rrgkit.models.utils.decoding import resolve_decode_cfg
        resolve_decode_cfg(model['decode_cfg'], warn=False,
                           beam_size=model.get('beam_size', 1))
    return cfg


def without_hook(cfg: Config, name: str) -> list:
    """``cfg.custom_hooks`` without the hooks of type ``name``.

    Args:
        cfg (Config): The config.
        name (str): Hook class name (string or class ``type`` both match).

    Returns:
        list: The remaining hook configs.
    """
    return [
        hook for hook in cfg.get('custom_hooks', [])
        if getattr(hook.get('type'), '__name__', hook.get('type')) != name
    ]


def _user_errors() -> tuple:
    from rrgkit.datasets.errors import DatasetError
    from rrgkit.engine.hooks import NonFiniteLossError
    from rrgkit.evaluation.rewards import RewardConfigError
    from rrgkit.models.generators.scst import SCSTConfigError
    from rrgkit.models.tokenizers import VocabularyMismatchError
    from rrgkit.models.utils.decoding import DecodingConfigError
    from rrgkit.models.utils.memory_bank import RetrievalBankError
    from rrgkit.utils.cached_features_cfg import CachedFeaturesConfigError
    from rrgkit.utils.checkpoint import CheckpointError
    from rrgkit.utils.config_check import UnknownComponentError
    return (DatasetError, CheckpointError, UnknownComponentError,
            VocabularyMismatchError, NonFiniteLossError, FileNotFoundError,
            DecodingConfigError, RetrievalBankError, RewardConfigError,
            SCSTConfigError, CachedFeaturesConfigError)


def user_message(err: BaseException) -> str:
    """The message of ``err`` without a DataLoader worker's traceback.

    An error raised in a DataLoader worker (e.g. a corrupt image) comes back
    re-raised with the worker's whole traceback in its message; keep only
    the original message, which names the file and what to do.

    Args:
        err (BaseException): The error.

    Returns:
        str: Its message.
    """
    msg = str(err)
    if msg.startswith('Caught ') and 'Original Traceback' in msg:
        name = f'{type(err).__module__}.{type(err).__qualname__}: '
        if name in msg:
            return msg.rsplit(name, 1)[1].rstrip()
    return msg


def run_cli(main: Callable[[], None]) -> None:
    """Run a tool's ``main``; print input errors without a traceback.

    Errors caused by the user's input (a bad dataset, checkpoint, config
    name or path) are printed as one clear message and exit with status 2.
    Set ``RRGKIT_TRACEBACK=1`` to see the full traceback.
    """
    errors = _user_errors()
    try:
        main()
    except errors as err:
        if os.environ.get('RRGKIT_TRACEBACK'):
            raise
        print(f'error: {user_message(err)}', file=sys.stderr)
        sys.exit(2)
