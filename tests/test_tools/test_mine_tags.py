# Copyright (c) rrgkit contributors. All rights reserved.
"""tools/dataset_converters/mine_tags.py on a tiny hand-made annotation."""
import hashlib
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest

from rrgkit.datasets import AnnotationError, ReportDataset
from rrgkit.datasets.tags import (TagVocabularyError, add_tags_to_annotation,
                                  file_sha256, resplit_ids)
from rrgkit.utils.setup_env import run_cli

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GGO, RL = 'ground-glass opacity', 'right lung'
SYM, NO_LN = 'thorax symmetrical', 'no lymph node enlargement'

# id -> (split, English report, Chinese report)
RECORDS = {
    'a': ('train', 'The thorax was symmetrical, no enlarged lymph nodes were '
          'seen in the mediastinum. Ground glass shadow was seen in the lower '
          'lobe of the right lung.', '胸廓对称，纵隔内未见肿大淋巴结。右肺下叶见磨玻璃影。'),
    'b': ('train', 'The thorax was symmetrical, no enlarged lymph nodes were '
          'seen in the mediastinum. Ground glass shadow was seen in both '
          'lungs, with blurred margins.', '胸廓对称，纵隔内未见肿大淋巴结。双肺见磨玻璃影，边缘模糊。'),
    'c': ('train', 'The thorax was symmetrical. A nodule was seen in the '
          'upper lobe of the left lung.', '胸廓对称。左肺上叶见结节影。'),
    'd': ('train', 'Mildly enlarged lymph nodes were seen in the mediastinum. '
          'Patchy solid shadow was seen in the right lung.',
          '纵隔内见轻度肿大淋巴结影。右肺见斑片状实变影。'),
    'e': ('train', '', ''),
    'f': ('val', 'No enlarged lymph nodes were seen in the mediastinum.',
          '纵隔内未见肿大淋巴结。'),
    'g': ('val', 'Ground glass shadow in the right lung.', '右肺见磨玻璃影。'),
    'h': ('test', 'The thorax was symmetrical, a nodule was seen.',
          '胸廓对称，见结节影。'),
}
LABELS = {
    'a': [GGO, RL, SYM, NO_LN], 'b': [GGO, SYM, NO_LN], 'c': [SYM],
    'd': [RL], 'e': [], 'f': [NO_LN], 'g': [GGO, RL], 'h': [SYM]
}


def _load_tool():
    path = osp.join(REPO, 'tools', 'dataset_converters', 'mine_tags.py')
    spec = importlib.util.spec_from_file_location('rrgkit_tool_mine_tags',
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def tool():
    return _load_tool()


def _write_ann(path, moves=None):
    ann = {'train': [], 'val': [], 'test': []}
    for rid, (split, en, zh) in RECORDS.items():
        split = (moves or {}).get(rid, split)
        for lang, report in (('english', en), ('chinese', zh)):
            ann[split].append(dict(id=rid, image_path=f'{rid}.png',
                                   report=report, split=split, COVID=1,
                                   label1=lang))
    path.write_text(json.dumps(ann, ensure_ascii=False), encoding='utf-8')
    return path


def _split_hash(splits):
    text = json.dumps({k: sorted(v) for k, v in splits.items()},
                      sort_keys=True, separators=(',', ':'))
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def _run(tool, ann, out, *extra):
    tool.main([str(ann), '--language', 'english', '--out', str(out),
               '--min-count', '2', *extra])
    return json.loads(out.read_text(encoding='utf-8'))


def test_mines_vocabulary_and_labels_every_image(tool, tmp_path, capsys):
    ann = _write_ann(tmp_path / 'annotation.json')
    out = tmp_path / 'tags_en.json'
    data = _run(tool, ann, out)
    assert data['abnormal'] == [GGO, RL]
    assert data['normal'] == [SYM, NO_LN]
    assert data['tags'] == [GGO, RL, SYM, NO_LN]
    assert data['counts'] == {GGO: 2, RL: 2, SYM: 3, NO_LN: 2}
    assert data['language'] == 'english' and data['num_reports'] == 4
    assert data['labels'] == LABELS  # val/test too; negation respected
    assert data['source_ann_sha256'] == hashlib.sha256(
        ann.read_bytes()).hexdigest()
    assert data['split_sha256'] == _split_hash({
        'train': 'abcde', 'val': 'fg', 'test': 'h'
    })
    assert data['split'] == {'resplit': None}
    assert data['miner_version'] == '1.0' and len(data['version']) == 16
    shown = capsys.readouterr().out
    assert '4 english tags (2 abnormal, 2 normal)' in shown
    assert 'ground-glass opacity' in shown and 'lymph node' in shown
    assert '8 images labelled' in shown

    zh = tmp_path / 'tags_zh.json'
    tool.main([str(ann), '--language', 'zh', '--out', str(zh),
               '--min-count', '2'])
    data_zh = json.loads(zh.read_text(encoding='utf-8'))
    assert data_zh['tags'] == data['tags']  # same canonical names
    assert data_zh['labels'] == LABELS
    assert data_zh['split_sha256'] == data['split_sha256']
    assert data_zh['version'] != data['version']


def test_refuses_to_overwrite_other_data_unless_forced(tool, tmp_path):
    ann = _write_ann(tmp_path / 'annotation.json')
    out = tmp_path / 'tags.json'
    first = _run(tool, ann, out)
    assert _run(tool, ann, out) == first  # same data: fine
    before = out.read_bytes()
    _write_ann(ann, moves={'g': 'train'})  # a different split
    with pytest.raises(TagVocabularyError,
                       match='different annotation / split.*--force'):
        _run(tool, ann, out)
    assert out.read_bytes() == before
    forced = _run(tool, ann, out, '--force')
    assert forced['split_sha256'] != first['split_sha256']
    assert forced['counts'][GGO] == 3
    with pytest.raises(TagVocabularyError, match='different language'):
        tool.main([str(ann), '--language', 'zh', '--out', str(out)])
    other = tmp_path / 'notes.json'
    other.write_text('my notes', encoding='utf-8')
    with pytest.raises(TagVocabularyError, match='not a readable rrgkit'):
        _run(tool, ann, other)
    assert other.read_text(encoding='utf-8') == 'my notes'


def test_input_errors_print_one_line(tool, tmp_path, capsys):
    missing = tmp_path / 'missing.json'
    with pytest.raises(SystemExit) as exc:
        run_cli(lambda: _run(tool, missing, tmp_path / 'out.json'))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert 'missing.json' in err and 'not found' in err
    assert 'Traceback' not in err
    ann = _write_ann(tmp_path / 'annotation.json')
    out = str(tmp_path / 'x.json')
    with pytest.raises(TagVocabularyError, match='--language'):
        tool.main([str(ann), '--language', 'french', '--out', out])
    with pytest.raises(AnnotationError,
                       match=r"annotation.json: No english record: field "
                       r"'COVID' holds \['1'\].*--language-key"):
        tool.main([str(ann), '--language', 'en', '--out', out,
                   '--language-key', 'COVID'])
    with pytest.raises(SystemExit):  # argparse: --min-count must be >= 1
        tool.main([str(ann), '--language', 'en', '--out', out,
                   '--min-count', '0'])
    assert not (tmp_path / 'out.json').exists()
    assert not (tmp_path / 'x.json').exists()


def test_resplit_matches_report_dataset(tool, tmp_path):
    ann = _write_ann(tmp_path / 'annotation.json')
    out = tmp_path / 'tags.json'
    data = _run(tool, ann, out, '--resplit-seed', '3', '--resplit-ratios',
                '0.5', '0.25', '0.25')
    assert data['split'] == {'resplit': {'seed': 3,
                                         'ratios': [0.5, 0.25, 0.25]}}
    splits = resplit_ids(RECORDS, seed=3, ratios=(0.5, 0.25, 0.25))
    assert data['split_sha256'] == _split_hash(splits)
    assert sorted(data['labels']) == sorted(RECORDS)
    for split in ('train', 'val', 'test'):
        dataset = ReportDataset(str(ann), split=split, language='english',
                                resplit=dict(seed=3,
                                             ratios=(0.5, 0.25, 0.25)),
                                empty_report='skip', check_files=False)
        ids = {dataset.get_data_info(i)['img_id'] for i in range(len(dataset))}
        assert ids == set(splits[split]) - {'e'}, split


def test_add_tags_to_annotation_feeds_report_dataset(tool, tmp_path):
    ann = _write_ann(tmp_path / 'annotation.json')
    tags = tmp_path / 'tags.json'
    _run(tool, ann, tags)
    tagged = tmp_path / 'annotation_tagged.json'
    assert add_tags_to_annotation(ann, tags, tagged) == str(tagged)
    copy = json.loads(tagged.read_text(encoding='utf-8'))
    for recs in copy.values():
        for rec in recs:  # both languages of an image get its tags
            assert rec['tags'] == LABELS[rec['id']]
            assert {'report', 'COVID', 'label1'} <= set(rec)
    vocab = [GGO, RL, SYM, NO_LN]
    for language in ('english', 'chinese'):
        dataset = ReportDataset(str(tagged), split='train', language=language,
                                tags_key='tags', tag_names=str(tags),
                                empty_report='skip', check_files=False)
        assert dataset.metainfo['tag_names'] == vocab
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            want = [float(t in LABELS[info['img_id']]) for t in vocab]
            np.testing.assert_array_equal(info['gt_tags'], want)

    # Safety checks.
    with pytest.raises(AnnotationError, match='is the annotation itself'):
        add_tags_to_annotation(ann, tags, ann)
    sha = file_sha256(ann)
    _write_ann(ann, moves={'g': 'train'})
    assert file_sha256(ann) != sha
    with pytest.raises(TagVocabularyError, match='different annotation'):
        add_tags_to_annotation(ann, tags, tmp_path / 'x.json')
    add_tags_to_annotation(ann, tags, tmp_path / 'x.json', check_source=False)
    extra = json.loads(ann.read_text(encoding='utf-8'))
    extra['test'].append(dict(extra['test'][0], id='new'))
    ann.write_text(json.dumps(extra), encoding='utf-8')
    with pytest.raises(TagVocabularyError, match='no labels for 1') as exc:
        add_tags_to_annotation(ann, tags, tmp_path / 'y.json',
                               check_source=False)
    assert "id 'new'" in str(exc.value)
    assert not (tmp_path / 'y.json').exists()


@pytest.mark.parametrize('language,short', [('english', 'en'),
                                            ('chinese', 'zh')])
def test_covctr_num_tags_matches_what_the_miner_finds(
        tool, tmp_path, covctr_root, language, short):
    """The ``num_tags`` the COV-CTR tag configs hard-code (for the tag
    classifiers of CoAtt, ASGK and the graph encoders) is the size of the
    vocabulary this miner writes from the real train split."""
    from rrgkit.utils.setup_env import load_config
    out = tmp_path / f'tags_{short}.json'
    tool.main([str(covctr_root / 'annotation.json'), '--language', language,
               '--out', str(out)])
    mined = json.loads(out.read_text(encoding='utf-8'))['tags']
    base = osp.join(REPO, 'configs', '_base_', 'datasets',
                    f'covctr_{short}_tags.py')
    assert load_config(base).num_tags == len(mined)
