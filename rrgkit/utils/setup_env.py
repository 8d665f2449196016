# Copyright (c) rrgkit contributors. All rights reserved.
"""Config loading and error reporting shared by the command-line tools."""
import os.path as osp
import sys
from typing import Callable, Optional

from mmengine.config import Config

from .config_check import check_config_types

__all__ = ['load_config', 'set_data_root', 'run_cli', 'USER_ERRORS']


def set_data_root(node, data_root: str) -> int:
    """Replace every ``data_root`` value in a config tree.

    Args:
        node: Config (sub)tree, changed in place.
        data_root (str): The new data root.

    Returns:
        int: How many ``data_root`` keys were replaced.
    """
    count = 0
    if isinstance(node, dict):
        for key in list(node.keys()):
            if key == 'data_root':
                node[key] = data_root
                count += 1
            else:
                count += set_data_root(node[key], data_root)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += set_data_root(value, data_root)
    return count


def load_config(path: str,
                cfg_options: Optional[dict] = None,
                data_root: Optional[str] = None) -> Config:
    """Load a config file, apply overrides and check component names.

    Args:
        path (str): Config file.
        cfg_options (dict, optional): ``--cfg-options`` overrides.
        data_root (str, optional): ``--data-root`` override of every
            dataset's ``data_root``.

    Returns:
        Config: The checked config.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Config file {path!r} does not exist.')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if data_root is not None:
        if set_data_root(cfg._cfg_dict, data_root) == 0:
            raise ValueError(f'--data-root given, but config {path} has no '
                             'data_root key to set.')
    check_config_types(cfg, path)
    return cfg


def _user_errors() -> tuple:
    from rrgkit.datasets.errors import DatasetError
    from rrgkit.models.tokenizers import VocabularyMismatchError
    from rrgkit.utils.checkpoint import CheckpointError
    from rrgkit.utils.config_check import UnknownComponentError
    return (DatasetError, CheckpointError, UnknownComponentError,
            VocabularyMismatchError, FileNotFoundError)


USER_ERRORS = _user_errors


def run_cli(main: Callable[[], None]) -> None:
    """Run a tool's ``main``; print input errors without a traceback.

    Errors caused by the user's input (a bad dataset, checkpoint, config
    name or path) are printed as one clear message and exit with status 2.
    Set ``RRGKIT_TRACEBACK=1`` to see the full traceback.
    """
    import os
    errors = _user_errors()
    try:
        main()
    except errors as err:
        if os.environ.get('RRGKIT_TRACEBACK'):
            raise
        print(f'error: {err}', file=sys.stderr)
        sys.exit(2)
