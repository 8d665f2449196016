# Copyright (c) rrgkit contributors. All rights reserved.
"""Convert torchvision/timm DenseNet or ResNet weights to mmpretrain keys.

``python tools/model_converters/to_mmpretrain.py SRC DST [--format F]``

SRC is a torchvision or timm file (a bare state dict or a training
checkpoint; the layout is detected from the keys, ``--format`` checks it).
DST holds a plain ``{name: tensor}`` dict with the keys of mmpretrain's
``DenseNet``/``ResNet`` backbone, classifier dropped, loadable with
``torch.load``'s default ``weights_only=True`` and by
``init_cfg=dict(type='Pretrained', checkpoint=DST)`` (with or without
rrgkit). Converting offline is optional: rrgkit's ``Pretrained`` converts
SRC itself (docs/pretrained_weights.md).
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402

import rrgkit  # noqa: E402,F401 (safe checkpoint loading)
from rrgkit.utils.checkpoint import CheckpointError  # noqa: E402
from rrgkit.utils.fileio import atomic_write  # noqa: E402
from rrgkit.utils.pretrained import read_pretrained_state  # noqa: E402
from rrgkit.utils.setup_env import run_cli  # noqa: E402
from rrgkit.utils.weight_converters import (FORMATS,  # noqa: E402
                                            convert_state_dict)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description='Convert torchvision/timm DenseNet or ResNet weights to '
        "mmpretrain backbone keys (classifier dropped).")
    parser.add_argument('src', help='torchvision/timm file, path or URL')
    parser.add_argument('dst', help='output file (a plain state dict)')
    parser.add_argument(
        '--format', default='auto', choices=[f for f in FORMATS
                                             if f != 'mmpretrain'],
        help='source library; auto detects it from the keys (default)')
    parser.add_argument('--prefix', help='take only the keys under this '
                        "prefix, e.g. 'model.'")
    parser.add_argument('--state-key', help='checkpoint entry holding the '
                        "weights (default: the first of 'state_dict', "
                        "'model', 'state_dict_ema', 'model_ema')")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Convert ``src`` and write ``dst``."""
    args = parse_args(argv)
    if osp.abspath(args.dst) == osp.abspath(args.src):
        raise CheckpointError(f'Output {args.dst!r} is the input; give '
                              'another path.')
    state = read_pretrained_state(args.src, args.prefix, 'cpu',
                                  args.state_key)
    try:
        weights, layout = convert_state_dict(state, args.format)
    except ValueError as err:
        raise CheckpointError(f'{args.src}: {err}') from None
    if layout.startswith('mmpretrain'):
        raise CheckpointError(
            f'{args.src} is not a torchvision/timm DenseNet or ResNet (its '
            f'keys look like {layout!r}, e.g. {list(state)[:3]}); an '
            "mmpretrain/rrgkit file loads as is with init_cfg=dict(type="
            "'Pretrained', checkpoint=..., prefix='backbone.' for a whole "
            'model).')
    weights = {
        k: v.contiguous()
        for k, v in weights.items() if isinstance(v, torch.Tensor)
    }
    atomic_write(args.dst, lambda f: torch.save(weights, f))
    dropped = len(state) - len(weights)
    print(f'Converted {len(weights)} tensors ({layout} keys; {dropped} '
          f'classifier tensor(s) dropped) from {args.src} to {args.dst}.')
    print('Use it with: backbone init_cfg = dict(type=\'Pretrained\', '
          f'checkpoint={args.dst!r})')


if __name__ == '__main__':
    run_cli(main)
