# Copyright (c) rrgkit contributors. All rights reserved.
"""Key converters from torchvision/timm backbones to mmpretrain's names.

Each entry of :data:`CONVERT` maps a state dict in one key layout to the
keys of the matching mmpretrain backbone (classifier heads dropped).
:func:`detect_format` picks the entry from the keys alone, so a file needs
no label saying where it came from.

Layouts:

* ``mmpretrain``: the backbone's own keys (an mmpretrain or rrgkit
  backbone's ``state_dict()``); kept as is.
* ``mmpretrain-classifier``: a whole mmpretrain classifier or rrgkit model
  (``backbone.*``, ``neck.*``, ``head.*``, ...); its ``backbone.*`` is kept.
* ``torchvision-densenet``: ``features.conv0``, ``features.denseblockB.
  denselayerL.*``, ``features.transitionT.*``, ``features.norm5``,
  ``classifier`` -> mmpretrain ``DenseNet``'s ``stem.0``, ``stages.B-1.
  block.L-1.*``, ``transitions.T-1.*``, ``transitions.<last>.0``. The old
  ``denselayerL.norm.1`` spelling (torchvision's downloadable DenseNet
  files) is read too.
* ``torchvision-resnet``: mmpretrain ``ResNet`` (depth 18/34/50/101/152)
  uses torchvision's names already; only ``fc.*`` is dropped.

timm's ``densenet*`` and ``resnet*`` models keep torchvision's module names
(``timm/models/densenet.py``, ``timm/models/resnet.py``), so timm files are
detected as, and converted by, the torchvision entries; ``timm-densenet``
and ``timm-resnet`` are aliases of them.
"""
import re
from typing import Callable, Dict, Iterable, List, Optional

__all__ = [
    'CONVERT', 'FORMATS', 'detect_format', 'convert_state_dict',
    'densenet_from_torchvision', 'resnet_from_torchvision'
]

StateDict = Dict[str, object]

# Old torchvision DenseNet files spell ``norm1`` as ``norm.1`` etc.
_OLD_DENSE_LAYER = re.compile(
    r'^(.*denselayer\d+\.(?:norm|relu|conv))\.([12])\.(.+)$')
_DENSE = [
    (re.compile(r'^features\.conv0\.(.+)$'), 'stem.0.{0}'),
    (re.compile(r'^features\.norm0\.(.+)$'), 'stem.1.{0}'),
    (re.compile(r'^features\.denseblock(\d+)\.denselayer(\d+)\.(.+)$'),
     'stages.{0}.block.{1}.{2}'),
    (re.compile(r'^features\.transition(\d+)\.(.+)$'), 'transitions.{0}.{1}'),
]


def _minus_one(groups: Iterable[str]) -> List[str]:
    # torchvision counts blocks/layers from 1, mmpretrain from 0.
    return [str(int(g) - 1) if g.isdigit() else g for g in groups]


def densenet_from_torchvision(state: StateDict) -> StateDict:
    """torchvision/timm DenseNet keys -> mmpretrain ``DenseNet`` keys.

    Args:
        state (dict): The torchvision (or timm) state dict.

    Returns:
        dict: The backbone's state dict; ``classifier.*`` is dropped.
    """
    num_blocks = len({
        m.group(1)
        for m in map(re.compile(r'^features\.denseblock(\d+)\.').match, state)
        if m
    })
    out = {}
    for key, value in state.items():
        key = _OLD_DENSE_LAYER.sub(r'\1\2.\3', key)
        if key.startswith('classifier.'):
            continue
        if key.startswith('features.norm5.'):
            # mmpretrain's last "transition" is Sequential(norm, act).
            out[f'transitions.{num_blocks - 1}.0.' +
                key[len('features.norm5.'):]] = value
            continue
        for pattern, target in _DENSE:
            match = pattern.match(key)
            if match:
                out[target.format(*_minus_one(match.groups()))] = value
                break
        else:
            out[key] = value  # not a DenseNet key: reported as unexpected
    return out


def resnet_from_torchvision(state: StateDict) -> StateDict:
    """torchvision/timm ResNet keys -> mmpretrain ``ResNet`` keys.

    Args:
        state (dict): The torchvision (or timm) state dict.

    Returns:
        dict: The same keys without the classifier ``fc.*``.
    """
    return {k: v for k, v in state.items() if not k.startswith('fc.')}


def _backbone_of_classifier(state: StateDict) -> StateDict:
    return {
        k[len('backbone.'):]: v
        for k, v in state.items() if k.startswith('backbone.')
    }


#: Key layout -> function turning such a state dict into backbone keys.
CONVERT: Dict[str, Callable[[StateDict], StateDict]] = {
    'mmpretrain': dict,
    'mmpretrain-classifier': _backbone_of_classifier,
    'torchvision-densenet': densenet_from_torchvision,
    'torchvision-resnet': resnet_from_torchvision,
    'timm-densenet': densenet_from_torchvision,
    'timm-resnet': resnet_from_torchvision,
}
#: Source libraries a caller may name instead of a layout.
FORMATS = ('auto', 'mmpretrain', 'torchvision', 'timm')


def detect_format(state: StateDict,
                  target_keys: Optional[Iterable[str]] = None) -> str:
    """The key layout of ``state`` (a key of :data:`CONVERT`).

    Args:
        state (dict): A state dict (no ``state_dict`` wrapper, no
            ``module.`` prefix).
        target_keys (Iterable[str], optional): Keys of the module that will
            receive the weights. A ``backbone.*`` checkpoint is read as a
            whole classifier only when the module itself has no
            ``backbone.*`` keys (e.g. it is the backbone). Defaults to None.

    Returns:
        str: ``'torchvision-densenet'``, ``'torchvision-resnet'``,
        ``'mmpretrain-classifier'`` or ``'mmpretrain'``.
    """
    keys = list(state)
    if any(k.startswith(('features.denseblock', 'features.conv0.'))
           for k in keys):
        return 'torchvision-densenet'
    if 'fc.weight' in state and any(k.startswith('layer1.') for k in keys):
        return 'torchvision-resnet'
    target = list(target_keys or [])
    if (any(k.startswith('backbone.') for k in keys)
            and not any(k.startswith('backbone.') for k in target)
            and not set(keys) & set(target)):
        return 'mmpretrain-classifier'
    return 'mmpretrain'


def convert_state_dict(state: StateDict,
                       fmt: str = 'auto',
                       target_keys: Optional[Iterable[str]] = None) -> tuple:
    """Convert ``state`` to mmpretrain backbone keys.

    Args:
        state (dict): The source state dict.
        fmt (str): ``'auto'`` (detect from the keys), a source library of
            :data:`FORMATS` or a layout of :data:`CONVERT`.
            Defaults to ``'auto'``.
        target_keys (Iterable[str], optional): See :func:`detect_format`.

    Returns:
        tuple[dict, str]: The converted state dict and the layout used.

    Raises:
        ValueError: If ``fmt`` is unknown, or names a library whose keys
            ``state`` does not have.
    """
    detected = detect_format(state, target_keys)
    if fmt == 'auto' or fmt == detected:
        layout = detected
    elif fmt in FORMATS:
        library, _, family = detected.partition('-')
        if (library == 'mmpretrain') != (fmt == 'mmpretrain'):
            raise ValueError(
                f'format {fmt!r} does not match these keys: they look like '
                f'{detected!r} (e.g. {list(state)[:3]}); use format auto')
        layout = detected if fmt == 'mmpretrain' else f'{fmt}-{family}'
    elif fmt in CONVERT:
        layout = fmt
    else:
        raise ValueError(f'unknown format {fmt!r}; use one of {FORMATS} or '
                         f'{sorted(CONVERT)}')
    return CONVERT[layout](state), layout
