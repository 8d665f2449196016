# Copyright (c) rrgkit contributors. All rights reserved.
"""ReportVisualizationHook on a stand-in runner, then in a real training."""
import glob
import importlib.util
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from PIL import Image

from rrgkit.engine.hooks import ReportVisualizationHook
from rrgkit.models.tokenizers import ReportTokenizer
from rrgkit.registry import HOOKS, MODELS
from rrgkit.structures import ReportDataSample

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
TINY = dict(type='DenseNet',
            arch=dict(growth_rate=4, depths=[1, 1], init_channels=8))
REPORTS = ['the heart is normal .', 'a nodule in the right lung .']


class _Images:
    """A val dataset of 32 px images that counts how often it is read."""

    metainfo = dict(tag_names=['nodule', 'effusion'])

    def __init__(self, n=5):
        self.n = n
        self.reads = []

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.reads.append(i)
        sample = ReportDataSample().set_gt_report(REPORTS[i % 2])
        sample.set_metainfo(dict(img_path=f'/data/img{i}.png'))
        image = torch.full((3, 32, 32), 30 * i, dtype=torch.uint8)
        return dict(inputs=image, data_samples=sample)


class _Log:

    def __init__(self):
        self.infos, self.warnings = [], []

    def info(self, msg):
        self.infos.append(msg)

    def warning(self, msg):
        self.warnings.append(msg)


class _Visualizer:

    def __init__(self):
        self.images = []

    def add_image(self, name, image, step=0):
        self.images.append((name, image.shape, image.dtype, step))


def _model(decoder=None, **kwargs):
    torch.manual_seed(0)
    decoder = decoder or dict(type='AttentionLSTMDecoder', embed_dims=8,
                              hidden_dims=8, attn_dims=8)
    return MODELS.build(dict(
        type='ReportGenerator', backbone=TINY, decoder=decoder,
        tokenizer=ReportTokenizer().build_vocab(REPORTS), max_len=8,
        **kwargs))


def _runner(tmp_path, model, epoch=1):
    return SimpleNamespace(
        model=model, epoch=epoch, iter=100, log_dir=str(tmp_path),
        val_dataloader=SimpleNamespace(dataset=_Images(),
                                       collate_fn=pseudo_collate),
        logger=_Log(), visualizer=_Visualizer())


def test_registered_and_validated():
    hook = HOOKS.build(dict(type='ReportVisualizationHook', num_images=2))
    assert isinstance(hook, ReportVisualizationHook)
    with pytest.raises(ValueError, match='num_images'):
        ReportVisualizationHook(num_images=0)


def test_draws_the_same_first_images_every_interval(tmp_path):
    runner = _runner(tmp_path, _model(), epoch=1)
    hook = ReportVisualizationHook(interval=2, num_images=2)
    hook.after_val_epoch(runner, {})  # epoch 1: not an interval epoch
    assert not (tmp_path / 'vis').exists() and not runner.visualizer.images
    for epoch in (2, 4):
        runner.epoch = epoch
        hook.after_val_epoch(runner, {})
        files = sorted(osp.basename(p) for p in glob.glob(
            str(tmp_path / 'vis' / f'epoch_{epoch}' / '*.png')))
        assert files == ['img0_attention.png', 'img1_attention.png']
    # The two first samples were read once and reused.
    assert runner.val_dataloader.dataset.reads == [0, 1]
    names = [(name, step) for name, *_, step in runner.visualizer.images]
    assert names == [('img0_attention', 2), ('img1_attention', 2),
                     ('img0_attention', 4), ('img1_attention', 4)]
    name, shape, dtype, _ = runner.visualizer.images[0]
    with Image.open(tmp_path / 'vis' / 'epoch_2' / f'{name}.png') as img:
        assert shape == (img.height, img.width, 3) and dtype == np.uint8
    assert not runner.logger.warnings


def test_a_model_with_nothing_to_show_is_skipped(tmp_path):
    runner = _runner(
        tmp_path, _model(dict(type='LSTMDecoder', embed_dims=8,
                              hidden_dims=8)))
    hook = ReportVisualizationHook()
    hook.after_val_epoch(runner, {})
    hook.after_val_epoch(runner, {})
    assert not (tmp_path / 'vis').exists() and not runner.visualizer.images
    assert len(runner.logger.infos) == 1  # said once
    assert 'nothing to draw' in runner.logger.infos[0]


def test_drawing_errors_warn_unless_strict(tmp_path):
    # A tag graph of 3 tags while the dataset names 2: a drawing error.
    model = _model(
        dict(type='LSTMDecoder', embed_dims=8, hidden_dims=8),
        encoder=dict(type='TagGraphEncoder', num_tags=3, d_model=8,
                     num_heads=2))
    runner = _runner(tmp_path, model)
    ReportVisualizationHook(add_to_visualizer=False).after_val_epoch(runner)
    assert len(runner.logger.warnings) == 1
    assert '2 tag names for 3 nodes' in runner.logger.warnings[0]
    with pytest.raises(ValueError, match='tag names'):
        ReportVisualizationHook(strict=True).after_val_epoch(runner)
    # Given the right names, the graph is drawn.
    hook = ReportVisualizationHook(tag_names=['a', 'b', 'c'], strict=True)
    hook.after_val_epoch(runner)
    assert osp.isfile(tmp_path / 'vis' / 'epoch_1' / 'img0_tag_graph.png')


def _tools_conftest():
    path = osp.join(REPO, 'tests', 'test_tools', 'conftest.py')
    spec = importlib.util.spec_from_file_location('_rrgkit_tools_conftest',
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hook_in_a_tiny_sat_training(tmp_path):
    helpers = _tools_conftest()
    train = helpers.load_tool('train')
    load_config = train.load_config

    def with_hook(*args, **kwargs):  # as if the config listed the hook
        cfg = load_config(*args, **kwargs)
        cfg.custom_hooks = list(cfg.custom_hooks) + [
            dict(type='ReportVisualizationHook', num_images=2, strict=True)
        ]
        return cfg

    train.load_config = with_hook
    work_dir = tmp_path / 'work'
    opts = helpers.tiny_synth_options(tmp_path / 'cache', max_epochs=1)
    opts += ['train_cfg.val_interval=1', 'model.decoder.attn_dims=8']
    config = osp.join(REPO, 'configs', 'sat',
                      'sat_densenet_tiny_1xb16_20e_synth.py')
    train.main([config, '--work-dir', str(work_dir), '--cfg-options', *opts])
    pictures = sorted(glob.glob(str(work_dir / '*' / 'vis' / 'epoch_1' /
                                    '*.png')))
    assert len(pictures) == 2
    assert all(p.endswith('_attention.png') for p in pictures)
    for path in pictures:
        with Image.open(path) as img:
            img.load()
            assert img.format == 'PNG' and img.mode == 'RGB'
            assert img.height % 200 == 0 and img.width % 200 == 0
    # The visualizer's LocalVisBackend wrote the same pictures.
    local = glob.glob(str(work_dir / '*' / 'vis_data' / 'vis_image' /
                          '*_attention_1.png'))
    assert len(local) == 2
