# Copyright (c) rrgkit contributors. All rights reserved.
import pytest
import torch
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

from rrgkit.models.region_proposers.cam_threshold import (
    CAMThresholdProposer, cam_heatmap, crop_and_resize, heatmap_to_boxes)
from rrgkit.models.tokenizers import ReportTokenizer
from rrgkit.models.utils.visual_features import pool_feature_map
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample

TINY_DENSENET = dict(type='DenseNet',
                     arch=dict(growth_rate=4, depths=[1, 1], init_channels=8))
NUM_TAGS = 5
REPORTS = ['The heart is normal. No effusion.',
           'A nodule in the right lung. No effusion.']


def _proposer(**kwargs):
    cfg = dict(type='CAMThresholdProposer', region_backbone=TINY_DENSENET,
               num_tags=NUM_TAGS, crop_size=32)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _samples(n=2, tags=True):
    samples = []
    for i in range(n):
        sample = ReportDataSample().set_gt_report(REPORTS[i % 2])
        if tags:
            sample.set_gt_tags([float((i + j) % 2) for j in range(NUM_TAGS)])
        samples.append(sample)
    return samples


def _global(inputs, num_views=1):
    backbone = MODELS.build(TINY_DENSENET)
    images = inputs.flatten(0, 1) if inputs.dim() == 5 else inputs
    return backbone, pool_feature_map(backbone(images)[-1], num_views)


def test_name_is_free_in_mmpretrain():
    assert 'CAMThresholdProposer' not in MMPRETRAIN_MODELS.module_dict
    assert MODELS.get('CAMThresholdProposer') is CAMThresholdProposer


def test_heatmap_is_max_abs_over_channels_and_min_max_normalised():
    feat = torch.rand(2, 3, 4, 4)
    feat[0, 1, 2, 2] = -5.0  # strongest |f| of image 0, negative
    heat = cam_heatmap(feat, (16, 16))
    assert heat.shape == (2, 16, 16)
    for h in heat:
        assert h.min().item() == pytest.approx(0.0, abs=1e-6)
        assert h.max().item() == pytest.approx(1.0, abs=1e-6)
    # the -5 at feature cell (2, 2) is the centre of input pixels 8..11
    assert heat[0, 9:11, 9:11].min() > 0.95
    row, col = divmod(int(heat[0].argmax()), 16)
    assert 9 <= row <= 10 and 9 <= col <= 10
    flat = cam_heatmap(torch.full((1, 2, 4, 4), 3.0), (8, 8))
    assert torch.equal(flat, torch.zeros(1, 8, 8))  # no contrast


def test_hot_corner_of_the_feature_map_gives_a_box_in_that_corner():
    feat = torch.zeros(1, 4, 4, 4)
    feat[0, 2, 0, 3] = -3.0  # top-right cell
    feat[0, 0, 3, 0] = 1.0  # a weaker spot, bottom-left, below tau
    heat = cam_heatmap(feat, (32, 32))
    x1, y1, x2, y2 = heatmap_to_boxes(heat, threshold=0.7)[0].tolist()
    assert (x2, y1) == (32, 0)  # touches the top-right corner
    assert x1 >= 16 and y2 <= 16  # stays in the top-right quadrant
    assert heat[0, 0, 31] == pytest.approx(1.0)


def test_box_of_the_larger_region_and_whole_image_fallback():
    heat = torch.zeros(2, 10, 12)
    heat[0, 1:3, 1:3] = 0.9  # 4 pixels
    heat[0, 5:9, 6:11] = 0.8  # 20 pixels, larger but cooler
    boxes = heatmap_to_boxes(heat, threshold=0.7)
    assert boxes[0].tolist() == [6.0, 5.0, 11.0, 9.0]
    assert boxes[1].tolist() == [0.0, 0.0, 12.0, 10.0]  # nothing >= tau


def test_crop_and_resize():
    image = torch.arange(2 * 8 * 8, dtype=torch.float32).view(1, 2, 8, 8)
    crop = crop_and_resize(image, torch.tensor([[2.0, 4.0, 6.0, 8.0]]), 4)
    assert torch.equal(crop, image[:, :, 4:8, 2:6])  # same size: exact
    # fractional boxes are rounded outwards; empty boxes keep one pixel
    crop = crop_and_resize(image, torch.tensor([[2.5, 4.2, 5.1, 7.9]]), 4)
    assert torch.equal(crop, image[:, :, 4:8, 2:6])
    crop = crop_and_resize(image, torch.tensor([[3.0, 3.0, 3.0, 3.0]]), 2)
    assert torch.equal(crop, image[:, :, 3:4, 3:4].expand(1, 2, 2, 2))
    with pytest.raises(ValueError, match='boxes'):
        crop_and_resize(image, torch.zeros(2, 4), 4)


def test_end_to_end_shapes_losses_and_gradients():
    torch.manual_seed(0)
    inputs = torch.randn(2, 3, 32, 32)
    backbone, visual = _global(inputs)
    proposer = _proposer()
    assert proposer.out_channels == 10
    out, losses = proposer(inputs, visual, _samples())
    assert out.global_feat.shape == (2, 10)
    assert out.tokens.shape == (2, 16 + 16, 10)  # 4x4 global + 4x4 region
    assert torch.equal(out.tokens[:, :16], visual.tokens)
    assert out.extras['tag_logits'].shape == (2, NUM_TAGS)
    assert out.extras['tag_logits_global'].shape == (2, NUM_TAGS)
    assert out.extras['tag_logits_region'].shape == (2, NUM_TAGS)
    assert out.extras['heatmap'].shape == (2, 32, 32)
    boxes = out.extras['region_boxes']
    assert boxes.shape == (2, 4)
    assert (boxes[:, 2] > boxes[:, 0]).all()
    assert (boxes[:, 3] > boxes[:, 1]).all()
    assert (boxes >= 0).all() and (boxes <= 32).all()
    assert set(losses) == {'loss_tag_global', 'loss_tag_region',
                           'loss_tag_fused'}
    sum(losses.values()).backward()
    assert backbone.stem[0].weight.grad.abs().sum() > 0
    assert proposer.region_backbone.stem[0].weight.grad.abs().sum() > 0


def test_no_tags_no_losses_and_bad_tags_are_clear_errors():
    inputs = torch.randn(2, 3, 32, 32)
    _, visual = _global(inputs)
    proposer = _proposer().eval()
    out, losses = proposer(inputs, visual, None)
    assert losses == {} and 'tag_logits' in out.extras
    _, losses = proposer(inputs, visual, _samples(tags=False))
    assert losses == {}
    mixed = _samples(tags=False)
    mixed[0].set_gt_tags([1.0] * NUM_TAGS)
    with pytest.raises(ValueError, match='no gt_tags'):
        proposer(inputs, visual, mixed)
    wrong = _samples()
    wrong[1].set_gt_tags([1.0, 0.0])
    with pytest.raises(ValueError, match='num_tags'):
        proposer(inputs, visual, wrong)


@pytest.mark.parametrize('fusion,expected', [
    ('mul', [3.0, -8.0]), ('add', [4.0, 2.0]), ('max', [3.0, 4.0]),
    ('mean', [2.0, 1.0])])
def test_fusion_modes(fusion, expected):
    proposer = _proposer(fusion=fusion, region_channels=10)
    g, r = torch.tensor([[1.0, -2.0]]), torch.tensor([[3.0, 4.0]])
    assert proposer.fuse(g, r).tolist() == [expected]


def test_unequal_widths_need_projection():
    inputs = torch.randn(2, 3, 32, 32)
    _, visual = _global(inputs)  # 10 channels
    wide = dict(TINY_DENSENET, arch=dict(growth_rate=4, depths=[1, 1],
                                         init_channels=16))  # 14 channels
    with pytest.raises(ValueError, match='project=True'):
        _proposer(region_backbone=wide, in_channels=10)
    proposer = _proposer(region_backbone=wide)
    with pytest.raises(ValueError, match='project=True'):
        proposer(inputs, visual, _samples())
    with pytest.raises(ValueError, match='in_channels'):
        _proposer(region_backbone=wide, project=True)
    proposer = _proposer(region_backbone=wide, project=True, in_channels=10,
                         embed_dims=12, fusion='add')
    assert proposer.out_channels == 12
    out, losses = proposer(inputs, visual, _samples())
    assert out.global_feat.shape == (2, 12)
    assert out.tokens.shape == (2, 32, 12)
    assert len(losses) == 3


def test_multi_view_uses_the_first_view():
    torch.manual_seed(0)
    inputs = torch.randn(2, 2, 3, 32, 32)
    _, visual = _global(inputs, num_views=2)
    proposer = _proposer().eval()
    out, _ = proposer(inputs, visual, None)
    assert out.tokens.shape == (2, 2 * 16 + 16, 10)
    ref, _ = proposer(inputs[:, 0], visual, None)
    assert torch.equal(out.extras['region_boxes'], ref.extras['region_boxes'])
    assert torch.allclose(out.global_feat, ref.global_feat)


def test_region_backbone_init_cfg_is_applied():
    region = dict(TINY_DENSENET,
                  init_cfg=dict(type='Constant', val=0.25, layer='Conv2d'))
    proposer = _proposer(region_backbone=region)
    proposer.init_weights()
    assert torch.all(proposer.region_backbone.stem[0].weight == 0.25)


def test_report_generator_with_the_proposer():
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='ReportGenerator',
        backbone=TINY_DENSENET,
        region_proposer=dict(type='CAMThresholdProposer',
                             region_backbone=TINY_DENSENET,
                             num_tags=NUM_TAGS, crop_size=32,
                             loss_tag=dict(type='TagBCELoss')),
        decoder=dict(type='LSTMDecoder', embed_dims=16, hidden_dims=24),
        tokenizer=ReportTokenizer(language='en').build_vocab(REPORTS),
        max_len=20))
    assert model.decoder.image_embed[0].in_features == 10
    batch = dict(inputs=[torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8)
                         for _ in range(2)], data_samples=_samples())
    data = model.data_preprocessor(batch, training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_report', 'loss_tag_global',
                           'loss_tag_region', 'loss_tag_fused'}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0
    assert (model.region_proposer.region_backbone.stem[0].weight.grad.abs()
            .sum() > 0)
    model.eval()
    out = model(**model.data_preprocessor(batch), mode='predict')
    assert len(out) == 2 and all(isinstance(s.pred_report, str) for s in out)
