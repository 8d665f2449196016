# Copyright (c) rrgkit contributors. All rights reserved.
"""Key converters on tiny torchvision DenseNets (the real archs are loaded
end to end in test_pretrained.py)."""
import pytest
import torch
import torchvision
from mmpretrain.models import DenseNet

from rrgkit.utils.weight_converters import (CONVERT, convert_state_dict,
                                            densenet_from_torchvision,
                                            detect_format)

TINY = dict(growth_rate=4, depths=[2, 2], init_channels=8)


def _tiny_torchvision():
    torch.manual_seed(0)
    return torchvision.models.DenseNet(
        growth_rate=4, block_config=(2, 2), num_init_features=8).state_dict()


def test_densenet_keys_map_one_to_one_onto_mmpretrain():
    src = _tiny_torchvision()
    out = densenet_from_torchvision(src)
    own = DenseNet(arch=TINY).state_dict()
    assert set(out) == set(own)
    assert len(out) == len(src) - 2  # classifier.weight/bias dropped
    # Hand-written correspondences (blocks/layers count from 1 -> 0).
    pairs = {
        'stem.0.weight': 'features.conv0.weight',
        'stem.1.running_mean': 'features.norm0.running_mean',
        'stages.1.block.1.conv2.weight':
        'features.denseblock2.denselayer2.conv2.weight',
        'stages.0.block.0.norm1.bias':
        'features.denseblock1.denselayer1.norm1.bias',
        'transitions.0.conv.weight': 'features.transition1.conv.weight',
        'transitions.1.0.running_var': 'features.norm5.running_var',
    }
    for mine, theirs in pairs.items():
        assert out[mine] is src[theirs]
    for key, value in out.items():
        assert value.shape == own[key].shape, key


def test_old_torchvision_spelling_is_read():
    src = _tiny_torchvision()
    old = {
        k.replace('norm1', 'norm.1').replace('conv2', 'conv.2'): v
        for k, v in src.items()
    }
    assert 'features.denseblock1.denselayer1.norm.1.weight' in old
    out = densenet_from_torchvision(old)
    assert out['stages.0.block.0.norm1.weight'] is src[
        'features.denseblock1.denselayer1.norm1.weight']
    assert set(out) == set(densenet_from_torchvision(src))


def test_detect_format_from_keys():
    w = torch.zeros(1)
    assert detect_format(_tiny_torchvision()) == 'torchvision-densenet'
    assert detect_format({'conv1.weight': w, 'layer1.0.conv1.weight': w,
                          'fc.weight': w}) == 'torchvision-resnet'
    mm_resnet = {'conv1.weight': w, 'layer1.0.conv1.weight': w}
    assert detect_format(mm_resnet) == 'mmpretrain'
    classifier = {'backbone.stem.0.weight': w, 'head.fc.weight': w}
    assert detect_format(classifier, ['stem.0.weight']) == \
        'mmpretrain-classifier'
    assert CONVERT['mmpretrain-classifier'](classifier) == {
        'stem.0.weight': w}
    # A whole model (which has backbone.* keys itself) keeps the keys.
    assert detect_format(classifier, ['backbone.stem.0.weight']) == \
        'mmpretrain'


def test_named_formats_are_checked_against_the_keys():
    src = _tiny_torchvision()
    out, layout = convert_state_dict(src, 'timm')
    assert layout == 'timm-densenet' and 'stem.0.weight' in out
    with pytest.raises(ValueError, match="format 'timm' does not match"):
        convert_state_dict({'stem.0.weight': torch.zeros(1)}, 'timm')
    with pytest.raises(ValueError, match="format 'mmpretrain' does not"):
        convert_state_dict(src, 'mmpretrain')
    with pytest.raises(ValueError, match="unknown format 'caffe'"):
        convert_state_dict(src, 'caffe')
