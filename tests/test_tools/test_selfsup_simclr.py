# Copyright (c) rrgkit contributors. All rights reserved.
"""SimCLR pretraining config: train images only, trains, exports a backbone.

The COV-CTR config runs on a tiny R2Gen-style folder written in a temp dir
(4 training images, each with an English and a Chinese record, plus one
validation and one test image), through ``tools/train.py`` and
``tools/model_converters/extract_backbone.py``.
"""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmpretrain.models import ResNet
from PIL import Image

from rrgkit.models import LSTMDecoder, ReportGenerator
from rrgkit.registry import DATASETS, MODELS
from rrgkit.utils.checkpoint import safe_load_checkpoint
from rrgkit.utils.setup_env import load_config
from .conftest import REPO, load_tool

CONFIG = osp.join(REPO, 'configs', 'selfsup',
                  'simclr_resnet18_1xb64_15e_128px_covctr_en.py')
DENSENET = osp.join(REPO, 'configs', 'selfsup',
                    'simclr_densenet121_1xb32_5e_128px_covctr_en.py')
TRAIN_IDS = [f'train{i}.png' for i in range(4)]
TINY_RESNET = dict(depth=18, base_channels=8, stem_channels=8)


def write_r2gen(root):
    """4 train / 1 val / 1 test images; every image once per language."""
    (root / 'images').mkdir(parents=True)
    rng = np.random.default_rng(0)
    ann = {}
    for split, names in (('train', TRAIN_IDS), ('val', ['val0.png']),
                         ('test', ['test0.png'])):
        ann[split] = []
        for i, name in enumerate(names):
            pixels = rng.integers(0, 256, (40 + 4 * i, 48), dtype=np.uint8)
            # The first image of each split is a JPEG named .png.
            Image.fromarray(pixels).save(root / 'images' / name,
                                         format='JPEG' if i == 0 else 'PNG')
            ann[split] += [
                dict(id=name, image_path=name, report='lungs clear .',
                     label1=language, COVID=i % 2, split=split)
                for language in ('english', 'chinese')
            ]
    (root / 'annotation.json').write_text(json.dumps(ann))
    return root


def tiny_options(crop=32):
    """Shrink the config: tiny ResNet-18, 32 px crops, batches of 2."""
    pipeline = 'train_dataloader.dataset.pipeline'
    return [
        'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'model.backbone.base_channels=8', 'model.backbone.stem_channels=8',
        'model.neck.in_channels=64', 'model.neck.hid_channels=16',
        'model.neck.out_channels=8',
        f'{pipeline}.0.transforms.1.scale=({crop + 8},{crop + 8})',
        f'{pipeline}.1.transforms.0.0.scale={crop}'
    ]


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv('RRGKIT_CACHE', str(tmp_path / 'cache'))
    return write_r2gen(tmp_path / 'data')


def test_dataset_holds_each_training_image_once(data):
    cfg = load_config(CONFIG, data_root=str(data))
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    names = sorted(osp.basename(dataset.get_data_info(i)['img_path'])
                   for i in range(len(dataset)))
    assert names == TRAIN_IDS  # no val/test image, no second language
    item = dataset[0]
    views = item['inputs']
    assert len(views) == 2
    assert all(v.shape == (3, 128, 128) and v.dtype == torch.uint8
               for v in views)
    assert not torch.equal(views[0], views[1])  # two random views
    assert item['data_samples'].img_id in TRAIN_IDS


@pytest.mark.parametrize('path,epochs,channels', [(CONFIG, 15, 512),
                                                  (DENSENET, 5, 1024)])
def test_configs_schedule_and_neck_fit_the_backbone(path, epochs, channels):
    cfg = load_config(path)
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.param_scheduler[-1].end == epochs  # cosine to the last epoch
    assert cfg.model.neck.in_channels == channels
    backbone = MODELS.build(cfg.model.backbone)
    backbone.eval()  # mmpretrain's ResNet.train() returns None
    with torch.no_grad():
        feat = backbone(torch.zeros(1, 3, 32, 32))[-1]
    assert feat.shape[1] == channels
    assert cfg.val_dataloader is None and cfg.test_dataloader is None


def test_simclr_trains_and_backbone_loads_into_a_report_model(data, tmp_path):
    work = tmp_path / 'work'
    load_tool('train').main([
        CONFIG, '--work-dir', str(work), '--data-root',
        str(data), '--cfg-options', *tiny_options()
    ])
    ckpt = safe_load_checkpoint(str(work / 'epoch_1.pth'))
    assert ckpt['meta']['iter'] == 2  # 4 images, batches of 2
    scalars = sorted(work.glob('*/vis_data/scalars.json'))[-1]
    losses = [json.loads(line)['loss'] for line in
              scalars.read_text().splitlines()]
    # InfoNCE of 4 views, 2 negatives each: log(3) = 1.0986 when the
    # projections are uninformative; finite and positive in any case.
    assert len(losses) == 2 and all(0 < v < 30 for v in losses)

    out = tmp_path / 'backbone.pth'
    load_tool('model_converters/extract_backbone').main(
        [str(work / 'epoch_1.pth'), str(out)])
    weights = torch.load(out)  # weights_only=True: a plain state dict
    state = ckpt['state_dict']
    assert set(weights) == {
        k[len('backbone.'):] for k in state if k.startswith('backbone.')}
    assert set(weights) == set(ResNet(**TINY_RESNET).state_dict())
    for key, value in weights.items():
        assert torch.equal(value, state['backbone.' + key]), key
        assert value.is_contiguous()  # not channels-last any more

    model = ReportGenerator(
        backbone=dict(type=ResNet, **TINY_RESNET,
                      init_cfg=dict(type='Pretrained', checkpoint=str(out))),
        decoder=dict(type=LSTMDecoder, embed_dims=8, hidden_dims=8),
        tokenizer=dict(type='ReportTokenizer',
                       vocab=['lungs', 'clear', '.']),
        max_len=8)
    model.init_weights()
    loaded = model.backbone.state_dict()
    for key, value in weights.items():
        assert torch.equal(loaded[key], value), key


def test_extract_backbone_without_the_prefix_is_one_clear_line(tmp_path):
    ckpt = tmp_path / 'decoder_only.pth'
    torch.save(dict(state_dict={'decoder.w': torch.zeros(1),
                                'neck.fc.weight': torch.zeros(1)}), ckpt)
    proc = subprocess.run(
        [sys.executable, 'tools/model_converters/extract_backbone.py',
         str(ckpt), str(tmp_path / 'out.pth')],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: Checkpoint '{ckpt}' has no weights under 'backbone.' (its "
        "top-level names are ['decoder.', 'neck.']). Pass the one that holds "
        'the backbone with --prefix.']
    assert not (tmp_path / 'out.pth').exists()
