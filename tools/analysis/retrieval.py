# Copyright (c) rrgkit contributors. All rights reserved.
"""Symptom-description retrieval Cr@k of a trained MDNet-style model.

``python tools/analysis/retrieval.py CONFIG CHECKPOINT [--split test]``

Every report of the split, without its conclusion, queries the split's
images ranked by the model's likelihood of its descriptions; Cr@1/5/10 is
the share of the top-k images with the query's diagnostic conclusion.
Writes ``retrieval.json`` into the work dir and prints the scores beside
the chance level; ``--record PATH`` also writes a result record (metrics
``retrieval/Cr@k`` and ``retrieval/chance``) for the docs' tables.
"""
import argparse
import json
import os.path as osp
import sys
from types import SimpleNamespace

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from mmengine.runner import Runner  # noqa: E402

import rrgkit  # noqa: E402,F401 (safe checkpoint loading)
from rrgkit.apis import use_checkpoint_vocabulary  # noqa: E402
from rrgkit.apis.results import (make_record, run_signature,  # noqa: E402
                                 write_record)
from rrgkit.apis.retrieval import description_retrieval  # noqa: E402
from rrgkit.utils.fileio import atomic_write_json  # noqa: E402
from rrgkit.utils.setup_env import (add_common_args, load_config,  # noqa
                                    resolve_work_dir, run_cli, without_hook)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Cr@k retrieval')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--split', choices=['test', 'val'], default='test')
    parser.add_argument(
        '--conclusion', default='covctr_en',
        help='what is removed from the queries: a conclusion preset '
        '(covctr_en, covctr_zh); default covctr_en')
    parser.add_argument('--max-queries', type=int, default=None,
                        help='score only the first N queries (quick check)')
    parser.add_argument(
        '--record',
        help='also write a result record (Cr@k as retrieval/Cr@k, the '
        'signature, config, checkpoint and this command) to this JSON file')
    add_common_args(parser)
    return parser.parse_args(argv)


def _write_record(runner, loader, result, args, argv):
    metrics = {f'retrieval/{k}': v for k, v in result.items()
               if k.startswith('Cr@') or k == 'chance'}
    signature = dict(num_images=result.get('num_images'),
                     num_queries=result.get('num_queries'),
                     conclusion=args.conclusion)
    # run_signature reads the model, the config and the scored split.
    signature.update(run_signature(SimpleNamespace(
        model=runner.model, cfg=runner.cfg, test_dataloader=loader)))
    summary = dict(config=osp.abspath(args.config),
                   checkpoint=osp.abspath(args.checkpoint),
                   split=args.split, metrics=metrics, signature=signature)
    command = ['python', 'tools/analysis/retrieval.py'] + list(
        argv if argv is not None else sys.argv[1:])
    write_record(make_record(summary, command), args.record)
    print(f'result record written to {args.record}')


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    resolve_work_dir(cfg, args)
    if args.split == 'val':
        cfg.test_dataloader = cfg.val_dataloader
    cfg.custom_hooks = without_hook(cfg, 'MostFrequentReportHook')
    cfg.load_from = None
    cfg.resume = False
    if cfg.model.get('tokenizer') is not None:
        use_checkpoint_vocabulary(cfg, args.checkpoint, cfg.work_dir)
    runner = Runner.from_cfg(cfg)
    runner.load_checkpoint(args.checkpoint, map_location='cpu')
    loader = runner.build_dataloader(cfg.test_dataloader)
    model = runner.model
    if not hasattr(model, 'score_descriptions'):
        raise SystemExit(
            f'error: {args.config} builds a {type(model).__name__}; '
            'retrieval needs a TaskDuplicatedGenerator (MDNet configs).')
    result = description_retrieval(model, loader, conclusion=args.conclusion,
                                   max_queries=args.max_queries)
    result.update(config=osp.abspath(args.config),
                  checkpoint=osp.abspath(args.checkpoint), split=args.split)
    out = osp.join(runner.log_dir, 'retrieval.json')
    atomic_write_json(result, out)
    if args.record:
        _write_record(runner, loader, result, args, argv)
    print(json.dumps({k: v for k, v in result.items()
                      if k.startswith('Cr@') or k in ('chance',
                                                      'num_queries')},
                     indent=1))
    print(f'written to {out}')
    return result


if __name__ == '__main__':
    run_cli(main)
