# Copyright (c) rrgkit contributors. All rights reserved.
"""``init_cfg=dict(type='Pretrained', ...)`` with torchvision, timm and
mmpretrain weights, through the config path (``MODELS.build`` +
``init_weights``). Source models are randomly initialised (nothing is
downloaded); their norm layers get random statistics so that a tensor left
at its default initialisation cannot pass for a loaded one."""
import argparse
import urllib.error

import mmengine.runner.checkpoint as mmengine_checkpoint
import pytest
import torch
import torchvision
from mmengine.logging import MessageHub

import rrgkit.utils.pretrained as pretrained
from rrgkit.registry import MODELS
from rrgkit.utils.checkpoint import (CheckpointError, UnsafeCheckpointError,
                                     load_from_http_safe)

DENSENET121 = (6, 12, 24, 16)
RESNET18 = (2, 2, 2, 2)


def _randomised(model: torch.nn.Module) -> torch.nn.Module:
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith('running_var') or (t.dim() == 1
                                                and name.endswith('weight')):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif name.endswith(('running_mean', 'bias')):
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
    model.eval()  # some backbones' train() returns None
    return model


@pytest.fixture(scope='module')
def densenet(tmp_path_factory):
    torch.manual_seed(0)
    model = _randomised(torchvision.models.densenet121())
    path = tmp_path_factory.mktemp('tv') / 'densenet121_tv.pth'
    torch.save(model.state_dict(), path)
    return model, str(path)


@pytest.fixture(scope='module')
def resnet(tmp_path_factory):
    torch.manual_seed(0)
    model = _randomised(torchvision.models.resnet18())
    path = tmp_path_factory.mktemp('tv') / 'resnet18_tv.pth'
    torch.save(model.state_dict(), path)
    return model, str(path)


@pytest.fixture
def log(monkeypatch):
    lines = []
    monkeypatch.setattr(pretrained, 'print_log',
                        lambda msg, **kw: lines.append(msg))
    return lines


def _build(cfg: dict, checkpoint: str, **init) -> torch.nn.Module:
    model = MODELS.build(
        dict(cfg, init_cfg=dict(type='Pretrained', checkpoint=checkpoint,
                                **init)))
    model.init_weights()
    model.eval()
    return model


def _resnet_features(model, x):
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    return model.layer4(model.layer3(model.layer2(model.layer1(x))))


def _timm_densenet_keys(blocks=DENSENET121):
    """timm's densenet121 names, written from timm/models/densenet.py
    (``features`` = conv0, norm0, denseblockB.denselayerL.{norm1, conv1,
    norm2, conv2}, transitionT.{norm, conv}, norm5; ``classifier``)."""
    bn = ('weight', 'bias', 'running_mean', 'running_var',
          'num_batches_tracked')
    keys = ['features.conv0.weight'] + [f'features.norm0.{p}' for p in bn]
    for b, n in enumerate(blocks, 1):
        for i in range(1, n + 1):
            pre = f'features.denseblock{b}.denselayer{i}'
            keys += [f'{pre}.norm1.{p}' for p in bn] + [f'{pre}.conv1.weight']
            keys += [f'{pre}.norm2.{p}' for p in bn] + [f'{pre}.conv2.weight']
        if b < len(blocks):
            keys += [f'features.transition{b}.norm.{p}' for p in bn]
            keys += [f'features.transition{b}.conv.weight']
    keys += [f'features.norm5.{p}' for p in bn]
    return keys + ['classifier.weight', 'classifier.bias']


def _timm_resnet_keys(layers=RESNET18):
    """timm's resnet18 names, written from timm/models/resnet.py (conv1,
    bn1, layerI.J.{conv1, bn1, conv2, bn2, downsample.0/1}, fc)."""
    bn = ('weight', 'bias', 'running_mean', 'running_var',
          'num_batches_tracked')
    keys = ['conv1.weight'] + [f'bn1.{p}' for p in bn]
    for i, n in enumerate(layers, 1):
        for j in range(n):
            pre = f'layer{i}.{j}'
            keys += [f'{pre}.conv1.weight'] + [f'{pre}.bn1.{p}' for p in bn]
            keys += [f'{pre}.conv2.weight'] + [f'{pre}.bn2.{p}' for p in bn]
            if i > 1 and j == 0:
                keys += [f'{pre}.downsample.0.weight']
                keys += [f'{pre}.downsample.1.{p}' for p in bn]
    return keys + ['fc.weight', 'fc.bias']


def test_torchvision_densenet121_into_mmpretrain_densenet(densenet, log):
    source, path = densenet
    src = source.state_dict()
    model = _build(dict(type='DenseNet', arch='121'), path)
    own = model.state_dict()
    pairs = {
        'stem.0.weight': 'features.conv0.weight',
        'stem.1.running_var': 'features.norm0.running_var',
        'stages.2.block.23.conv2.weight':
        'features.denseblock3.denselayer24.conv2.weight',
        'stages.3.block.15.norm1.bias':
        'features.denseblock4.denselayer16.norm1.bias',
        'transitions.1.conv.weight': 'features.transition2.conv.weight',
        'transitions.3.0.running_mean': 'features.norm5.running_mean',
    }
    for mine, theirs in pairs.items():
        assert torch.equal(own[mine], src[theirs]), mine
    assert len(own) == len(src) - 2  # all but the classifier
    assert log[-1].endswith('loaded 725/725 tensors; missing 0 (); '
                            'unexpected 0 ()')
    assert 'torchvision-densenet keys' in log[-1]
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x)[-1],
                                   torch.relu(source.features(x)))


def test_torchvision_resnet18_and_no_zero_init_residual(resnet, log):
    source, path = resnet
    src = source.state_dict()
    model = _build(dict(type='ResNet', depth=18), path)
    own = model.state_dict()
    assert set(src) - set(own) == {'fc.weight', 'fc.bias'}
    for key, value in own.items():
        assert torch.equal(value, src[key]), key
    # mmpretrain's ResNet zeroes the last norm of each block unless its
    # init_cfg type is the string 'Pretrained'; that is why rrgkit keeps it.
    assert own['layer1.0.bn2.weight'].abs().min() >= 0.5
    assert 'torchvision-resnet keys' in log[-1]
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x)[-1], _resnet_features(source, x))


def test_old_torchvision_densenet_file(densenet, tmp_path):
    # torchvision's downloadable densenet121-a639ec97.pth spells norm1 as
    # norm.1 (and so on) inside the dense layers.
    source, _ = densenet
    src = source.state_dict()
    old = {}
    for key, value in src.items():
        for part in ('norm1', 'conv1', 'norm2', 'conv2'):
            if '.denselayer' in key:
                key = key.replace(f'.{part}.', f'.{part[:-1]}.{part[-1]}.')
        old[key] = value
    assert 'features.denseblock1.denselayer1.norm.1.weight' in old
    torch.save(old, tmp_path / 'old.pth')
    model = _build(dict(type='DenseNet', arch='121'),
                   str(tmp_path / 'old.pth'))
    assert torch.equal(model.state_dict()['stages.0.block.0.norm1.weight'],
                       src['features.denseblock1.denselayer1.norm1.weight'])


def test_timm_files_bare_and_training_checkpoint(densenet, resnet, tmp_path):
    # timm is not installed: its key names are written out from timm's
    # model definitions (above) and must be torchvision's exactly.
    tv_d, tv_r = densenet[0].state_dict(), resnet[0].state_dict()
    assert _timm_densenet_keys() == list(tv_d)
    assert _timm_resnet_keys() == list(tv_r)
    timm_d = {k: tv_d[k] for k in _timm_densenet_keys()}
    torch.save(timm_d, tmp_path / 'densenet121_timm.pth')
    model = _build(dict(type='DenseNet', arch='121'),
                   str(tmp_path / 'densenet121_timm.pth'))
    assert torch.equal(model.state_dict()['transitions.3.0.weight'],
                       tv_d['features.norm5.weight'])
    # timm's train.py checkpoint: weights, EMA weights, optimizer and the
    # argparse.Namespace of its arguments.
    ema = {k: v + 1 if v.is_floating_point() else v for k, v in tv_r.items()}
    torch.save(dict(epoch=3, arch='resnet18', version=2,
                    state_dict={k: tv_r[k] for k in _timm_resnet_keys()},
                    state_dict_ema=ema, optimizer=dict(state={}),
                    args=argparse.Namespace(model='resnet18', lr=0.1)),
               tmp_path / 'last.pth.tar')
    ckpt = str(tmp_path / 'last.pth.tar')
    model = _build(dict(type='ResNet', depth=18), ckpt)
    assert torch.equal(model.conv1.weight, tv_r['conv1.weight'])
    model = _build(dict(type='ResNet', depth=18), ckpt,
                   state_key='state_dict_ema')
    assert torch.equal(model.conv1.weight, tv_r['conv1.weight'] + 1)


def test_mmengine_checkpoint_of_a_report_model_into_ecnet(tmp_path):
    arch = dict(depth=20, widen_factor=2)
    trained = MODELS.build(dict(type='EcNet', arch=arch))
    _randomised(trained)
    hub = MessageHub('rrgkit-test-pretrained')
    hub.update_scalar('train/loss', 1.5)
    state = {f'backbone.{k}': v for k, v in trained.state_dict().items()}
    state['decoder.embed.weight'] = torch.zeros(3, 2)
    torch.save(dict(meta=dict(epoch=1), state_dict=state,
                    message_hub=hub.state_dict()), tmp_path / 'epoch_1.pth')
    path = str(tmp_path / 'epoch_1.pth')
    for prefix in ('backbone.', None):  # None: backbone.* found by itself
        model = _build(dict(type='EcNet', arch=arch), path, prefix=prefix)
        for key, value in model.state_dict().items():
            assert torch.equal(value, trained.state_dict()[key]), key
    with pytest.raises(CheckpointError, match=r"no key under prefix "
                       r"'region_backbone\.'.*'backbone\.', 'decoder\.'"):
        _build(dict(type='EcNet', arch=arch), path,
               prefix='region_backbone')


def test_one_channel_backbone_sums_the_first_conv(resnet, log):
    source, path = resnet
    model = _build(dict(type='ResNet', depth=18, in_channels=1), path)
    torch.testing.assert_close(
        model.conv1.weight, source.conv1.weight.sum(dim=1, keepdim=True))
    assert 'conv1.weight summed over 3 input channels' in log[-1]
    grey = torch.randn(2, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(grey)[-1],
                                   _resnet_features(source,
                                                    grey.repeat(1, 3, 1, 1)),
                                   rtol=1e-4, atol=1e-4)


def test_missing_and_unexpected_keys_in_one_line(resnet, tmp_path, log):
    state = dict(resnet[0].state_dict())
    del state['layer4.1.bn2.bias']
    state['extra.weight'] = torch.zeros(1)
    torch.save(state, tmp_path / 'partial.pth')
    model = _build(dict(type='ResNet', depth=18),
                   str(tmp_path / 'partial.pth'))
    assert model is not None
    assert len(log) == 1 and '\n' not in log[0]
    assert log[0].endswith('loaded 119/120 tensors; missing 1 '
                           '(layer4.1.bn2.bias); unexpected 1 (extra.weight)')


def test_unsafe_pickle_is_refused_and_runs_nothing(tmp_path):

    class RunsCode:

        def __reduce__(self):
            return (open, (str(tmp_path / 'pwned'), 'w'))

    torch.save({'conv1.weight': torch.zeros(1), 'x': RunsCode()},
               tmp_path / 'evil.pth')
    with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
        _build(dict(type='ResNet', depth=18), str(tmp_path / 'evil.pth'))
    assert not (tmp_path / 'pwned').exists()


def test_wrong_architecture_is_one_clear_line(densenet, resnet):
    with pytest.raises(CheckpointError) as err:
        _build(dict(type='DenseNet', arch='169'), densenet[1])
    msg = str(err.value)
    assert '\n' not in msg and 'densenet121_tv.pth' in msg
    assert 'torchvision-densenet keys' in msg and 'other shapes' in msg
    # densenet169's fourth block starts at 640 channels, densenet121's at 512.
    assert '89 parameter(s) have other shapes (stages.3.block.0.norm1.' \
        'weight: checkpoint (512,) vs model (640,)' in msg
    assert msg.endswith('It holds another architecture: set the backbone '
                        '(e.g. its arch/depth) to the one the weights were '
                        'trained with, or use weights of this one.')
    with pytest.raises(CheckpointError, match='has no parameter of this '
                       'EcNet') as err:
        _build(dict(type='EcNet', arch=dict(depth=20, widen_factor=2)),
               resnet[1])
    assert '\n' not in str(err.value)


def test_url_is_downloaded_once_into_the_torch_hub_cache(
        resnet, tmp_path, monkeypatch):
    assert mmengine_checkpoint.load_from_http is load_from_http_safe
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    calls = []

    def fake_download(url, dst, hash_prefix=None, progress=True):
        calls.append(url)
        with open(resnet[1], 'rb') as src, open(dst, 'wb') as out:
            out.write(src.read())

    monkeypatch.setattr(torch.hub, 'download_url_to_file', fake_download)
    url = 'https://download.example.org/models/resnet18-0123abcd.pth'
    for _ in range(2):
        model = _build(dict(type='ResNet', depth=18), url)
        assert torch.equal(model.conv1.weight, resnet[0].conv1.weight)
    assert calls == [url]
    assert (tmp_path / 'torch/hub/checkpoints/resnet18-0123abcd.pth').is_file()
    # mmengine's torchvision:// names resolve to a URL read the same way.
    _build(dict(type='ResNet', depth=18), 'torchvision://resnet18')
    assert calls[-1].endswith('/resnet18-f37072fd.pth')
    assert (tmp_path / 'torch/hub/checkpoints/resnet18-f37072fd.pth').is_file()


def test_url_offline_and_unsafe_download(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))

    def offline(url, dst, hash_prefix=None, progress=True):
        raise urllib.error.URLError('[Errno -3] Temporary failure in name '
                                    'resolution')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline)
    url = 'https://download.example.org/models/densenet121-a639ec97.pth'
    with pytest.raises(CheckpointError) as err:
        _build(dict(type='DenseNet', arch='121'), url)
    cache = str(tmp_path / 'torch/hub/checkpoints/densenet121-a639ec97.pth')
    assert '\n' not in str(err.value) and url in str(err.value)
    assert f'copy the file to {cache!r}' in str(err.value)

    class RunsCode:

        def __reduce__(self):
            return (open, (str(tmp_path / 'pwned'), 'w'))

    torch.save({'x': RunsCode()}, cache)  # a poisoned file in the cache
    with pytest.raises(UnsafeCheckpointError):
        _build(dict(type='DenseNet', arch='121'), url)
    assert not (tmp_path / 'pwned').exists()
