# Copyright (c) rrgkit contributors. All rights reserved.
import copy
import json
import os
import pickle

import pytest
import torch

from rrgkit.models.tokenizers import (ReportTokenizer, VocabularyMismatchError,
                                      build_tokenizer, clean_report_en,
                                      clean_report_zh)
from rrgkit.models.tokenizers import builder as builder_module
from rrgkit.models.tokenizers import report_tokenizer as rt_module
from rrgkit.registry import DATASETS, TOKENIZERS

COVCTR_EN = ('The thorax was symmetrical, the mediastinal heart shadow was '
             'centered, and no enlarged lymph nodes were seen in the '
             'mediastinum.\n')
COVCTR_EN_TOKENS = [
    'the', 'thorax', 'was', 'symmetrical', 'the', 'mediastinal', 'heart',
    'shadow', 'was', 'centered', 'and', 'no', 'enlarged', 'lymph', 'nodes',
    'were', 'seen', 'in', 'the', 'mediastinum', '.'
]
COVCTR_ZH = '胸廓对称，纵隔心影居中。'
CORPUS = [
    'The heart is normal. The lungs are clear.',
    'The heart is enlarged. No effusion.',
    'Heart size is normal; ground-glass opacity in the lungs.',
]


class FakeCorpus:
    """Stands in for a report dataset: only ``get_reports`` and ``split``."""

    def __init__(self, reports, split='train'):
        self.reports, self.split = list(reports), split
        self.calls = 0

    def get_reports(self):
        self.calls += 1
        return list(self.reports)


@pytest.fixture
def logs(monkeypatch):
    lines = []
    monkeypatch.setattr(builder_module, 'print_log',
                        lambda msg, **kwargs: lines.append(msg))
    return lines


@pytest.fixture
def tok():
    return ReportTokenizer().build_vocab(CORPUS)


def test_registry_name_is_free_and_builds():
    import mmpretrain.models  # noqa: F401  registers mmpretrain tokenizers
    from mmpretrain.registry import TOKENIZER
    assert 'ReportTokenizer' not in TOKENIZER.module_dict
    assert TOKENIZERS.get('ReportTokenizer') is ReportTokenizer
    built = TOKENIZERS.build(dict(type='ReportTokenizer', language='zh'))
    assert isinstance(built, ReportTokenizer) and built.language == 'zh'


def test_english_cleaning_on_covctr_report():
    tokenizer = ReportTokenizer()
    assert tokenizer.tokenize(COVCTR_EN) == COVCTR_EN_TOKENS
    assert clean_report_en('Heart:  normal-sized -- 3.5 cm.\n\n. Ａ  B_c') \
        == 'heart normal-sized 3.5 cm . a b c .'
    assert clean_report_en('The Heart.', lowercase=False) == 'The Heart .'
    assert clean_report_en(' .. , ') == ''
    assert tokenizer.tokenize('') == []


def test_chinese_char_and_jieba():
    char = ReportTokenizer(language='zh')
    assert char.tokenize(COVCTR_ZH) == [
        '胸', '廓', '对', '称', '，', '纵', '隔', '心', '影', '居', '中', '。'
    ]
    # Half-width punctuation, whitespace, quotes and full-width letters.
    assert clean_report_zh(' 胸廓对称, 纵隔心影居中；见3.5ＣＭ “铺路石征”、结节!! ，') \
        == '胸廓对称，纵隔心影居中，见3.5cm铺路石征，结节。'
    assert char.tokenize('见3.5cm结节') == ['见', '3.5', 'cm', '结', '节', '。']
    jieba = ReportTokenizer(language='zh', zh_mode='jieba')
    words = jieba.tokenize(COVCTR_ZH)
    assert ''.join(words) == COVCTR_ZH
    assert '，' in words and words[-1] == '。'
    assert any(len(w) > 1 for w in words) and len(words) < 12
    jieba.build_vocab([COVCTR_ZH])
    assert jieba.decode(jieba.encode(COVCTR_ZH)) == COVCTR_ZH


def test_build_vocab_min_freq_and_order(tok):
    assert tok.vocab[:4] == ['<pad>', '<bos>', '<eos>', '<unk>']
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id) == (0, 1, 2, 3)
    # '.' 5x, 'the' 4x, 'heart'/'is' 3x, ...; ties alphabetical.
    assert tok.vocab[4:] == [
        '.', 'the', 'heart', 'is', 'lungs', 'normal', 'are', 'clear',
        'effusion', 'enlarged', 'ground-glass', 'in', 'no', 'opacity', 'size'
    ]
    assert len(tok) == tok.vocab_size == 19
    frequent = ReportTokenizer(min_freq=2).build_vocab(CORPUS)
    assert frequent.vocab[4:] == ['.', 'the', 'heart', 'is', 'lungs',
                                  'normal']
    again = ReportTokenizer().build_vocab(list(reversed(CORPUS)))
    assert again.vocab == tok.vocab and again.vocab_hash == tok.vocab_hash
    assert frequent.build_vocab(CORPUS, min_freq=3).vocab[4:] == [
        '.', 'the', 'heart', 'is'
    ]
    assert frequent.min_freq == 3
    with pytest.raises(ValueError, match='lower min_freq'):
        ReportTokenizer(min_freq=99).build_vocab(CORPUS)
    with pytest.raises(ValueError, match='no reports'):
        ReportTokenizer().build_vocab([])


def test_encode_decode_unknown_and_truncation(tok):
    ids = tok.encode('The heart is normal.')
    heart = tok.token_to_id['heart']
    assert ids == [1, tok.token_to_id['the'], heart, tok.token_to_id['is'],
                   tok.token_to_id['normal'], tok.token_to_id['.'], 2]
    assert tok.decode(ids) == 'the heart is normal .'
    assert tok.decode(torch.tensor(ids + [0, 0])) == 'the heart is normal .'
    assert tok.encode('The spleen is normal.', add_special=False)[1] == 3
    assert tok.decode(tok.encode('spleen heart')) == '<unk> heart .'
    assert tok.detokenize_reference('Spleen, heart') == 'spleen heart .'
    assert tok.decode([1, heart, 2, heart]) == 'heart'
    assert tok.decode([1, heart, 2], skip_special=False) == \
        '<bos> heart <eos>'
    truncated = tok.encode('The heart is normal.', max_len=4)
    assert truncated == [1, tok.token_to_id['the'], heart, 2]
    assert tok.encode('The heart.', max_len=4) == ids[:3] + [2]
    assert tok.encode('The heart is', add_special=False, max_len=2) == \
        ids[1:3]
    with pytest.raises(ValueError, match='max_len'):
        tok.encode('heart', max_len=1)
    with pytest.raises(ValueError, match='outside the vocabulary'):
        tok.decode([1, 999])
    with pytest.raises(TypeError, match='batch_decode'):
        tok.decode([[1, 2]])


def test_default_max_len_from_init():
    tokenizer = ReportTokenizer(max_len=3).build_vocab(CORPUS)
    assert len(tokenizer.encode('the heart is normal')) == 3
    assert len(tokenizer.encode('the heart is normal', max_len=5)) == 5


def test_batch_encode_and_decode(tok):
    ids, lengths = tok.batch_encode(['heart .', 'the heart is normal .', ''])
    assert ids.dtype == torch.long and lengths.dtype == torch.long
    assert ids.shape == (3, 7) and lengths.tolist() == [4, 7, 2]
    assert ids[0, 4:].tolist() == [0, 0, 0]
    assert ids[2].tolist() == [1, 2, 0, 0, 0, 0, 0]
    assert tok.batch_decode(ids) == ['heart .', 'the heart is normal .', '']
    ids, lengths = tok.batch_encode(['the heart is normal .'] * 2, max_len=5)
    assert ids.shape == (2, 5) and ids[:, -1].tolist() == [2, 2]
    empty, lengths = tok.batch_encode([])
    assert empty.shape == (0, 0) and lengths.numel() == 0


def test_unbuilt_vocab_error():
    tokenizer = ReportTokenizer()
    assert not tokenizer.is_built and bool(tokenizer)
    for call in (lambda: tokenizer.encode('heart'), lambda: tokenizer.vocab,
                 lambda: tokenizer.batch_encode(['heart']),
                 tokenizer.state_dict):
        with pytest.raises(RuntimeError, match=r'build_vocab.*vocab='):
            call()
    assert tokenizer.tokenize('Heart.') == ['heart', '.']


def test_token_list_vocab_and_chinese_decode():
    tokenizer = ReportTokenizer(vocab=['heart', 'normal', '.'])
    assert tokenizer.vocab[:5] == ['<pad>', '<bos>', '<eos>', '<unk>', 'heart']
    assert tokenizer.encode('Heart normal.') == [1, 4, 5, 6, 2]
    with pytest.raises(ValueError, match='special tokens'):
        ReportTokenizer(vocab=['heart', '<pad>'])
    with pytest.raises(ValueError, match='twice'):
        ReportTokenizer(vocab=['heart', 'heart'])
    zh = ReportTokenizer(language='zh').build_vocab([COVCTR_ZH])
    assert zh.decode(zh.encode(COVCTR_ZH)) == COVCTR_ZH
    assert zh.detokenize_reference('胸廓 对称 ,肺') == '胸廓对称，肺。'
    assert zh.decode(zh.encode('胸廓对称，肺')) == '胸廓对称，<unk>。'


def test_tokenize_cache(monkeypatch):
    tokenizer = ReportTokenizer()
    tokenizer.cache_size = 2
    calls = []
    original = tokenizer.clean
    monkeypatch.setattr(tokenizer, 'clean',
                        lambda text: calls.append(text) or original(text))
    first = tokenizer.tokenize('The heart.')
    first.append('mutated')  # callers get a copy, the cache is unchanged
    assert tokenizer.tokenize('The heart.') == ['the', 'heart', '.']
    assert calls == ['The heart.']
    tokenizer.tokenize('a')
    tokenizer.tokenize('b')  # evicts 'The heart.' (least recently used)
    assert len(tokenizer._cache) == 2
    tokenizer.tokenize('The heart.')
    assert calls == ['The heart.', 'a', 'b', 'The heart.']


def test_save_load_round_trip_atomic(tok, tmp_path):
    path = tmp_path / 'work_dir' / 'vocab.json'
    assert tok.save(path) == str(path)
    assert os.listdir(path.parent) == ['vocab.json']
    state = json.loads(path.read_text(encoding='utf-8'))
    assert state['format'] == 'rrgkit-vocab-v1' and state['tokens'] == \
        tok.vocab
    assert set(state) == {'format', 'language', 'zh_mode', 'lowercase',
                          'min_freq', 'max_len', 'tokens'}
    for loaded in (ReportTokenizer.from_file(path),
                   ReportTokenizer(vocab=str(path)),
                   ReportTokenizer.from_state_dict(tok.state_dict()),
                   pickle.loads(pickle.dumps(tok)), copy.deepcopy(tok)):
        assert loaded.vocab == tok.vocab
        assert loaded.vocab_hash == tok.vocab_hash
        loaded.check_compatible(tok, 'the original')
    zh = ReportTokenizer(language='zh').build_vocab([COVCTR_ZH])
    zh.save(path)  # overwrite; Chinese is stored as UTF-8 text
    assert '胸' in path.read_text(encoding='utf-8')
    assert ReportTokenizer.from_file(path).vocab_hash == zh.vocab_hash
    assert zh.vocab_hash != tok.vocab_hash


def test_failed_save_leaves_old_file_and_no_temp(tok, tmp_path, monkeypatch):
    path = tmp_path / 'vocab.json'
    path.write_text('old', encoding='utf-8')

    def broken_replace(src, dst):
        raise OSError('disk full')

    monkeypatch.setattr(rt_module.os, 'replace', broken_replace)
    with pytest.raises(OSError, match='disk full'):
        tok.save(path)
    assert os.listdir(tmp_path) == ['vocab.json']
    assert path.read_text(encoding='utf-8') == 'old'


def test_bad_vocab_files(tmp_path):
    missing = tmp_path / 'nope.json'
    with pytest.raises(FileNotFoundError, match=r'nope\.json.*build_vocab'):
        ReportTokenizer.from_file(missing)
    corrupt = tmp_path / 'corrupt.json'
    corrupt.write_text('{"format": "rrgkit-vocab-v1", "tok', encoding='utf-8')
    with pytest.raises(ValueError, match=r'corrupt\.json.*not valid'):
        ReportTokenizer.from_file(corrupt)
    other = tmp_path / 'other.json'
    other.write_text('{"format": "bpe", "tokens": []}', encoding='utf-8')
    with pytest.raises(ValueError, match=r'other\.json.*rrgkit-vocab-v1'):
        ReportTokenizer(vocab=other)
    state = ReportTokenizer().build_vocab(CORPUS).state_dict()
    del state['lowercase']
    with pytest.raises(ValueError, match=r"missing key.*'lowercase'"):
        ReportTokenizer.from_state_dict(state)


def test_mismatch_error_message(tok, tmp_path):
    other = ReportTokenizer().build_vocab(CORPUS[:2])
    ckpt = 'work_dirs/lstm/epoch_3.pth'
    with pytest.raises(VocabularyMismatchError) as info:
        tok.check_compatible(other.state_dict(), ckpt)
    msg = str(info.value)
    assert isinstance(info.value, ValueError)
    for part in (ckpt, f'{tok.vocab_size} tokens',
                 f'{other.vocab_size} tokens', tok.vocab_hash,
                 other.vocab_hash, 'position', 'tools/test.py', 'min_freq'):
        assert part in msg, part
    first = next(i for i, (a, b) in enumerate(zip(tok.vocab, other.vocab))
                 if a != b)
    assert f'position {first}: {tok.vocab[first]!r}' in msg
    cased = ReportTokenizer(lowercase=False, vocab=tok.vocab)
    with pytest.raises(VocabularyMismatchError, match='lowercase=True'):
        tok.check_compatible(cased, ckpt)
    # A vocab file whose settings contradict the config is refused.
    tok.save(tmp_path / 'vocab.json')
    with pytest.raises(VocabularyMismatchError, match='language'):
        ReportTokenizer(language='zh', vocab=tmp_path / 'vocab.json')
    # min_freq/max_len do not change what ids mean.
    tok.check_compatible(ReportTokenizer(max_len=9, vocab=tok.vocab), ckpt)


def test_build_tokenizer_from_corpus_object_and_vocab(logs, tmp_path):
    corpus = FakeCorpus(CORPUS)
    tokenizer = build_tokenizer(dict(type='ReportTokenizer', corpus=corpus))
    assert corpus.calls == 1 and tokenizer.vocab_size == 19
    assert len(logs) == 1 and '19 tokens' in logs[0] and 'FakeCorpus' in \
        logs[0]
    path = tokenizer.save(tmp_path / 'vocab.json')
    reloaded = build_tokenizer(dict(vocab=path, corpus=corpus))
    assert corpus.calls == 1  # vocab wins, the corpus is not read
    assert reloaded.vocab_hash == tokenizer.vocab_hash
    given = build_tokenizer(dict(min_freq=2), corpus_reports=CORPUS)
    assert given.vocab_size == 10
    val = FakeCorpus(CORPUS, split='val')
    build_tokenizer(ReportTokenizer(), corpus_reports=None)
    logs.clear()
    build_tokenizer(dict(corpus=val))
    assert any('training split' in line for line in logs)
    assert build_tokenizer(dict(language='zh')).is_built is False


@pytest.fixture
def fake_dataset_type():
    name = '_TestReportCorpus'

    class _TestReportCorpus(FakeCorpus):

        def __init__(self, ann_file, split='train'):
            super().__init__(CORPUS, split)
            self.ann_file = ann_file

    DATASETS.register_module(name=name, module=_TestReportCorpus, force=True)
    yield name
    DATASETS._module_dict.pop(name, None)


def test_build_tokenizer_from_dataset_config(logs, fake_dataset_type):
    corpus = dict(type=fake_dataset_type, ann_file='a.json', split='test')
    tokenizer = build_tokenizer(dict(type='ReportTokenizer', corpus=corpus))
    assert tokenizer.vocab_size == 19
    assert 'training split' in logs[0] and "split='test'" in logs[0]
    assert "ann_file='a.json'" in logs[-1] and '19 tokens' in logs[-1]


def test_real_covctr_round_trip(covctr_root):
    ann = covctr_root / 'annotation.json'
    data = json.loads(ann.read_text(encoding='utf-8'))
    for language, code in (('english', 'en'), ('chinese', 'zh')):
        reports = [
            s['report'] for s in data['train']
            if s['label1'] == language and s['report']
        ]
        tokenizer = ReportTokenizer(language=code).build_vocab(reports)
        for report in reports:
            assert tokenizer.decode(tokenizer.encode(report)) == \
                tokenizer.detokenize_reference(report)
        assert '<unk>' not in tokenizer.decode(tokenizer.encode(reports[0]))
