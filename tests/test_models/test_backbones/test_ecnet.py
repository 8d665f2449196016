# Copyright (c) rrgkit contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

from rrgkit.models.backbones import EcBottleneck, EcNet
from rrgkit.models.tokenizers import ReportTokenizer
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample

# n = 1 unit per group, widen factor 1: branch widths 16/32/64, bottleneck
# widths 4/8/16, group widths 16 / 16+32 / 48+64.
TINY = dict(depth=11, widen_factor=1)
# Parameter counts quoted for MDNet's EcNet (depth-widen factor).
QUOTED = {'110-4': 1.8e6, '56-12': 8.0e6, '38-8': 2.3e6}


def _block_params(cin, mid, out, projection=False):
    """BN (weight + bias) x3 and the three bias-free convs of a unit."""
    norms = 2 * cin + 2 * mid + 2 * mid
    convs = cin * mid + 9 * mid * mid + mid * out
    return norms + convs + (cin * out if projection else 0)


def _ecnet_params(depth, k, stem=16):
    """Closed-form count of the cifar-stem EcNet layout (docstring)."""
    n = (depth - 2) // 9
    total = 3 * 9 * stem
    channels = stem
    for g in range(3):
        branch, mid = 16 * k * 2**g, 4 * k * 2**g
        if g == 0:
            total += _block_params(channels, mid, branch,
                                   projection=channels != branch)
            channels = branch
        else:  # ensemble unit: no shortcut parameters, widths add up
            total += _block_params(channels, mid, branch)
            channels += branch
        total += (n - 1) * _block_params(channels, mid, channels)
    return total + 2 * channels  # final BN


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_registry_build_and_name_is_free_in_mmpretrain():
    assert 'EcNet' not in MMPRETRAIN_MODELS.module_dict
    model = MODELS.build(dict(type='EcNet', arch='38-8'))
    assert type(model) is EcNet
    assert model.out_channels == 896


def test_38_8_output_shapes_on_32px():
    model = MODELS.build(
        dict(type='EcNet', arch='38-8', out_indices=(0, 1, 2))).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 32, 32))
    assert isinstance(outs, tuple)
    assert [tuple(o.shape) for o in outs] == [(1, 128, 32, 32),
                                              (1, 384, 16, 16),
                                              (1, 896, 8, 8)]
    assert model.stage_channels == [128, 384, 896]
    assert model.out_channels == outs[-1].shape[1]
    # Last output is after the final ReLU.
    assert outs[-1].min() >= 0


@pytest.mark.parametrize('arch,k', [('110-4', 4), ('56-12', 12),
                                    ('38-8', 8)])
def test_group_widths_are_the_concatenated_sums(arch, k):
    model = EcNet(arch=arch, init_cfg=None)
    # group 0: 16k; every later group appends 32k, then 64k branch maps.
    assert model.stage_channels == [16 * k, 16 * k + 32 * k,
                                    16 * k + 32 * k + 64 * k]
    assert model.out_channels == 112 * k
    first = [stage[0] for stage in model.stages]
    assert [b.connection for b in first] == ['residual', 'ensemble',
                                             'ensemble']
    assert all(b.connection == 'residual' and b.projection is None
               for stage in model.stages for b in list(stage)[1:])


def test_tiny_parameter_count_by_hand():
    model = EcNet(arch=TINY, init_cfg=None)
    # stem 3*9*16 = 432; group 0 unit (16->4->16, identity) = 320;
    # ensemble unit (16->8->32) = 1024; ensemble unit (48->16->64) = 4256;
    # final BN 2*112 = 224.
    assert _count(model) == 432 + 320 + 1024 + 4256 + 224 == 6256


@pytest.mark.parametrize('arch', sorted(QUOTED))
def test_parameter_counts_near_quoted(arch):
    depth, k = map(int, arch.split('-'))
    model = EcNet(arch=arch, init_cfg=None)
    backbone = _count(model)
    with_classifier = backbone + model.out_channels * 10 + 10  # CIFAR-10
    print(f'EcNet {arch}: backbone {backbone / 1e6:.3f}M, with a 10-way '
          f'linear classifier {with_classifier / 1e6:.3f}M, quoted '
          f'{QUOTED[arch] / 1e6:.1f}M')
    assert backbone == _ecnet_params(depth, k)
    # The literal layout lands ~20% under the quoted counts (see the
    # module docstring); stated tolerance: 25%.
    assert with_classifier == pytest.approx(QUOTED[arch], rel=0.25)


def test_ensemble_unit_concatenates_pooled_input():
    torch.manual_seed(0)
    block = EcBottleneck(6, 4, 10, stride=2, connection='ensemble').eval()
    assert block.out_channels == 16
    x = torch.randn(2, 6, 8, 8)
    with torch.no_grad():
        out = block(x)
        assert out.shape == (2, 16, 4, 4)
        assert torch.equal(out[:, 10:], F.avg_pool2d(x, 2))
        block.conv3.weight.zero_()  # kill the residual branch
        out = block(x)
    assert torch.equal(out[:, :10], torch.zeros(2, 10, 4, 4))
    assert torch.equal(out[:, 10:], F.avg_pool2d(x, 2))
    # Max pooling, and odd sizes follow the strided conv's ceil(H / 2).
    block = EcBottleneck(6, 4, 10, stride=2, connection='ensemble',
                         pool_type='max').eval()
    x = torch.randn(1, 6, 7, 7)
    with torch.no_grad():
        out = block(x)
    assert out.shape == (1, 16, 4, 4)
    assert out[0, 10:, 0, 0].equal(x[0, :, :2, :2].amax((-2, -1)))


def test_zeroed_last_group_branch_leaves_pooled_input_in_output():
    torch.manual_seed(0)
    model = EcNet(arch=TINY, out_indices=(1, 2), init_cfg=None).eval()
    with torch.no_grad():
        model.stages[2][0].conv3.weight.zero_()
        group1, final = model(torch.randn(2, 3, 32, 32))
    assert group1.shape == (2, 48, 16, 16) and final.shape == (2, 112, 8, 8)
    # Fresh eval BN: running mean 0, var 1, weight 1, bias 0.
    scale = (1 + model.final_norm.eps)**-0.5
    expected = torch.relu(F.avg_pool2d(group1, 2) * scale)
    assert torch.allclose(final[:, 64:], expected, atol=1e-6)
    assert torch.equal(final[:, :64], torch.zeros(2, 64, 8, 8))


def test_imagenet_stem_on_larger_and_odd_images():
    model = EcNet(arch=TINY, stem='imagenet', out_indices=(0, 1, 2),
                  init_cfg=None).eval()
    with torch.no_grad():
        shapes = [tuple(o.shape) for o in model(torch.rand(1, 3, 64, 64))]
        assert shapes == [(1, 16, 16, 16), (1, 48, 8, 8), (1, 112, 4, 4)]
        shapes = [tuple(o.shape[-2:]) for o in model(torch.rand(1, 3, 50,
                                                                 50))]
    assert shapes == [(13, 13), (7, 7), (4, 4)]
    assert model.stem[0].out_channels == 64  # default imagenet stem width


def test_frozen_stages_and_norm_eval():
    model = EcNet(arch=TINY, frozen_stages=1, init_cfg=None)
    model.train()
    frozen = list(model.stem.parameters()) + list(
        model.stages[0].parameters())
    assert frozen and all(not p.requires_grad for p in frozen)
    assert all(p.requires_grad for p in model.stages[1].parameters())
    assert all(p.requires_grad for p in model.final_norm.parameters())
    assert not model.stages[0][0].norm1.training
    assert model.stages[1][0].norm1.training

    model = EcNet(arch=TINY, frozen_stages=3, init_cfg=None).train()
    assert not any(p.requires_grad for p in model.parameters())
    assert not model.final_norm.training

    model = EcNet(arch=TINY, norm_eval=True, init_cfg=None).train()
    norms = [m for m in model.modules()
             if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and not any(m.training for m in norms)
    assert model.stages[0][0].conv1.training


def test_backward_gives_finite_gradients():
    torch.manual_seed(0)
    model = EcNet(arch=TINY)
    model.init_weights()
    model.train()
    out = model(torch.randn(2, 3, 32, 32))[-1]
    out.mean().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match=r"unknown arch '50-2'.*"
                       r"\['110-4', '38-8', '56-12'\]"):
        EcNet(arch='50-2')
    with pytest.raises(ValueError, match='depth=40 is not 9 n'):
        EcNet(arch=dict(depth=40, widen_factor=2))
    with pytest.raises(ValueError, match=r"unknown \['growth'\]"):
        EcNet(arch=dict(depth=11, widen_factor=1, growth=2))
    with pytest.raises(ValueError, match='needs keys depth and widen_factor'):
        EcNet(arch=dict(depth=11))
    with pytest.raises(ValueError, match='stem must be one of'):
        EcNet(arch=TINY, stem='vit')
    with pytest.raises(ValueError, match='out_indices entry 3'):
        EcNet(arch=TINY, out_indices=(3, ))
    with pytest.raises(ValueError, match='frozen_stages'):
        EcNet(arch=TINY, frozen_stages=4)


def test_report_generator_reads_the_last_ensemble_map():
    reports = ['The heart is normal.', 'A nodule in the right lung.']
    tokenizer = ReportTokenizer(language='en').build_vocab(reports)
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='ReportGenerator',
             backbone=dict(type='EcNet', arch=TINY),
             decoder=dict(type='LSTMDecoder', embed_dims=16, hidden_dims=24),
             tokenizer=tokenizer, max_len=12))
    # in_channels came from a dry run: the 112-channel ensemble map.
    assert model.decoder.image_embed[0].in_features == 112
    batch = dict(
        inputs=[torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8)
                for _ in range(2)],
        data_samples=[ReportDataSample().set_gt_report(r) for r in reports])
    data = model.data_preprocessor(batch, training=True)
    loss = model(**data, mode='loss')['loss_report']
    assert torch.isfinite(loss)
