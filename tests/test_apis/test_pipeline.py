# Copyright (c) rrgkit contributors. All rights reserved.
import os
import os.path as osp

import pytest
from mmengine.config import Config

from rrgkit.apis.pipeline import _final_checkpoint, stage_options


def test_options_reach_only_the_stages_that_have_the_key():
    classifier = Config(dict(model=dict(type='TagClassifier'),
                             randomness=dict(seed=0),
                             train_cfg=dict(max_epochs=1)))
    generator = Config(dict(
        model=dict(type='ReportGenerator', decoder=dict(embed_dims=8)),
        randomness=dict(seed=0),
        custom_hooks=[dict(type='A')]))
    out = stage_options(
        ['model.decoder.embed_dims=16', 'randomness.seed=3',
         'load_from=x.pth', 'train_cfg.max_epochs=2',
         'custom_hooks.0.priority=1'],
        dict(visual=classifier, full=generator))
    assert out == dict(
        visual=['randomness.seed=3', 'load_from=x.pth',
                'train_cfg.max_epochs=2'],
        full=['model.decoder.embed_dims=16', 'randomness.seed=3',
              'load_from=x.pth', 'custom_hooks.0.priority=1'])
    with pytest.raises(ValueError, match="no stage of this pipeline has "
                       "'model.decodr'"):
        stage_options(['model.decodr.embed_dims=16'],
                      dict(visual=classifier, full=generator))


def test_two_best_checkpoints_the_later_epoch_wins(tmp_path):
    for name in ('best_report_CIDEr-D_epoch_8.pth',
                 'best_report_CIDEr-D_epoch_10.pth'):
        (tmp_path / name).write_bytes(b'x')
    # Written in that order; 'epoch_10' sorts first by name.
    os.utime(tmp_path / 'best_report_CIDEr-D_epoch_8.pth', (1, 1))
    assert osp.basename(_final_checkpoint(str(tmp_path))) == \
        'best_report_CIDEr-D_epoch_10.pth'
