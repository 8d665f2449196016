# Copyright (c) rrgkit contributors. All rights reserved.
"""Tests of the report text metrics (BLEU, METEOR, ROUGE-L, CIDEr-D).

METEOR starts a Java process that loads a paraphrase table (several
seconds), so only the golden fixture and one other test use it.
"""
import contextlib
import io
import os
import shutil

import pytest

from rrgkit.evaluation.functional import (JavaNotFoundError,
                                          compute_nlg_scores,
                                          compute_nlg_scores_per_item,
                                          compute_nlg_scores_with_items,
                                          text_tokenize, tokenize_for_eval)

needs_java = pytest.mark.skipif(
    shutil.which('java') is None, reason='Java (for PTB/METEOR) not found')

PREDICTIONS = {
    'exact': 'The heart size is normal. The lungs are clear.',
    'partial': 'The lungs are clear (no consolidation). No pleural effusion.',
    'multi': 'Mild cardiomegaly with small left pleural effusion.',
    'disjoint': 'Degenerative changes of the thoracic spine.',
    'newline': 'Patchy opacity in the right lower lobe,\nconcerning for '
               'pneumonia.',
    'empty': '',
}
REFERENCES = {
    'exact': ['The heart size is normal. The lungs are clear.'],
    'partial': ['Lungs are clear bilaterally. There is no pleural effusion '
                'or pneumothorax.'],
    'multi': [
        'There is mild cardiomegaly.',
        'Small left pleural effusion and mild cardiomegaly are seen.',
        'Heart is mildly enlarged, with a small left effusion.',
    ],
    'disjoint': ['No acute cardiopulmonary process.'],
    'newline': ['Right lower lobe opacity, which may represent pneumonia.'],
    'empty': ['No pneumothorax.'],
}
ALL_KEYS = ['BLEU-1', 'BLEU-2', 'BLEU-3', 'BLEU-4', 'METEOR', 'ROUGE-L',
            'CIDEr-D']


def _reference_scores(meteor):
    """Scores from pycocoevalcap used directly, the COCO-caption way."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    tokenizer = PTBTokenizer()
    res = tokenizer.tokenize(
        {i: [{'caption': p}] for i, p in PREDICTIONS.items()})
    gts = tokenizer.tokenize(
        {i: [{'caption': r} for r in refs] for i, refs in REFERENCES.items()})
    out = {}
    with contextlib.redirect_stdout(io.StringIO()):
        bleu, bleu_items = Bleu(4).compute_score(gts, res)
        for n in range(4):
            out[f'BLEU-{n + 1}'] = (bleu[n], bleu_items[n])
        out['METEOR'] = meteor.compute_score(gts, res)
        out['ROUGE-L'] = Rouge().compute_score(gts, res)
        out['CIDEr-D'] = Cider().compute_score(gts, res)
    return out, res, gts


@pytest.fixture(scope='module')
def golden():
    if shutil.which('java') is None:
        pytest.skip('Java (for PTB/METEOR) not found')
    import pycocoevalcap.tokenizer.ptbtokenizer as ptb
    if not os.access(os.path.dirname(ptb.__file__), os.W_OK):
        pytest.skip('pycocoevalcap PTBTokenizer writes into its read-only '
                    'package folder')
    import pycocoevalcap.meteor.meteor as meteor_module
    started = []

    class SpyMeteor(meteor_module.Meteor):

        def __init__(self):
            super().__init__()
            started.append(self)

    # Start the reference METEOR first: its JVM loads while ours runs.
    reference_meteor = meteor_module.Meteor()
    try:
        stdout = io.StringIO()
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(meteor_module, 'Meteor', SpyMeteor)
            with contextlib.redirect_stdout(stdout):
                ours, items = compute_nlg_scores_with_items(
                    PREDICTIONS, REFERENCES, eval_tokenizer='ptb')
        reference, res, gts = _reference_scores(reference_meteor)
    finally:
        reference_meteor.meteor_p.kill()
        reference_meteor.meteor_p.wait()
    return dict(ours=ours, items=items, reference=reference, res=res,
                gts=gts, meteors=started, stdout=stdout.getvalue())


def test_golden_corpus_scores_match_pycocoevalcap(golden):
    ours, reference = golden['ours'], golden['reference']
    assert list(ours) == ALL_KEYS
    for key in ALL_KEYS:
        tol = 1e-6 if key == 'METEOR' else 1e-9
        assert ours[key] == pytest.approx(reference[key][0], abs=tol), key
        assert isinstance(ours[key], float)
    # Sanity on the scale: BLEU etc. in 0..1, CIDEr-D x10 scale.
    assert 0 < ours['BLEU-4'] < ours['BLEU-1'] < 1
    assert 0 < ours['CIDEr-D'] < 10


def test_golden_per_item_scores_match_pycocoevalcap(golden):
    items, reference = golden['items'], golden['reference']
    ids = list(PREDICTIONS)
    for key in ALL_KEYS:
        tol = 1e-6 if key == 'METEOR' else 1e-9
        assert list(items[key]) == ids
        assert [items[key][i] for i in ids] == pytest.approx(
            list(reference[key][1]), abs=tol), key
    # The exact match is perfect, the empty prediction scores 0 everywhere.
    assert items['BLEU-4']['exact'] == pytest.approx(1.0, abs=1e-6)
    assert items['ROUGE-L']['exact'] == 1.0
    assert items['METEOR']['exact'] > 0.9
    for key in ALL_KEYS:
        assert items[key]['empty'] == pytest.approx(0.0, abs=1e-9), key


def test_golden_ptb_tokenization_and_process_cleanup(golden):
    texts = {i: [p] for i, p in PREDICTIONS.items()}
    assert tokenize_for_eval(texts, 'ptb') == golden['res']
    assert tokenize_for_eval(REFERENCES, 'ptb') == golden['gts']
    assert golden['res']['empty'] == ['']
    assert golden['res']['exact'] == ['the heart size is normal the lungs '
                                      'are clear']
    # One METEOR process was started and it is shut down; nothing printed.
    assert len(golden['meteors']) == 1
    assert golden['meteors'][0].meteor_p.poll() is not None
    assert golden['stdout'] == ''


@needs_java
def test_meteor_second_call_sanitized_texts():
    import pycocoevalcap.meteor.meteor as meteor_module
    started = []

    class SpyMeteor(meteor_module.Meteor):

        def __init__(self):
            super().__init__()
            started.append(self)

    preds = {1: 'no|||effusion\nseen', 2: '', 3: 'heart normal'}
    refs = {1: ['no effusion seen'], 2: ['lungs clear'], 3: ['heart normal']}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(meteor_module, 'Meteor', SpyMeteor)
        items = compute_nlg_scores_per_item(
            preds, refs, eval_tokenizer='whitespace', metrics=['METEOR'])
    assert list(items) == ['METEOR']
    # '|||' and the newline are spaces for METEOR: a perfect match.
    assert items['METEOR'][1] > 0.9
    assert items['METEOR'][2] == 0.0
    assert items['METEOR'][3] > 0.9
    assert len(started) == 1 and started[0].meteor_p.poll() is not None


def test_identical_and_disjoint_predictions():
    refs = {
        1: ['the lungs are clear without focal consolidation'],
        2: ['no pleural effusion or pneumothorax is seen'],
        3: ['the cardiomediastinal silhouette is within normal limits'],
    }
    same = compute_nlg_scores({i: r[0] for i, r in refs.items()}, refs,
                              eval_tokenizer='whitespace',
                              metrics=('BLEU', 'ROUGE_L', 'CIDEr'))
    assert same['BLEU-4'] == pytest.approx(1.0, abs=1e-6)
    assert same['ROUGE-L'] == 1.0
    assert same['CIDEr-D'] > 5
    assert 'METEOR' not in same

    other = {i: 'xx yy zz ww vv' for i in refs}
    disjoint = compute_nlg_scores(other, refs, eval_tokenizer='whitespace',
                                  metrics=('BLEU', 'ROUGE_L', 'CIDEr'))
    assert disjoint['BLEU-1'] == pytest.approx(0.0, abs=1e-6)
    assert disjoint['ROUGE-L'] == 0.0
    assert disjoint['CIDEr-D'] == 0.0


def test_per_item_rouge_and_cider_average_to_corpus():
    preds = {'a': 'lungs clear', 'b': 'heart normal size', 'c': ''}
    refs = {'a': ['the lungs are clear'], 'b': ['heart size normal'],
            'c': ['no effusion']}
    corpus, items = compute_nlg_scores_with_items(
        preds, refs, eval_tokenizer='whitespace',
        metrics=('ROUGE-L', 'cider'))
    assert set(corpus) == {'ROUGE-L', 'CIDEr-D'}
    for key in corpus:
        assert corpus[key] == pytest.approx(sum(items[key].values()) / 3)
        assert items[key]['c'] == 0.0
    # ROUGE-L by hand for 'a': LCS 2, P = 2/2, R = 2/4, beta = 1.2.
    p, r, b2 = 1.0, 0.5, 1.44
    assert items['ROUGE-L']['a'] == pytest.approx((1 + b2) * p * r /
                                                  (r + b2 * p))


def test_empty_prediction_without_meteor():
    scores = compute_nlg_scores({1: '', 2: 'heart normal'},
                                {1: ['lungs clear'], 2: ['heart normal']},
                                eval_tokenizer='whitespace',
                                metrics=('BLEU', 'ROUGE_L', 'CIDEr'))
    assert 0 <= scores['BLEU-1'] <= 1 and 0 < scores['ROUGE-L'] < 1


def test_single_item_cider_is_zero_with_warning():
    with pytest.warns(UserWarning, match='single item'):
        scores = compute_nlg_scores({1: 'heart normal'}, {1: 'heart normal'},
                                    eval_tokenizer='whitespace',
                                    metrics=('CIDEr', ))
    assert scores == {'CIDEr-D': 0.0}


def test_mismatched_ids_and_bad_inputs():
    with pytest.raises(ValueError, match=r"no reference \(e\.g\. \['b'\]\)"
                       r".*no prediction \(e\.g\. \['c'\]\)"):
        compute_nlg_scores({'a': 'x', 'b': 'y'}, {'a': ['x'], 'c': ['z']},
                           eval_tokenizer='whitespace', metrics=('BLEU', ))
    with pytest.raises(ValueError, match="id 'a' has no reference"):
        compute_nlg_scores({'a': 'x'}, {'a': []},
                           eval_tokenizer='whitespace', metrics=('BLEU', ))
    with pytest.raises(TypeError, match="prediction for id 'a'"):
        compute_nlg_scores({'a': ['x']}, {'a': ['x']},
                           eval_tokenizer='whitespace', metrics=('BLEU', ))
    with pytest.raises(ValueError, match='nothing to score'):
        compute_nlg_scores({}, {}, eval_tokenizer='whitespace')
    with pytest.raises(ValueError, match="unknown NLG metric 'SPICE'.*'BLEU'"):
        compute_nlg_scores({'a': 'x'}, {'a': ['x']},
                           eval_tokenizer='whitespace', metrics=('SPICE', ))
    with pytest.raises(ValueError, match="unknown eval_tokenizer 'nltk'.*"
                       "'ptb', 'whitespace', 'char', 'jieba'"):
        compute_nlg_scores({'a': 'x'}, {'a': ['x']}, eval_tokenizer='nltk')


def test_missing_java_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(text_tokenize.shutil, 'which', lambda name: None)
    with pytest.raises(JavaNotFoundError,
                       match="default-jre-headless.*eval_tokenizer="
                       "'whitespace'"):
        tokenize_for_eval({1: ['a b']}, 'ptb')
    with pytest.raises(JavaNotFoundError, match='METEOR'):
        compute_nlg_scores({1: 'a'}, {1: ['a']}, eval_tokenizer='whitespace')
    # Java-free modes still work.
    assert tokenize_for_eval({1: ['A b.']}, 'whitespace') == {1: ['a b']}


def test_whitespace_tokenization():
    out = tokenize_for_eval(
        {'k': ['The heart is NORMAL. No effusion , (x-ray) 3.5 cm.\n', ' ',
               '...']}, 'whitespace')
    assert out == {'k': ['the heart is normal no effusion x-ray 3.5 cm', '',
                         '']}


def test_chinese_char_and_jieba_tokenization():
    text = '胸廓对称，纵隔居中。'
    assert tokenize_for_eval({0: [text]}, 'char') == {
        0: ['胸 廓 对 称 纵 隔 居 中']}
    mixed = tokenize_for_eval({0: ['病灶约2.5cm，T2WI高信号；见3个结节、']},
                              'char')
    assert mixed == {0: ['病 灶 约 2.5cm t2wi 高 信 号 见 3 个 结 节']}

    words = tokenize_for_eval({0: [text]}, 'jieba')[0][0].split()
    assert ''.join(words) == '胸廓对称纵隔居中'  # punctuation dropped
    assert len(words) < 8 and '纵隔' in words  # words, not characters


def test_chinese_scores_differ_between_char_and_jieba():
    preds = {
        1: '胸廓对称，纵隔居中，双肺纹理清晰。',
        2: '右肺下叶见磨玻璃影。',
        3: '双肺未见明显实变。',
    }
    refs = {
        1: ['胸廓对称，纵隔居中，双肺纹理增多。'],
        2: ['右肺下叶见斑片状磨玻璃密度影。'],
        3: ['双肺见多发磨玻璃影。'],
    }
    kwargs = dict(metrics=('BLEU', 'ROUGE_L', 'CIDEr'))
    char = compute_nlg_scores(preds, refs, eval_tokenizer='char', **kwargs)
    jieba = compute_nlg_scores(preds, refs, eval_tokenizer='jieba', **kwargs)
    assert char['BLEU-1'] > 0.3 and jieba['BLEU-1'] > 0.3
    assert char['BLEU-4'] != pytest.approx(jieba['BLEU-4'])
    assert char['CIDEr-D'] != pytest.approx(jieba['CIDEr-D'])


def test_tokenize_rejects_bad_values():
    with pytest.raises(TypeError, match=r"texts\[1\] must be a list"):
        tokenize_for_eval({1: 'abc'}, 'whitespace')
