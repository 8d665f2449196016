# Copyright (c) rrgkit contributors. All rights reserved.
import pytest

from rrgkit.datasets import AnnotationError
from rrgkit.datasets.descriptions.checks import (annotator_texts,
                                                 infer_description_names,
                                                 validate_description_records)


def test_infer_names_and_annotator_texts():
    located = [('train', 0, 'junk'), ('train', 1, dict(descriptions={})),
               ('train', 2, dict(descriptions={'b': 'x', 'a': 'y'}))]
    assert infer_description_names(located, 'descriptions') == ('b', 'a')
    assert infer_description_names([('t', 0, dict(d=['x', 'y', 'z']))],
                                   'd') == ('description_0', 'description_1',
                                            'description_2')
    assert infer_description_names(located[:2], 'descriptions') is None
    rec = dict(d={'a': [' A1 ', 'A2'], 'b': ['B1', '']})
    assert annotator_texts(rec, 'd', ['a', 'b']) == [['A1', 'B1'],
                                                     ['A2', '']]
    assert annotator_texts(dict(d=['x', 'y']), 'd', ['a', 'b']) == [['x',
                                                                     'y']]


def test_validate_valid_and_invalid():
    good = dict(id=1, image_path='x.png', d={'a': ['t', 'u']},
                conclusion=['c1', 'c2'], label=1)
    validate_description_records([('train', 0, good)], 'f.json', 'd', ['a'],
                                 conclusion_key='conclusion',
                                 label_key='label', num_classes=2)
    bad = dict(good, id=True, image_path='', label=2)
    with pytest.raises(AnnotationError) as err:
        validate_description_records([('val', 3, bad)], 'f.json', 'd', ['a'],
                                     label_key='label', num_classes=2)
    msg = str(err.value)
    assert msg.startswith("3 problem(s) in multi-description annotation "
                          "file 'f.json'")
    assert "split 'val' record #3, id True: key 'id' must be a string" in msg
    assert "key 'image_path' is empty" in msg
    assert "key 'label' is 2, outside the 2 conclusion_classes" in msg
