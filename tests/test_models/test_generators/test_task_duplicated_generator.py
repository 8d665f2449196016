# Copyright (c) rrgkit contributors. All rights reserved.
import pytest
import torch

from rrgkit.models.generators.task_duplicated_generator import repeat_visual
from rrgkit.models.tokenizers import ReportTokenizer
from rrgkit.models.utils.visual_features import VisualFeatures
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample

NAMES = ['heart', 'lungs']
DATA = [  # (descriptions, conclusion, label)
    (['The heart is normal.', 'No nodule.'], 'Normal study.', 0),
    (['The heart is enlarged.', 'A nodule in the right lung.'],
     'Abnormal study.', 1),
    (['The heart is normal.', ''], 'Normal study.', 0),
]
TINY_DENSENET = dict(type='DenseNet',
                     arch=dict(growth_rate=4, depths=[1, 1], init_channels=8))


def _model(**kwargs):
    texts = [t for d, c, _ in DATA for t in d + [c]]
    cfg = dict(
        type='TaskDuplicatedGenerator',
        description_names=NAMES,
        backbone=TINY_DENSENET,
        region_proposer=dict(type='AASProposer', num_classes=2, beta=1.0),
        decoder=dict(type='AttentionLSTMDecoder', embed_dims=8,
                     hidden_dims=12, attention='aas', num_positions=16,
                     dropout=0.0),
        tokenizer=ReportTokenizer(language='en').build_vocab(texts),
        max_len=12)
    cfg.update(kwargs)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def _batch(n=3):
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8,
                            generator=g) for _ in range(n)]
    samples = []
    for descs, conclusion, label in DATA[:n]:
        sample = ReportDataSample().set_gt_report(' '.join(d for d in descs
                                                           if d))
        sample.set_gt_label(label)
        sample.gt_descriptions = list(descs)
        sample.gt_conclusion = conclusion
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_repeat_visual_keeps_rows_of_one_study_together_and_merges_grads():
    feat = torch.randn(2, 3, requires_grad=True)
    visual = VisualFeatures(feat, feat.unsqueeze(1), None,
                            dict(class_map=torch.arange(2.0).view(2, 1),
                                 name='not a tensor'))
    rep = repeat_visual(visual, 3)
    assert rep.global_feat.shape == (6, 3)
    assert rep.extras['class_map'].view(-1).tolist() == [0, 0, 0, 1, 1, 1]
    assert rep.extras['name'] == 'not a tensor'
    weights = torch.arange(6.0).view(6, 1)
    (rep.global_feat * weights).sum().backward()
    # Each study's gradient is the sum over its three copies.
    assert feat.grad[:, 0].tolist() == [0 + 1 + 2, 3 + 4 + 5]


def test_loss_covers_every_task_of_every_image():
    model = _model()
    assert model.num_tasks == 3 and model.decoder.num_tasks == 3
    data = model.data_preprocessor(_batch(), training=True)
    seen = {}
    original = model.decoder.forward

    def spy(visual, ids, task_ids):
        seen.update(rows=ids.shape[0], tasks=task_ids.tolist())
        return original(visual, ids, task_ids)

    model.decoder.forward = spy
    losses = model(**data, mode='loss')
    assert seen == dict(rows=9, tasks=[0, 1, 2] * 3)
    assert set(losses) == {'loss_report', 'loss_diagnosis'}
    total = losses['loss_report'] + losses['loss_diagnosis']
    total.backward()
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0
    assert model.decoder.task_embed.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('beam_size', [1, 2])
def test_predict_assembles_descriptions_conclusion_and_label(beam_size):
    model = _model(beam_size=beam_size).eval()
    data = model.data_preprocessor(_batch(2))
    out = model(**data, mode='predict')
    for sample in out:
        assert len(sample.pred_descriptions) == 2
        parts = [d for d in sample.pred_descriptions if d.strip()]
        assert sample.pred_report == ' '.join(parts)
        assert isinstance(sample.pred_conclusion, str)
        assert sample.pred_label.item() in (0, 1)
        assert sample.gt_reports == [
            model.tokenizer.detokenize_reference(sample.gt_report)]


def test_overfits_two_images_to_their_descriptions():
    model = _model(region_proposer=dict(type='AASProposer', num_classes=2,
                                        beta=0.5))
    optim = torch.optim.Adam(model.parameters(), lr=1e-2)
    data = model.data_preprocessor(_batch(2), training=True)
    for _ in range(120):
        losses = model(**data, mode='loss')
        optim.zero_grad()
        sum(losses.values()).backward()
        optim.step()
    model.eval()
    out = model(**model.data_preprocessor(_batch(2)), mode='predict')
    tok = model.tokenizer
    for sample, (descs, conclusion, _) in zip(out, DATA):
        assert sample.pred_descriptions == [
            tok.detokenize_reference(d) for d in descs]
        assert sample.pred_conclusion == tok.detokenize_reference(conclusion)


def test_missing_descriptions_and_wrong_task_count_are_named():
    model = _model()
    data = model.data_preprocessor(_batch(1), training=True)
    del data['data_samples'][0].gt_descriptions
    with pytest.raises(ValueError, match='no gt_descriptions.*report_splitter'):
        model(**data, mode='loss')
    with pytest.raises(ValueError, match='num_tasks=2 but there are 3 tasks'):
        _model(decoder=dict(type='AttentionLSTMDecoder', num_tasks=2,
                            attention='soft'))


def test_score_descriptions_sums_task_log_likelihoods():
    model = _model().eval()
    data = model.data_preprocessor(_batch(3))
    with torch.no_grad():
        visual, _ = model.extract_feat(data['inputs'])
        query = DATA[1][0]
        scores = model.score_descriptions(visual, query)
        assert scores.shape == (3,)
        # By hand for image 2: teacher-forced log-probs of each description.
        row = repeat_visual(visual, 1)
        total = 0.0
        for task, text in enumerate(query):
            one = row.replace(
                global_feat=row.global_feat[2:3], tokens=row.tokens[2:3],
                feat_map=None,
                extras={k: v[2:3] for k, v in row.extras.items()})
            ids, _ = model.tokenizer.batch_encode([text])
            logits = model.decoder(one, ids[:, :-1], torch.tensor([task]))
            lp = logits.log_softmax(-1)[0]
            total += sum(lp[t, ids[0, t + 1]].item()
                         for t in range(ids.shape[1] - 1))
        assert scores[2].item() == pytest.approx(total, abs=1e-4)
    with pytest.raises(ValueError, match='1 query descriptions'):
        model.score_descriptions(visual, ['only one'])
