# Copyright (c) rrgkit contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from rrgkit.models.tokenizers import ReportTokenizer
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample

TINY = dict(type='DenseNet',
            arch=dict(growth_rate=4, depths=[1, 1], init_channels=8))


def _batch():
    torch.manual_seed(0)
    inputs = [torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8)
              for _ in range(2)]
    samples = [ReportDataSample().set_gt_tags(t).set_gt_label(y)
               for t, y in (([1, 0, 1], 1), ([0, 1, 0], 0))]
    return dict(inputs=inputs, data_samples=samples)


def _model(**kwargs):
    torch.manual_seed(0)
    return MODELS.build(dict(type='FindingClassifier', backbone=TINY,
                             num_tags=3, **kwargs))


def test_losses_equal_bce_and_cross_entropy_of_the_heads():
    model = _model()
    data = model.data_preprocessor(_batch(), training=True)
    losses = model(**data, mode='loss')
    feat = model(data['inputs'], mode='tensor')
    tags = torch.tensor([[1., 0., 1.], [0., 1., 0.]])
    expected_tags = F.binary_cross_entropy_with_logits(
        model.tag_head(feat), tags)
    expected_label = F.cross_entropy(model.label_head(feat),
                                     torch.tensor([1, 0]))
    assert torch.allclose(losses['loss_tags'], expected_tags)
    assert torch.allclose(losses['loss_label'], expected_label)


def test_predictions_are_probabilities():
    model = _model().eval()
    data = model.data_preprocessor(_batch(), training=False)
    out = model(**data, mode='predict')
    assert out[0].pred_tags.shape == (3, )
    assert ((out[0].pred_tags > 0) & (out[0].pred_tags < 1)).all()
    assert torch.allclose(out[0].pred_label_scores.sum(), torch.tensor(1.))
    assert int(out[0].pred_label) == int(out[0].pred_label_scores.argmax())


def test_label_only_model_and_missing_targets():
    model = _model(num_classes=2, tag_loss=dict(type='TagBCELoss'))
    data = model.data_preprocessor(_batch(), training=True)
    no_targets = dict(data, data_samples=[ReportDataSample()] * 2)
    with pytest.raises(ValueError, match='needs tags'):
        model(**no_targets, mode='loss')
    with pytest.raises(ValueError, match='num_tags > 0 or num_classes'):
        MODELS.build(dict(type='FindingClassifier', backbone=TINY,
                          num_tags=0, num_classes=0))


def test_backbone_weights_load_into_the_report_generator():
    pretrained = _model()
    generator = MODELS.build(dict(
        type='ReportGenerator', backbone=TINY,
        decoder=dict(type='LSTMDecoder', embed_dims=8, hidden_dims=8),
        tokenizer=ReportTokenizer().build_vocab(['a b .'])))
    state = {k: v for k, v in pretrained.state_dict().items()
             if k.startswith('backbone.')}
    missing, unexpected = generator.load_state_dict(state, strict=False)
    assert unexpected == []
    assert not any(k.startswith('backbone.') for k in missing)
