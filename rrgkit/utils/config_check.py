# Copyright (c) rrgkit contributors. All rights reserved.
"""Check a config's component names before anything is built."""
import difflib
from typing import Iterator, List, Set, Tuple

from mmengine.config import Config
from mmengine.registry import Registry

__all__ = ['UnknownComponentError', 'iter_types', 'check_config_types']


class UnknownComponentError(ValueError):
    """A ``type=`` in a config names no registered component."""


def iter_types(node, path: str = '') -> Iterator[Tuple[str, str]]:
    """Yield ``(key path, type name)`` for every string ``type`` in a config.

    Args:
        node: A config (dict/list tree).
        path (str): Key path of ``node``. Defaults to ``''``.

    Yields:
        tuple: e.g. ``('model.decoder', 'LSTMDecoder')``.
    """
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield path or '<root>', node['type']
        for key, value in node.items():
            yield from iter_types(value, f'{path}.{key}' if path else key)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from iter_types(value, f'{path}[{i}]')


def _names_in(registry: Registry) -> Set[str]:
    names: Set[str] = set()
    reg = registry
    while reg is not None:
        reg.import_from_location()
        names.update(reg.module_dict)
        names.update(f'{reg.scope}.{n}' for n in reg.module_dict)
        reg = reg.parent
    return names


def _known_names() -> Set[str]:
    from rrgkit.registry import (ALL_REGISTRIES, REPORT_SPLITTERS, REWARDS,
                                 STRATEGIES)
    names: Set[str] = set()
    for registry in (*ALL_REGISTRIES, REPORT_SPLITTERS, REWARDS, STRATEGIES):
        names |= _names_in(registry)
    return names


def check_config_types(cfg: Config, filename: str = '<config>') -> None:
    """Raise if any ``type='Name'`` in ``cfg`` is not registered anywhere.

    The check runs against every rrgkit registry and its parents
    (mmpretrain, mmengine), after lazy imports and ``custom_imports``, so it
    finds typos before the Runner starts building, and names the key.
    Full module paths (``'pkg.module.Class'``) are left to the builder.

    Args:
        cfg (Config): The loaded config.
        filename (str): Shown in the error. Defaults to ``'<config>'``.

    Raises:
        UnknownComponentError: Listing every unknown name with its key path
            and the closest registered names.
    """
    known = _known_names()
    problems: List[str] = []
    for path, name in iter_types(cfg.to_dict() if hasattr(cfg, 'to_dict')
                                 else cfg):
        if name in known or name.count('.') > 1:
            continue
        close = difflib.get_close_matches(name.split('.')[-1], known, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ''
        problems.append(f"  {path}.type = '{name}' is not a registered "
                        f'component.{hint}')
    if problems:
        raise UnknownComponentError(
            f'Config {filename} names unknown components:\n' +
            '\n'.join(problems) +
            '\nFix the name, or import the module that registers it with '
            "custom_imports = dict(imports=['your.module']).")
