# Copyright (c) rrgkit contributors. All rights reserved.
"""rrgkit metrics under mmengine's gathering: two gloo ranks, padded shards.

Each rank processes its shard as mmengine's DefaultSampler deals it out
(rank ``r`` gets items ``r, r + 2, ...`` of the list padded to an even
length), then ``evaluate(size)`` must give exactly the scores of one process
on the whole set.
"""
import os

import torch
import torch.distributed as torch_dist

from rrgkit.registry import METRICS

SIZE, WORLD = 5, 2
REPORTS = ['ground glass shadow in the right lung .', 'the lungs are clear .',
           'nodules in the left lung .', '', 'patchy shadow in both lungs .']
METRIC_CFGS = dict(
    report=dict(type='ReportMetric', eval_tokenizer='whitespace',
                scores=('BLEU', 'ROUGE_L', 'CIDEr'), save_records=True),
    tags=dict(type='TagAUCMetric'),
    dca=dict(type='DiagnosticAccuracyMetric'))


def _samples():
    gen = torch.Generator().manual_seed(0)
    return [dict(img_id=f'img{i}', pred_report=REPORTS[i],
                 gt_report=REPORTS[(i + 1) % SIZE], gt_label=i % 2,
                 pred_tags=torch.rand(3, generator=gen),
                 gt_tags=torch.tensor([i % 2, (i + 1) % 2, i < 2]).float())
            for i in range(SIZE)]


def _evaluate(samples, size=SIZE, batch=2):
    out, records = {}, None
    for name, cfg in METRIC_CFGS.items():
        metric = METRICS.build(cfg)
        for start in range(0, len(samples), batch):
            metric.process(None, samples[start:start + batch])
        out.update(metric.evaluate(size))
        if name == 'report':
            records = metric.last_records
    return out, records


def _rank(rank, init, queue):
    os.chdir(os.path.dirname(init[len('file://'):]))  # mmengine's tmp dir
    torch_dist.init_process_group('gloo', init_method=init, rank=rank,
                                  world_size=WORLD)
    try:
        padded = _samples() + _samples()[:SIZE % WORLD]
        queue.put((rank, _evaluate(padded[rank::WORLD])))
    except Exception as err:  # reported to the test, not lost in the child
        queue.put((rank, repr(err)))
    finally:
        torch_dist.destroy_process_group()


def test_two_ranks_give_the_single_process_scores(tmp_path,
                                                  run_forked_ranks):
    single, single_records = _evaluate(_samples())
    results = run_forked_ranks(_rank, tmp_path, world=WORLD)
    for rank in range(WORLD):
        assert isinstance(results[rank], tuple), results[rank]
    (metrics0, records0), (metrics1, records1) = results[0], results[1]
    assert metrics0 == metrics1 == single  # exact, on every rank
    assert single['dca/num_samples'] == SIZE
    assert single['report/BLEU-1'] > 0
    # Records are kept by rank 0 only, complete and without the padding.
    assert records0 == single_records
    assert [r['id'] for r in records0] == [f'img{i}' for i in range(SIZE)]
    assert records1 == []
