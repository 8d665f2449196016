# Copyright (c) rrgkit contributors. All rights reserved.
import pytest
import torch

from rrgkit.models.tokenizers import ReportTokenizer
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample

TINY = dict(type='DenseNet',
            arch=dict(growth_rate=4, depths=[1, 1], init_channels=8))
PROPOSER = dict(type='CAMThresholdProposer', region_backbone=TINY,
                num_tags=3, crop_size=32)


def _batch():
    inputs = [torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8)
              for _ in range(2)]
    samples = [ReportDataSample().set_gt_report('a b .').set_gt_tags(t)
               for t in ([1, 0, 1], [0, 1, 0])]
    return dict(inputs=inputs, data_samples=samples)


def test_tag_classifier_losses_and_predictions():
    model = MODELS.build(dict(type='TagClassifier', backbone=TINY,
                              region_proposer=PROPOSER))
    data = model.data_preprocessor(_batch(), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_tag_global', 'loss_tag_region',
                           'loss_tag_fused'}
    out = model(**data, mode='predict')
    assert out[0].pred_tags.shape == (3, )
    assert ((out[0].pred_tags > 0) & (out[0].pred_tags < 1)).all()
    assert out[0].pred_region_box.shape == (4, )
    no_tags = dict(data, data_samples=[ReportDataSample(), ReportDataSample()])
    with pytest.raises(ValueError, match='gt_tags'):
        model(**no_tags, mode='loss')


def test_stage2_weights_load_into_the_report_generator():
    stage2 = MODELS.build(dict(type='TagClassifier', backbone=TINY,
                               region_proposer=PROPOSER))
    generator = MODELS.build(dict(
        type='ReportGenerator', backbone=TINY, region_proposer=PROPOSER,
        decoder=dict(type='LSTMDecoder', embed_dims=8, hidden_dims=8),
        tokenizer=ReportTokenizer().build_vocab(['a b .'])))
    state = stage2.state_dict()
    missing, unexpected = generator.load_state_dict(state, strict=False)
    assert unexpected == []
    assert all(k.startswith(('decoder.', 'vocab.', 'loss_module'))
               for k in missing)
    key = 'region_proposer.region_backbone.stem.0.weight'
    assert torch.equal(generator.state_dict()[key], state[key])
