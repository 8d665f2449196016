# Copyright (c) rrgkit contributors. All rights reserved.
"""The ASGK synthetic configs, alone and as a resumable two-stage pipeline."""
import json
import os.path as osp

import torch

from rrgkit.utils.checkpoint import safe_load_checkpoint
from .conftest import REPO, tiny_asgk_stage_options

ASGK = osp.join(REPO, 'configs', 'asgk')
STAGE2 = osp.join(ASGK, 'asgk_stage2_densenet_tiny_1xb16_10e_synth.py')
FULL = osp.join(ASGK, 'asgk_densenet_tiny_1xb16_20e_synth.py')


def _pipeline_config(tmp_path, cache, full_epochs=1):
    path = tmp_path / 'pipeline.py'
    stages = [
        dict(name='visual', config=STAGE2,
             cfg_options=tiny_asgk_stage_options(cache, 'visual')),
        dict(name='full', config=FULL, init_from=['visual'],
             cfg_options=tiny_asgk_stage_options(cache, 'full',
                                                 full_epochs)),
    ]
    path.write_text(f'stages = {stages!r}\n')
    return str(path)


def test_pipeline_runs_stages_in_order_and_skips_finished(tmp_path,
                                                          train_tool,
                                                          test_tool):
    cache = tmp_path / 'cache'
    config = _pipeline_config(tmp_path, cache)
    work_dir = tmp_path / 'work'
    train_tool.main([config, '--work-dir', str(work_dir)])
    with open(work_dir / 'visual' / 'stage_done.json') as f:
        visual = json.load(f)['checkpoint']
    with open(work_dir / 'full' / 'stage_done.json') as f:
        full = json.load(f)['checkpoint']
    # Stage 3 started from stage 2's visual weights, merged into init_from.
    init = safe_load_checkpoint(str(work_dir / 'full' / 'init_from.pth'))
    stage2 = safe_load_checkpoint(visual)['state_dict']
    assert set(init['state_dict']) == set(stage2)
    key = 'region_proposer.region_backbone.stem.0.weight'
    assert torch.equal(init['state_dict'][key], stage2[key])
    final = safe_load_checkpoint(full)
    assert 'vocab._extra_state' in final['state_dict']
    assert 'decoder.word_embed.weight' in final['state_dict'] or any(
        k.startswith('decoder.') for k in final['state_dict'])
    # Rerunning the same command trains nothing more.
    mtime = osp.getmtime(full)
    train_tool.main([config, '--work-dir', str(work_dir)])
    assert osp.getmtime(full) == mtime
    # The stage-2 tag classifier (no vocabulary) evaluates with tools/test.py.
    test_tool.main([STAGE2, visual, '--work-dir', str(tmp_path / 'test'),
                    '--cfg-options',
                    *tiny_asgk_stage_options(tmp_path / 'cache', 'visual')])
    summary = list((tmp_path / 'test').glob('*/metrics.json'))[0]
    metrics = json.loads(summary.read_text())['metrics']
    assert 0.0 <= metrics['tags/AUC'] <= 1.0


def test_asgk_val_reports_tags_and_region_iou(tmp_path, train_tool):
    work_dir = tmp_path / 'work'
    train_tool.main([FULL, '--work-dir', str(work_dir), '--cfg-options',
                     *tiny_asgk_stage_options(tmp_path / 'cache', 'full')])
    scalars = list((work_dir).glob('*/vis_data/scalars.json'))[0]
    rows = [json.loads(line) for line in scalars.read_text().splitlines()]
    val = [r for r in rows if 'report/CIDEr-D' in r][-1]
    assert 0.0 <= val['tags/AUC'] <= 1.0
    assert val['region/num_images'] > 0
    assert 'region/IoU_centred_box' in val


def test_interrupted_stage_resumes(tmp_path, train_tool):
    cache = tmp_path / 'cache'
    config = _pipeline_config(tmp_path, cache)
    work_dir = tmp_path / 'work'
    train_tool.main([config, '--work-dir', str(work_dir)])
    # Pretend the last stage was stopped after its first epoch of two.
    (work_dir / 'full' / 'stage_done.json').unlink()
    config = _pipeline_config(tmp_path, cache, full_epochs=2)
    train_tool.main([config, '--work-dir', str(work_dir)])
    logs = sorted((work_dir / 'full').glob('*/*.log'))
    assert 'resumed epoch: 1' in logs[-1].read_text()
    with open(work_dir / 'full' / 'stage_done.json') as f:
        final = safe_load_checkpoint(json.load(f)['checkpoint'])
    assert final['meta']['epoch'] == 2
    # The finished first stage was not trained again.
    assert len(list((work_dir / 'visual').glob('*/*.log'))) == 1
