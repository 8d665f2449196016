# Copyright (c) rrgkit contributors. All rights reserved.
"""Vision-GPT / Vision-BERT baselines: configs and a tiny training run."""
import glob
import json
import os.path as osp

import pytest

from rrgkit.utils.setup_env import load_config
from .conftest import REPO, load_tool, tiny_asgk_stage_options

CONFIGS = osp.join(REPO, 'configs', 'vision_transformer')


@pytest.mark.parametrize('name', ['vision_bert', 'vision_gpt'])
def test_synthetic_config_trains(tmp_path, name):
    config = osp.join(CONFIGS, f'{name}_densenet_tiny_1xb16_20e_synth.py')
    options = [o for o in tiny_asgk_stage_options(tmp_path / 'cache', 'full')
               if 'region_proposer' not in o]
    work = tmp_path / 'work'
    load_tool('train').main([config, '--work-dir', str(work),
                             '--cfg-options', *options])
    assert (work / 'epoch_1.pth').is_file()
    scalars = glob.glob(str(work / '*' / 'vis_data' / 'scalars.json'))[0]
    with open(scalars) as f:
        rows = [json.loads(line) for line in f]
    assert any('report/CIDEr-D' in r and 'tags/AUC' in r for r in rows)
    assert any('loss_tag_graph' in r for r in rows)


def test_covctr_configs_differ_from_asgk_baseline_as_documented():
    gpt = load_config(osp.join(CONFIGS,
                               'vision_gpt_densenet121_1xb16_10e_covctr_en.py'))
    bert = load_config(osp.join(
        CONFIGS, 'vision_bert_densenet121_1xb16_10e_covctr_en.py'))
    assert gpt.model.region_proposer is None
    assert gpt.model.decoder.get('norm_first', True) is True
    assert bert.model.decoder.norm_first is False
    # Vocabulary from the training reports only (no textbook corpus).
    assert gpt.model.tokenizer.corpus.split == 'train'
    assert 'ann_file' in gpt.model.tokenizer.corpus
