# Copyright (c) rrgkit contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from rrgkit.models.region_proposers import AASProposer
from rrgkit.models.utils.visual_features import pool_feature_map
from rrgkit.structures import ReportDataSample


def _visual(batch=2, channels=6, size=3, seed=0):
    torch.manual_seed(seed)
    feat_map = torch.randn(batch, channels, size, size, requires_grad=True)
    return feat_map, pool_feature_map(feat_map, 1)


def _samples(labels):
    return [ReportDataSample().set_gt_label(int(y)) for y in labels]


def test_class_map_uses_the_label_in_training_and_prediction_otherwise():
    feat_map, visual = _visual()
    aas = AASProposer(in_channels=6, num_classes=3, normalize_map=False)
    out, losses = aas(None, visual, _samples([2, 0]))
    w = aas.classifier.weight
    tokens = visual.tokens
    expected = torch.stack([tokens[0] @ w[2], tokens[1] @ w[0]])
    assert torch.allclose(out.extras['class_map'], expected, atol=1e-6)
    logits = aas.classifier(tokens.mean(1))
    assert torch.allclose(out.extras['class_logits'], logits, atol=1e-6)
    assert losses['loss_diagnosis'].item() == pytest.approx(
        F.cross_entropy(logits, torch.tensor([2, 0])).item(), abs=1e-6)
    aas.eval()
    out, _ = aas(None, visual, _samples([2, 0]))
    pred = logits.argmax(1)
    expected = torch.stack([tokens[i] @ w[pred[i]] for i in range(2)])
    assert torch.allclose(out.extras['class_map'], expected, atol=1e-6)
    assert out.extras['pred_label'].tolist() == pred.tolist()


def test_normalised_map_has_zero_mean_unit_std():
    _, visual = _visual()
    out, losses = AASProposer(in_channels=6, num_classes=2)(None, visual)
    cmap = out.extras['class_map']
    assert cmap.shape == (2, 9)
    assert torch.allclose(cmap.mean(1), torch.zeros(2), atol=1e-5)
    assert torch.allclose(cmap.std(1, unbiased=False), torch.ones(2),
                          atol=1e-3)
    assert losses == {}  # no labels, no loss


@pytest.mark.parametrize('beta', [0.0, 0.3, 1.0])
def test_backbone_gradient_follows_the_joint_update_rule(beta):
    """d theta_D = (1 - beta) dL_M + beta * eta * dL_L (MDNet eq. 12)."""
    eta = 5.0
    torch.manual_seed(1)
    backbone = torch.nn.Conv2d(3, 6, 3, padding=1)
    aas = AASProposer(in_channels=6, num_classes=2, eta=eta, beta=beta)
    head = torch.nn.Linear(6, 1)  # stands in for the language model
    images = torch.randn(2, 3, 4, 4)
    samples = _samples([1, 0])

    def losses(aas_module):
        visual = pool_feature_map(backbone(images), 1)
        out, aux = aas_module(images, visual, samples)
        attn = out.extras['class_map'].softmax(-1)
        context = torch.bmm(attn.unsqueeze(1), out.tokens).squeeze(1)
        lang = (head(context) ** 2).mean() + head(out.global_feat).mean()
        return aux['loss_diagnosis'], lang

    # The rule, from the plain gradients of each loss.
    plain = AASProposer(in_channels=6, num_classes=2, eta=eta, beta=1.0)
    plain.load_state_dict(aas.state_dict())
    plain.beta, plain.eta = 0.0, 1.0  # both scales: diag 1, lang 0
    loss_m, _ = losses(plain)
    grad_m = torch.autograd.grad(loss_m, backbone.weight)[0]
    plain.beta = 1.0  # diag 0, lang 1
    _, loss_l = losses(plain)
    grad_l = torch.autograd.grad(loss_l, backbone.weight)[0]
    expected = (1 - beta) * grad_m + beta * eta * grad_l

    loss_m, loss_l = losses(aas)
    got = torch.autograd.grad(loss_m + loss_l, backbone.weight,
                              retain_graph=True)[0]
    assert torch.allclose(got, expected, atol=1e-5, rtol=1e-4)
    assert got.abs().sum() > 0
    # The classifier keeps its own plain gradient whatever beta is.
    grad_w = torch.autograd.grad(loss_m, aas.classifier.bias,
                                 retain_graph=True)[0]
    assert grad_w.abs().sum() > 0


def test_bad_labels_and_channels_are_named():
    _, visual = _visual()
    aas = AASProposer(in_channels=6, num_classes=2)
    with pytest.raises(ValueError, match='outside 0..1.*num_classes'):
        aas(None, visual, _samples([0, 2]))
    with pytest.raises(ValueError, match='in_channels=5'):
        AASProposer(in_channels=5, num_classes=2)(None, visual)
    with pytest.raises(ValueError, match='beta'):
        aas.set_beta(1.5)
