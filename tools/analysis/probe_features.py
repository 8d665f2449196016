# Copyright (c) rrgkit contributors. All rights reserved.
"""Linear-probe a backbone: does it see the conclusion and the findings?

``python tools/analysis/probe_features.py CONFIG [--checkpoint CKPT]
[--tags-file data/covctr_tags_en.json] [--split val] [--name RECIPE]
[--minutes M] [--record docs/results/probe/RECIPE.json]
[--save-backbone OUT.pth]``

Builds the config's model, loads the ``backbone.`` weights of a checkpoint
(random initialisation without one), pools the last feature map of every
training and evaluated image through the evaluated split's pipeline (no
augmentation), fits L2 logistic regressions on the training features (the
L2 weight chosen by 3-fold CV on training alone) and prints the evaluated
split's ROC-AUC of the conclusion label and the macro AUC of the mined
tags. ``--record`` writes a result record for the docs' probe table
(``tools/gen_docs_tables.py``); ``--minutes`` is the recipe's training time
to show beside it. ``--save-backbone`` writes the probed backbone's
weights as a plain state dict (the frozen backbone of a feature cache, so
that a benchmark trains on exactly the features it probed; with no
checkpoint these are the seed-0 random initialisation).
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

import torch  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402

import rrgkit  # noqa: E402,F401
from rrgkit.apis.feature_probe import (describe, pooled_features,  # noqa
                                       probe_scores, probe_targets)
from rrgkit.apis.results import make_record, write_record  # noqa: E402
from rrgkit.datasets.errors import DatasetError  # noqa: E402
from rrgkit.registry import DATASETS, MODELS  # noqa: E402
from rrgkit.utils.checkpoint import (CheckpointError,  # noqa: E402
                                     safe_load_checkpoint)
from rrgkit.utils.fileio import atomic_write  # noqa: E402
from rrgkit.utils.setup_env import (add_common_args, load_config,  # noqa
                                    run_cli)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Linear-probe a backbone')
    parser.add_argument('config', help='a config with model.backbone')
    parser.add_argument('--checkpoint', help='weights (random init if none)')
    parser.add_argument('--prefix', default='backbone.',
                        help='key prefix of the backbone in the checkpoint')
    parser.add_argument('--tags-file',
                        help='mined tag file for datasets without tags')
    parser.add_argument('--split', choices=['val', 'test'], default='val')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--name', help='recipe name for the record')
    parser.add_argument('--minutes', type=float,
                        help="the recipe's training time, for the record")
    parser.add_argument('--record', help='write a result record here')
    parser.add_argument('--save-backbone', metavar='OUT',
                        help="write the probed backbone's weights here")
    add_common_args(parser)
    return parser.parse_args(argv)


def load_backbone_weights(backbone, checkpoint: str, prefix: str) -> int:
    """Load ``prefix``-ed keys of a checkpoint into the backbone.

    Returns:
        int: Number of tensors loaded.

    Raises:
        CheckpointError: If no key has the prefix or the keys do not fit.
    """
    ckpt = safe_load_checkpoint(checkpoint)
    state = ckpt.get('state_dict', ckpt)
    state = {k[len(prefix):]: v for k, v in state.items()
             if k.startswith(prefix)}
    if not state:
        raise CheckpointError(
            f'Checkpoint {checkpoint!r} has no keys starting with '
            f'{prefix!r}; pass --prefix (e.g. "" for a bare backbone state '
            'dict).')
    try:
        missing, unexpected = backbone.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatch
        raise CheckpointError(
            f'Checkpoint {checkpoint!r} does not fit the config\'s backbone: '
            f'{str(err).splitlines()[-1].strip()}') from None
    if unexpected or len(missing) == len(backbone.state_dict()):
        raise CheckpointError(
            f'Checkpoint {checkpoint!r} does not fit the config\'s backbone '
            f'({len(unexpected)} unexpected, {len(missing)} missing keys); '
            'give the config the checkpoint was trained with.')
    return len(state)


def _dataset(cfg, split: str, pipeline, tags_file):
    dataset_cfg = dict(cfg[f'{split}_dataloader'].dataset)
    dataset_cfg['pipeline'] = pipeline
    if tags_file:
        dataset_cfg['tags_file'] = tags_file
    return DATASETS.build(dataset_cfg)


def _batches(dataset, batch_size: int):
    for start in range(0, len(dataset), batch_size):
        yield pseudo_collate([
            dataset[i]
            for i in range(start, min(start + batch_size, len(dataset)))
        ])


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(0)
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    model = MODELS.build(cfg.model)
    if args.checkpoint:
        load_backbone_weights(model.backbone, args.checkpoint, args.prefix)
    pipeline = cfg[f'{args.split}_dataloader'].dataset.pipeline
    start = time.time()
    feats, targets = {}, {}
    for split in ('train', args.split):
        dataset = _dataset(cfg, split, pipeline, args.tags_file)
        x, samples = pooled_features(model.backbone, model.data_preprocessor,
                                     _batches(dataset, args.batch_size))
        feats[split], targets[split] = x, probe_targets(samples)
    scores = probe_scores(feats['train'], targets['train'], feats[args.split],
                          targets[args.split])
    if not scores:
        raise DatasetError('Nothing to probe: the datasets have neither a '
                           'label (label_key) nor tags (tags_file / '
                           '--tags-file).')
    scores['probe_seconds'] = round(time.time() - start, 1)
    if args.minutes is not None:
        scores['train_minutes'] = args.minutes
    name = args.name or osp.splitext(osp.basename(args.config))[0]
    print(f'{name} ({args.split}, {feats["train"].shape[1]}-d features): ' +
          '; '.join(describe(scores)))
    if args.record:
        argv_used = ['python', 'tools/analysis/probe_features.py'] + list(
            argv if argv is not None else sys.argv[1:])
        record = make_record(
            dict(config=args.config, checkpoint=args.checkpoint,
                 split=args.split, metrics=scores), argv_used)
        record['recipe'] = name
        record['signature'] = dict(num_images=len(feats[args.split]))
        write_record(record, args.record)
        print(f'Wrote {args.record}')
    if args.save_backbone:
        state = {k: v.detach().clone()
                 for k, v in model.backbone.state_dict().items()}
        atomic_write(args.save_backbone, lambda f: torch.save(state, f))
        print(f'Wrote {args.save_backbone}')


if __name__ == '__main__':
    run_cli(main)
