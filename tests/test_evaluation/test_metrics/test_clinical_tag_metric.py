# Copyright (c) rrgkit contributors. All rights reserved.
"""Tests of ``ClinicalTagMetric`` (CE from generated text, with DCA)."""
import importlib
import json
import os.path as osp

import pytest
import torch
from mmengine.evaluator import Evaluator

from rrgkit.datasets.tags import (DEFAULT_LEXICON, TagVocabulary,
                                  TagVocabularyError)
from rrgkit.evaluation import ClinicalTagMetric
from rrgkit.registry import METRICS
from rrgkit.structures.report_sample import ReportDataSample
from rrgkit.utils.setup_env import load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
GGO, NOD, EFF = 'ground-glass opacity', 'nodule', 'pleural effusion'
SYM, NO_EFF = 'thorax symmetrical', 'no pleural effusion'


def _vocab(language='english'):
    abnormal, normal = [GGO, NOD, EFF], [SYM, NO_EFF]
    return TagVocabulary(language, abnormal, normal,
                         {t: 1 for t in abnormal + normal},
                         lexicon_sha256=DEFAULT_LEXICON.fingerprint())


def _samples():
    third = ReportDataSample().set_gt_report('The thorax was symmetrical.')
    third.set_pred_report('the thorax was symmetrical .').set_gt_label(0)
    third.set_metainfo(dict(img_id=2))
    return [
        # gt_reports (normalised references) win over the raw gt_report;
        # DCA: the nodule reads as "not COVID" (wrong)
        dict(img_id=0, gt_report='Nodule.', gt_reports=[
            'the thorax was symmetrical . ground glass shadow in the right '
            'lung .'], pred_report='the thorax was symmetrical . ground '
            'glass shadow and a nodule in the right lung .',
            gt_label=torch.tensor(1)),
        # no label: CE only; the negated effusion is not an effusion
        dict(img_id=1, gt_report='Pleural effusion was seen.',
             pred_report='no pleural effusion .'),
        third,  # a data sample; DCA: nothing fires -> 0 (right)
        # padding of a distributed sampler: id 0 again, dropped
        dict(img_id=0, gt_report='x', pred_report='a nodule .'),
    ]


def test_name_not_taken_by_mmpretrain():
    importlib.import_module('mmpretrain.evaluation')
    from mmpretrain.registry import METRICS as MMPRETRAIN_METRICS
    assert 'ClinicalTagMetric' not in MMPRETRAIN_METRICS.module_dict
    assert METRICS.get('ClinicalTagMetric') is ClinicalTagMetric


def test_scores_by_hand_through_an_evaluator():
    metric = METRICS.build(dict(type='ClinicalTagMetric',
                                vocabulary=_vocab().to_dict()))
    evaluator = Evaluator(metric)
    evaluator.process(data_samples=_samples()[:2])
    evaluator.process(data_samples=_samples()[2:])
    scores = evaluator.evaluate(4)
    # Abnormal: GGO TP, NOD FP (image 0), EFF FN (image 1). All tags add
    # SYM (TP in 0 and 2) and NO_EFF (FP in 1).
    assert scores == pytest.approx({
        'CE/abnormal/micro_P': 1 / 2, 'CE/abnormal/micro_R': 1 / 2,
        'CE/abnormal/micro_F1': 1 / 2, 'CE/abnormal/macro_P': 1 / 3,
        'CE/abnormal/macro_R': 1 / 3, 'CE/abnormal/macro_F1': 1 / 3,
        'CE/abnormal/num_tags': 3.0,
        'CE/all/micro_P': 3 / 5, 'CE/all/micro_R': 3 / 4,
        'CE/all/micro_F1': 2 / 3, 'CE/all/macro_P': 2 / 5,
        'CE/all/macro_R': 2 / 5, 'CE/all/macro_F1': 2 / 5,
        'CE/all/num_tags': 5.0, 'CE/num_samples': 3.0,
        # images 0 (wrong) and 2 (right); image 1 has no label
        'CE/DCA/accuracy': 1 / 2, 'CE/DCA/undetermined': 0.0,
        'CE/DCA/accuracy_non_covid': 1.0, 'CE/DCA/accuracy_covid': 0.0,
        'CE/DCA/num_samples': 2.0,
    })
    assert [(i['id'], i['abnormal/F1'], i['all/F1'])
            for i in metric.last_items] == pytest.approx(
                [(0, 2 / 3, 4 / 5), (1, 0.0, 0.0), (2, 1.0, 1.0)])
    assert metric.last_items[1]['generated_tags'] == [NO_EFF]
    assert metric.last_items[1]['reference_tags'] == [EFF]


def test_without_dca_and_bad_input():
    metric = METRICS.build(dict(type='ClinicalTagMetric', dca=False,
                                vocabulary=_vocab(), prefix='ce_test'))
    metric.process(None, _samples()[:1])
    scores = metric.evaluate(1)
    assert scores['ce_test/abnormal/micro_P'] == 1 / 2
    assert not any('DCA' in k for k in scores)
    with pytest.raises(KeyError, match="no 'pred_report'"):
        metric.process(None, [dict(gt_report='x')])
    with pytest.raises(KeyError, match="neither 'gt_reports' nor"):
        metric.process(None, [dict(pred_report='x')])
    with pytest.raises(ValueError, match='received no results'):
        metric.compute_metrics([])
    # A Chinese dataset scored with an English vocabulary: refused.
    metric.dataset_meta = dict(language='english', split='test')
    with pytest.raises(ValueError, match='dataset is chinese'):
        metric.dataset_meta = dict(language='zh')
    zh = METRICS.build(dict(type='ClinicalTagMetric', language='zh',
                            vocabulary=_vocab('chinese')))
    assert zh._dca.extractor.language == 'chinese'
    assert zh.negation_window is None


def test_missing_tag_file_is_mined_or_named(tmp_path):
    ann = {'train': [dict(id=f't{i}', label1='english',
                          report='Ground glass shadow in the right lung.')
                     for i in range(3)],
           'test': [dict(id='x', label1='english', report='Nodule.')]}
    (tmp_path / 'annotation.json').write_text(json.dumps(ann))
    cfg = dict(type='ClinicalTagMetric',
               tags_file=str(tmp_path / 'tags_en.json'),
               data_root=str(tmp_path), ann_file='annotation.json')
    with pytest.raises(TagVocabularyError, match="give the reports' lang"):
        METRICS.build(cfg)
    metric = METRICS.build(dict(cfg, language='en'))
    assert metric.vocab.tags == [GGO, 'right lung']
    with pytest.raises(TagVocabularyError, match='mine_tags.py'):
        METRICS.build(dict(type='ClinicalTagMetric',
                           tags_file=str(tmp_path / 'tags_en.json'),
                           data_root=str(tmp_path / 'none'),
                           ann_file='annotation.json', language='en'))


@pytest.mark.parametrize('short', ['en', 'zh'])
def test_covctr_configs_score_ce_without_the_mined_file(
        short, covctr_root, tmp_path):
    """A fresh clone (CI) has the data but no mined tag file: the configs'
    metric mines the same vocabulary mine_tags.py writes (61 English, 63
    Chinese tags, the num_tags of covctr_*_tags.py)."""
    base = osp.join(REPO, 'configs', '_base_', 'datasets')
    cfg = load_config(osp.join(base, f'covctr_{short}.py'))
    ce, = [m for m in cfg.val_evaluator
           if m['type'].__name__ == 'ClinicalTagMetric']
    assert ce['tags_file'] == f'data/covctr_tags_{short}.json'
    metric = METRICS.build(dict(ce, tags_file=str(tmp_path / 'absent.json'),
                                data_root=str(covctr_root)))
    tags_cfg = load_config(osp.join(base, f'covctr_{short}_tags.py'))
    assert len(metric.vocab) == tags_cfg.num_tags
    assert metric.vocab.language == ('english' if short == 'en' else
                                     'chinese')
