# Copyright (c) rrgkit contributors. All rights reserved.
"""Tests of Cr@k retrieval and conclusion stripping (hand-computed)."""
import math

import numpy as np
import pytest
import torch

from rrgkit.evaluation.functional.conclusion import (COVCTR_CONCLUSIONS,
                                                     ConclusionExtractor)
from rrgkit.evaluation.functional.retrieval import (conclusion_recall_at_k,
                                                    rank_images,
                                                    strip_conclusion)
from rrgkit.models.tokenizers.text_cleaning import clean_report_en


def test_cr_at_k_hand_computed():
    scores = [[3.0, 1.0, 2.0],   # q0 ranks images 0, 2, 1
              [0.0, 0.0, 1.0]]   # q1 ranks 2, then the tie 0, 1
    np.testing.assert_array_equal(rank_images(scores), [[0, 2, 1],
                                                        [2, 0, 1]])
    # q0 (label 1) sees labels 1, 1, 0 -> 1/1, 2/2, 2/3
    # q1 (label 0) sees labels 1, 1, 0 -> 0/1, 0/2, 1/3
    out = conclusion_recall_at_k(scores, [1, 0], [1, 0, 1], ks=(1, 2, 3))
    assert out == pytest.approx({'Cr@1': 0.5, 'Cr@2': 0.5,
                                 'Cr@3': (2 / 3 + 1 / 3) / 2})
    assert list(out) == ['Cr@1', 'Cr@2', 'Cr@3']


def test_ties_break_by_image_index():
    scores = torch.zeros(1, 3)  # tensors are accepted
    out = conclusion_recall_at_k(scores, torch.tensor([1]), [0, 1, 1],
                                 ks=(1, 2))
    assert out == {'Cr@1': 0.0, 'Cr@2': 0.5}
    # -inf (impossible text) ranks last; a single int k is allowed.
    out = conclusion_recall_at_k([[-math.inf, -5.0, -7.0]], [0], [0, 1, 1],
                                 ks=2)
    assert out == {'Cr@2': 0.0}


def test_default_ks_on_ten_images():
    # 2 queries x 10 images, scores decreasing with the image index.
    scores = np.tile(-np.arange(10.0), (2, 1))
    image_labels = np.array([1, 0, 1, 1, 0, 0, 0, 1, 0, 0])
    out = conclusion_recall_at_k(scores, [1, 0], image_labels)
    # q0 (1): top-1 {1}, top-5 three 1s, top-10 four 1s; q1 is the rest.
    assert out == pytest.approx({'Cr@1': (1 + 0) / 2,
                                 'Cr@5': (3 / 5 + 2 / 5) / 2,
                                 'Cr@10': (4 / 10 + 6 / 10) / 2})


def test_bad_inputs_raise():
    scores = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r'k=4 .*num_images=3'):
        conclusion_recall_at_k(scores, [0, 1], [0, 1, 1], ks=(1, 4))
    with pytest.raises(ValueError, match='k=0'):
        conclusion_recall_at_k(scores, [0, 1], [0, 1, 1], ks=(0,))
    with pytest.raises(ValueError, match='ks is empty'):
        conclusion_recall_at_k(scores, [0, 1], [0, 1, 1], ks=())
    with pytest.raises(ValueError, match=r'query_labels must have shape '
                       r'\(2,\).*scores.shape\[0\]'):
        conclusion_recall_at_k(scores, [0, 1, 1], [0, 1, 1], ks=(1,))
    with pytest.raises(ValueError, match=r'image_labels must have shape '
                       r'\(3,\)'):
        conclusion_recall_at_k(scores, [0, 1], [0, 1], ks=(1,))
    with pytest.raises(ValueError, match='num_queries, num_images'):
        rank_images([1.0, 2.0])
    with pytest.raises(ValueError, match='NaN'):
        rank_images([[0.0, math.nan]])


def test_strip_conclusion_with_presets():
    findings = 'The thorax was symmetrical, ground glass shadow was seen.'
    report = findings + ' ' + COVCTR_CONCLUSIONS['en'][1]
    assert strip_conclusion(report) == findings
    assert strip_conclusion(clean_report_en(report)) == (
        'the thorax was symmetrical ground glass shadow was seen .')
    # Loose conclusion words go too; symptom words stay.
    assert strip_conclusion('Ground glass shadow, suspicious for COVID-19 '
                            'pneumonia.') == 'Ground glass shadow, ' \
                                             'suspicious for.'
    extractor = ConclusionExtractor.from_preset('covctr_zh')
    zh = '胸廓对称，双肺见磨玻璃影。' + COVCTR_CONCLUSIONS['zh'][0]
    assert strip_conclusion(zh, extractor) == '胸廓对称，双肺见磨玻璃影。'
    assert strip_conclusion('胸廓对称，新冠肺炎，磨玻璃影。', 'covctr_zh') == \
        '胸廓对称，磨玻璃影。'
    spaced = ' '.join(COVCTR_CONCLUSIONS['zh'][1]) + ' 胸 廓 对 称'
    assert strip_conclusion(spaced, 'covctr_zh') == '胸 廓 对 称'
    # After stripping, only the findings decide the class.
    assert extractor(zh) == 0 and extractor(strip_conclusion(zh, extractor)) \
        == 1


def test_strip_conclusion_with_word_list():
    words = ['covid', 'pneumonia']
    assert strip_conclusion('a covid-19 pneumonia . b', words) == 'a . b'
    assert strip_conclusion('Mild x. Normal study. y', ['normal study.']) == \
        'Mild x. y'
    assert strip_conclusion('双肺纹理清晰，正常。', ['正常'], language='zh') == \
        '双肺纹理清晰。'
    with pytest.raises(ValueError, match='word list is empty'):
        strip_conclusion('text', [])
    with pytest.raises(KeyError, match='Unknown conclusion preset'):
        strip_conclusion('text', 'covid')
