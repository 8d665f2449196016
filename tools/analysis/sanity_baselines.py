# Copyright (c) rrgkit contributors. All rights reserved.
"""Score the sanity baselines on a config's data, like a model.

``python tools/analysis/sanity_baselines.py CONFIG [--split test]
[--record-dir docs/results/covctr_en]``

Most frequent training report, and the report of the nearest training
image (cosine of grayscale thumbnails). Reports are normalised by the
config's tokenizer (vocabulary from its training corpus) and scored with
the evaluation tokenization of its ``ReportMetric``. With ``--record-dir``
writes ``most_frequent.json`` and ``nearest_neighbour.json`` result records
for tools/gen_docs_tables.py, and their generated reports
(``<name>_reports.json``: id, generated, reference). The config's metrics
that score text alone are run on the copied reports too: the
``ClinicalTagMetric`` of the COV-CTR configs (clinical efficacy, ``CE/...``,
with the conclusion accuracy read from the text, ``CE/DCA/...``) and the
``DiagnosticAccuracyMetric`` of the MDNet configs (``dca/...``).
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

import rrgkit  # noqa: E402,F401
from rrgkit.apis.results import make_record, write_record  # noqa: E402
from rrgkit.apis.sanity_baselines import (sanity_baseline_scores,  # noqa
                                          thumbnail_features)
from rrgkit.models.tokenizers import build_tokenizer  # noqa: E402
from rrgkit.registry import DATASETS, METRICS  # noqa: E402
from rrgkit.utils.fileio import atomic_write_json  # noqa: E402
from rrgkit.utils.setup_env import (add_common_args, load_config,  # noqa
                                    run_cli)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Sanity baselines')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--split', choices=['test', 'val'], default='test')
    parser.add_argument('--thumbnail', type=int, default=16,
                        help='thumbnail side for the nearest neighbour')
    parser.add_argument('--record-dir',
                        help='write result records into this folder')
    add_common_args(parser)
    return parser.parse_args(argv)


def _metric_cfgs(cfg, split):
    evaluator = cfg.get(f'{split}_evaluator') or cfg.get('val_evaluator')
    return evaluator if isinstance(evaluator, list) else [evaluator]


_TEXT_METRICS = ('DiagnosticAccuracyMetric', 'ClinicalTagMetric')


def _text_metric_scores(cfg, split, records, samples):
    """DCA and CE of a baseline's reports with the config's metrics."""
    scores = {}
    for metric_cfg in _metric_cfgs(cfg, split):
        if not any(name in str(metric_cfg.get('type'))
                   for name in _TEXT_METRICS):
            continue
        metric = METRICS.build(dict(metric_cfg))
        metric.process(None, [
            dict(img_id=r['id'], pred_report=r['generated'],
                 gt_reports=r['reference'] if isinstance(
                     r['reference'], list) else [r['reference']],
                 **({'gt_label': s.gt_label} if 'gt_label' in s else {}))
            for r, s in zip(records, samples)])
        scores.update(metric.evaluate(len(records)))
    return scores


def _eval_tokenizer(cfg, split):
    for metric in _metric_cfgs(cfg, split):
        if 'ReportMetric' in str(metric.get('type')):
            return metric.get('eval_tokenizer', 'ptb')
    return 'ptb'


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    tokenizer = build_tokenizer(cfg.model.tokenizer)
    norm = tokenizer.detokenize_reference
    train = DATASETS.build(cfg.train_dataloader.dataset)
    evaluated = DATASETS.build(cfg[f'{args.split}_dataloader'].dataset)
    train_feats, train_samples = thumbnail_features(train, args.thumbnail)
    eval_feats, eval_samples = thumbnail_features(evaluated, args.thumbnail)
    results = sanity_baseline_scores(
        [norm(s.gt_report) for s in train_samples], train_feats,
        [[norm(r) for r in s.references] for s in eval_samples], eval_feats,
        [s.get('img_id', i) for i, s in enumerate(eval_samples)],
        eval_tokenizer=_eval_tokenizer(cfg, args.split))
    for result in results.values():
        result['metrics'].update(_text_metric_scores(
            cfg, args.split, result['records'], eval_samples))
    argv_used = ['python', 'tools/analysis/sanity_baselines.py'] + list(
        argv if argv is not None else sys.argv[1:])
    for name, result in results.items():
        print(name, json.dumps({k: round(v, 4) for k, v in
                                result['metrics'].items()}))
        if args.record_dir:
            summary = dict(
                config=osp.abspath(args.config), checkpoint=None,
                split=args.split, metrics=result['metrics'],
                signature=dict(eval_tokenizer=_eval_tokenizer(cfg,
                                                              args.split),
                               num_images=len(eval_samples),
                               cider_df='references of evaluated set',
                               baseline=name))
            path = osp.join(args.record_dir, f'{name}.json')
            write_record(make_record(summary, argv_used), path)
            atomic_write_json(result['records'], osp.join(
                args.record_dir, f'{name}_reports.json'))
            print(f'record written to {path}')
    return results


if __name__ == '__main__':
    run_cli(main)
