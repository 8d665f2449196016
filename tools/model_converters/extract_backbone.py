# Copyright (c) rrgkit contributors. All rights reserved.
"""Write the backbone of a checkpoint as a plain state dict.

``python tools/model_converters/extract_backbone.py CKPT OUT [--prefix P]``

For self-supervised pretraining (``configs/selfsup/``): OUT holds the
``backbone.`` weights of CKPT without that prefix, in mmpretrain's backbone
format, loadable with ``torch.load``'s default ``weights_only=True``. A
report model's config then starts its backbone from it with
``init_cfg=dict(type='Pretrained', checkpoint=OUT)``
(docs/selfsup_pretraining.md).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import rrgkit  # noqa: E402,F401 (safe checkpoint loading)
from rrgkit.apis.backbone_weights import export_backbone  # noqa: E402
from rrgkit.utils.setup_env import run_cli  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Extract the backbone weights of a checkpoint')
    parser.add_argument('checkpoint', help='checkpoint written by training')
    parser.add_argument('out', help='output file (a plain state dict)')
    parser.add_argument(
        '--prefix',
        default='backbone.',
        help="keep the keys starting with this, without it (default: "
        "'backbone.')")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    weights = export_backbone(args.checkpoint, args.out, args.prefix)
    numel = sum(v.numel() for v in weights.values())
    print(f'Wrote {len(weights)} tensors ({numel:,} values) under '
          f'{args.prefix!r} of {args.checkpoint} to {args.out}.')
    print('Use them in a report model config with: model.backbone.init_cfg'
          f" = dict(type='Pretrained', checkpoint={args.out!r})")


if __name__ == '__main__':
    run_cli(main)
