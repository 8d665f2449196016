# Copyright (c) rrgkit contributors. All rights reserved.
"""CoAtt baseline: the synthetic config trains one tiny epoch through
tools/train.py; the COV-CTR config mirrors NIC's data and schedule."""
import glob
import json
import os.path as osp

from rrgkit.utils.checkpoint import safe_load_checkpoint
from rrgkit.utils.setup_env import load_config
from .conftest import LOADERS, REPO, loader_options, synth_data_options

SYNTH = osp.join(REPO, 'configs', 'coatt',
                 'coatt_densenet_tiny_1xb16_20e_synth.py')
COVCTR = osp.join(REPO, 'configs', 'coatt',
                  'coatt_densenet121_1xb16_10e_covctr_en.py')


def _tiny_options(cache):
    opts = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'experiment_name=coatt_tiny', 'default_hooks.logger.interval=1',
            'model.backbone.arch.growth_rate=4',
            'model.backbone.arch.depths=[1,1]',
            'model.backbone.arch.init_channels=8',
            'model.decoder.embed_dims=16',
            'model.decoder.sentence_hidden_dims=16',
            'model.decoder.word_hidden_dims=16', 'model.decoder.attn_dims=8',
            'model.decoder.context_dims=12', 'model.max_sentence_len=20',
            'model.beam_size=2', 'model.tokenizer.min_freq=1']
    keys = LOADERS + ['model.tokenizer.corpus']
    return opts + loader_options() + synth_data_options(cache, keys)


def test_synthetic_config_trains_and_validates(tmp_path, train_tool):
    work_dir = str(tmp_path / 'work')
    train_tool.main([SYNTH, '--work-dir', work_dir, '--cfg-options',
                     *_tiny_options(tmp_path / 'cache')])
    ckpt = safe_load_checkpoint(osp.join(work_dir, 'epoch_1.pth'))
    state = ckpt['state_dict']
    # The tiny sizes reached the decoder; the MLC scores the 15 tags.
    assert tuple(state['decoder.mlc.weight'].shape)[0] == 15
    assert tuple(state['decoder.co_attention.fuse.weight'].shape)[0] == 12
    assert 'vocab._extra_state' in state
    scalars = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(scalars[0]) as f:
        rows = [json.loads(line) for line in f]
    train = [r for r in rows if 'loss_word' in r]
    assert train and all({'loss_tag', 'loss_stop'} <= set(r) for r in train)
    val = [r for r in rows if 'report/CIDEr-D' in r]
    assert len(val) == 1 and val[0]['step'] == 1
    assert 0.0 <= val[0]['report/BLEU-4'] <= 1.0
    assert 0.0 <= val[0]['tags/AUC'] <= 1.0
    assert 'most_frequent/CIDEr-D' in val[0]


def test_covctr_config_mirrors_nic_with_mined_tags():
    cfg = load_config(COVCTR)
    nic = load_config(osp.join(REPO, 'configs', 'nic',
                               'nic_densenet121_1xb16_10e_covctr_en.py'))
    assert cfg.model.type.__name__ == 'HierarchicalReportGenerator'
    assert cfg.model.backbone == nic.model.backbone
    assert cfg.model.tokenizer.min_freq == nic.model.tokenizer.min_freq
    for key in ('train_cfg', 'param_scheduler', 'optim_wrapper'):
        assert cfg[key] == nic[key], key
    for split in ('train', 'val', 'test'):
        ours = cfg[f'{split}_dataloader'].to_dict()
        theirs = nic[f'{split}_dataloader'].to_dict()
        assert ours['dataset'].pop('tags_file') == 'data/covctr_tags_en.json'
        assert ours == theirs, split
    assert cfg.train_dataloader.dataset.pipeline[1]['scale'] == (128, 128)
    assert [e['type'].__name__ for e in cfg.val_evaluator] == [
        'ReportMetric', 'ClinicalTagMetric', 'TagAUCMetric']
    assert cfg.test_evaluator == cfg.val_evaluator
    # The longest English training report is one sentence of 117 tokens.
    assert cfg.model.max_sentence_len >= 117


def test_covctr_tag_classifier_scores_the_mined_tags():
    # configs/_base_/datasets/covctr_en_tags.py's num_tags is checked
    # against the miner's output on the real data in test_mine_tags.py.
    cfg = load_config(COVCTR)
    assert cfg.model.decoder.num_tags == cfg.num_tags == 61
