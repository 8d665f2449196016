# Copyright (c) rrgkit contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from PIL import Image

from rrgkit.datasets import DatasetError
from rrgkit.datasets.transforms import EachView, PackReportInputs
from rrgkit.registry import TRANSFORMS
from rrgkit.structures import ReportDataSample


def _pipeline(*cfgs):
    return Compose([TRANSFORMS.build(c) for c in cfgs])


def _save(path, h, w, value=120):
    Image.fromarray(np.full((h, w, 3), value, dtype=np.uint8)).save(path)
    return str(path)


def test_load_resize_pack_single(tmp_path):
    path = _save(tmp_path / 'x.png', 40, 80)
    pipe = _pipeline(dict(type='LoadReportImage'),
                     dict(type='Resize', scale=(64, 64), keep_ratio=False),
                     dict(type='PackReportInputs'))
    out = pipe(
        dict(img_id='x',
             img_path=path,
             report='Clear lungs.',
             gt_label=1,
             gt_tags=np.array([0, 1], np.float32),
             gt_boxes=np.array([[8, 4, 40, 20]], np.float32)))
    inputs, sample = out['inputs'], out['data_samples']
    assert inputs.shape == (3, 64, 64) and inputs.dtype == torch.uint8
    assert int(inputs[0, 10, 10]) == 120
    assert isinstance(sample, ReportDataSample)
    assert sample.img_id == 'x' and sample.img_path == path
    assert sample.ori_shape == (40, 80) and sample.img_shape == (64, 64)
    assert sample.gt_report == 'Clear lungs.'
    assert sample.references == ['Clear lungs.']
    assert sample.gt_label.item() == 1
    assert sample.gt_tags.tolist() == [0.0, 1.0]
    # x scaled by 64 / 80 = 0.8, y by 64 / 40 = 1.6.
    torch.testing.assert_close(sample.gt_boxes,
                               torch.tensor([[6.4, 6.4, 32.0, 32.0]]))


def test_boxes_follow_keep_ratio_resize(tmp_path):
    path = _save(tmp_path / 'x.png', 20, 40)
    pipe = _pipeline(dict(type='LoadReportImage'),
                     dict(type='Resize', scale=(80, 80), keep_ratio=True),
                     dict(type='PackReportInputs'))
    out = pipe(
        dict(img_path=path,
             report='r',
             gt_boxes=np.array([[1, 2, 3, 4]], np.float32)))
    assert out['inputs'].shape == (3, 40, 80)
    torch.testing.assert_close(out['data_samples'].gt_boxes,
                               torch.tensor([[2.0, 4.0, 6.0, 8.0]]))


def test_gt_boxes_without_loader_use_scale_factor():
    pack = PackReportInputs()
    out = pack(
        dict(img=np.zeros((10, 10, 3), np.uint8),
             report='r',
             gt_boxes=np.array([[1, 1, 2, 2]]),
             scale_factor=(2, 3)))
    assert out['data_samples'].gt_boxes.tolist() == [[2, 3, 4, 6]]


def test_each_view_multi_view(tmp_path):
    paths = [
        _save(tmp_path / '0.png', 40, 80, 10),
        _save(tmp_path / '1.png', 30, 30, 200)
    ]
    pipe = _pipeline(
        dict(type='LoadReportImage'),
        dict(
            type='EachView',
            transforms=[dict(type='Resize',
                             scale=(64, 64), keep_ratio=False)]),
        dict(type='PackReportInputs'))
    out = pipe(
        dict(img_id='m',
             img_path=paths,
             report='Two views.',
             gt_reports=['Two views.', 'Both views clear.']))
    inputs, sample = out['inputs'], out['data_samples']
    assert inputs.shape == (2, 3, 64, 64) and inputs.dtype == torch.uint8
    assert int(inputs[0, 0, 5, 5]) == 10 and int(inputs[1, 0, 5, 5]) == 200
    assert sample.ori_shape == [(40, 80), (30, 30)]
    assert sample.img_shape == [(64, 64), (64, 64)]
    assert sample.img_path == paths
    assert sample.references == ['Two views.', 'Both views clear.']


def test_each_view_keeps_shared_keys_and_single_image():
    view = EachView([dict(type='Resize', scale=(8, 8), keep_ratio=False)])
    out = view(
        dict(img=[np.zeros((4, 6, 3), np.uint8)] * 3,
             img_shape=[(4, 6)] * 3,
             report='shared'))
    assert out['report'] == 'shared'
    assert [i.shape for i in out['img']] == [(8, 8, 3)] * 3
    assert out['scale_factor'] == [(8 / 6, 2.0)] * 3
    single = view(dict(img=np.zeros((4, 6, 3), np.uint8), report='r'))
    assert single['img'].shape == (8, 8, 3)
    assert single['scale_factor'] == (8 / 6, 2.0)


def test_views_of_different_size_error(tmp_path):
    paths = [
        _save(tmp_path / '0.png', 10, 10),
        _save(tmp_path / '1.png', 8, 8)
    ]
    pipe = _pipeline(dict(type='LoadReportImage'),
                     dict(type='PackReportInputs'))
    with pytest.raises(DatasetError, match='EachView'):
        pipe(dict(img_path=paths, report='r'))


def test_grayscale_and_missing_img():
    out = PackReportInputs()(dict(img=np.zeros((5, 7), np.uint8)))
    assert out['inputs'].shape == (1, 5, 7)
    assert 'gt_report' not in out['data_samples']
    with pytest.raises(DatasetError, match='LoadReportImage'):
        PackReportInputs()(dict(report='r'))


def test_multi_description_fields():
    pack = PackReportInputs()
    out = pack(
        dict(img=np.zeros((4, 4, 3), np.uint8),
             report='Heart normal. Lungs clear.',
             references=['Heart normal. Lungs clear.', 'Normal study.'],
             descriptions=['Heart normal.', 'Lungs clear.', ''],
             conclusion='no evidence of covid-19 pneumonia.'))
    sample = out['data_samples']
    assert sample.gt_descriptions == ['Heart normal.', 'Lungs clear.', '']
    assert sample.gt_conclusion == 'no evidence of covid-19 pneumonia.'
    assert sample.gt_reports == ['Heart normal. Lungs clear.',
                                 'Normal study.']
    assert sample.references == sample.gt_reports
    # gt_reports wins over references; an empty conclusion is kept.
    out = pack(
        dict(img=np.zeros((4, 4, 3), np.uint8),
             gt_reports=['a'],
             references=['b'],
             conclusion=''))
    assert out['data_samples'].gt_reports == ['a']
    assert out['data_samples'].gt_conclusion == ''
    # Datasets without these keys get none of the fields.
    plain = pack(dict(img=np.zeros((4, 4, 3), np.uint8), report='r'))
    sample = plain['data_samples']
    assert 'gt_descriptions' not in sample and 'gt_conclusion' not in sample
    assert 'gt_reports' not in sample and sample.references == ['r']
