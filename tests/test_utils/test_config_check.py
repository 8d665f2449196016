# Copyright (c) rrgkit contributors. All rights reserved.
import pytest
from mmengine.config import Config

from rrgkit.utils.config_check import (UnknownComponentError,
                                       check_config_types, iter_types)
from rrgkit.utils.setup_env import load_config, set_data_root


def test_iter_types_reports_key_paths():
    cfg = dict(model=dict(type='A', decoder=dict(type='B')),
               hooks=[dict(type='C')])
    assert list(iter_types(cfg)) == [('model', 'A'), ('model.decoder', 'B'),
                                     ('hooks[0]', 'C')]


def test_unknown_type_names_key_file_and_suggestion(tmp_path):
    path = tmp_path / 'bad_cfg.py'
    path.write_text("model = dict(type='ReportGenerator', "
                    "decoder=dict(type='LSTMDecodr'))\n")
    with pytest.raises(UnknownComponentError) as err:
        load_config(str(path))
    msg = str(err.value)
    assert 'bad_cfg.py' in msg
    assert "model.decoder.type = 'LSTMDecodr'" in msg
    assert "'LSTMDecoder'" in msg


def test_known_names_from_all_scopes_pass():
    cfg = Config(dict(
        model=dict(type='ReportGenerator', backbone=dict(type='DenseNet')),
        optim_wrapper=dict(type='OptimWrapper',
                           optimizer=dict(type='Adam')),
        hook=dict(type='mmpretrain.EMAHook'),
        dataset=dict(type='SplitReportDataset',
                     report_splitter=dict(type='KeywordReportSplitter'))))
    check_config_types(cfg, 'ok.py')


def test_set_data_root_replaces_every_occurrence():
    cfg = dict(a=dict(data_root='x', b=[dict(data_root='y')]), c=1)
    assert set_data_root(cfg, '/data') == 2
    assert cfg['a']['data_root'] == '/data'
    assert cfg['a']['b'][0]['data_root'] == '/data'


def test_set_data_root_can_spare_other_datasets():
    cfg = dict(data_root='data/covctr',
               train=dict(data_root='data/covctr'),
               textbook=dict(data_root='data/textbook'))
    assert set_data_root(cfg, '/real/covctr', old='data/covctr') == 2
    assert cfg['textbook']['data_root'] == 'data/textbook'
    assert cfg['train']['data_root'] == '/real/covctr'
