# Copyright (c) rrgkit contributors. All rights reserved.
"""Inference from a checkpoint alone (tiny NIC and ASGK trained once)."""
import argparse
import importlib.util
import os.path as osp
import shutil
from pathlib import Path
from types import SimpleNamespace

import networkx as nx
import numpy as np
import pytest
import torch
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate
from PIL import Image

from rrgkit.apis import (ReportInferencer, config_from_checkpoint,
                         init_report_model, list_images)
from rrgkit.apis.model_from_checkpoint import _without_data_reads
from rrgkit.datasets.errors import ImageDecodeError, MissingImageError
from rrgkit.datasets.synthetic import TAG_NAMES
from rrgkit.models.utils.visual_features import VisualFeatures
from rrgkit.registry import DATASETS, MODELS
from rrgkit.utils.checkpoint import CheckpointError, safe_load_checkpoint
from rrgkit.utils.setup_env import load_config

REPO = Path(__file__).resolve().parents[2]


def _tools_conftest():
    path = REPO / 'tests' / 'test_tools' / 'conftest.py'
    spec = importlib.util.spec_from_file_location('_rrgkit_tool_opts', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOLS = _tools_conftest()


def _train(config, work_dir, options):
    TOOLS.load_tool('train').main(
        [str(REPO / 'configs' / config), '--work-dir', str(work_dir),
         '--cfg-options', *options])


@pytest.fixture(scope='module')
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp('synth_cache')


@pytest.fixture(scope='module')
def nic(tmp_path_factory, cache):
    work = tmp_path_factory.mktemp('nic')
    # lr 0.01: two epochs are then enough for a non-empty report.
    _train('nic_synth.py', work, TOOLS.tiny_synth_options(cache) +
           ['optim_wrapper.optimizer.lr=0.01'])
    images = sorted(cache.glob('*/images/*.png'))
    return SimpleNamespace(ckpt=str(work / 'epoch_2.pth'), work=work,
                           images=[str(p) for p in images])


@pytest.fixture(scope='module')
def asgk(tmp_path_factory, cache):
    work = tmp_path_factory.mktemp('asgk')
    options = TOOLS.tiny_asgk_stage_options(cache, 'full')
    _train('asgk_synth.py', work, options)
    return SimpleNamespace(ckpt=str(work / 'epoch_1.pth'), options=options)


def _write_dicom(path, pixels):
    pydicom = pytest.importorskip('pydicom')
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.2'  # CT
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = 'MONOCHROME2'
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.RescaleSlope, ds.RescaleIntercept = 1.0, -1024.0
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.save_as(str(path), enforce_file_format=True)


# ------------------------------------------------------------ no training
def test_config_text_is_read_as_data_never_run(tmp_path):
    text = ("model = dict(type='X', b=[1, (2, 3)], c=None, d={'k': -1.5})\n"
            'flag = True\n')
    cfg = config_from_checkpoint({'meta': {'cfg': text}}, 'ck.pth')
    assert cfg.model.to_dict() == dict(type='X', b=[1, (2, 3)], c=None,
                                       d={'k': -1.5})
    assert cfg.flag is True
    marker = tmp_path / 'ran'
    for evil in (f"import os\nx = os.system('touch {marker}')\n",
                 f"x = __import__('os').system('touch {marker}')\n",
                 "x = dict(**{'a': 1})\n"):
        with pytest.raises(CheckpointError, match='not plain data.*--config'):
            config_from_checkpoint({'meta': {'cfg': evil}}, 'ck.pth')
    assert not marker.exists()
    with pytest.raises(CheckpointError, match='no config.*--config'):
        config_from_checkpoint({'meta': {}}, 'ck.pth')


def test_list_images_by_content_sorted(tmp_path):
    Image.new('L', (8, 8)).save(tmp_path / 'b.png')
    Image.new('L', (8, 8)).save(tmp_path / 'scan', format='PNG')
    (tmp_path / 'a.png').write_bytes(b'not an image')  # kept: suffix
    (tmp_path / 'notes.txt').write_text('text')
    Image.new('L', (8, 8)).save(tmp_path / '.hidden.png')
    (tmp_path / 'sub').mkdir()
    found = [osp.basename(p) for p in list_images(str(tmp_path))]
    assert found == ['a.png', 'b.png', 'scan']
    study = list_images([[str(tmp_path / 'b.png'), str(tmp_path / 'scan')]])
    assert study == [[str(tmp_path / 'b.png'), str(tmp_path / 'scan')]]
    with pytest.raises(MissingImageError, match='nope.png'):
        list_images(str(tmp_path / 'nope.png'))
    with pytest.raises(MissingImageError, match='holds no image'):
        list_images(str(tmp_path / 'sub'))


def test_data_built_buffers_come_from_the_checkpoint():
    graph = nx.Graph()
    for i, name in enumerate(['a', 'b', 'c']):
        graph.add_node(name, feature=[float(i), 1.0, -1.0, 0.5])
    graph.add_edge('a', 'b', weight=2.0)
    torch.manual_seed(0)
    encoder = MODELS.build(dict(type='TagGraphEncoder', in_channels=8,
                                num_tags=3, d_model=8, num_heads=2,
                                prior_graph=graph, tag_names=['a', 'b', 'c']))
    decoder = MODELS.build(dict(type='GPTDecoder', vocab_size=7, d_model=8,
                                num_heads=2, num_layers=1, ffn_dims=16,
                                word_vectors=torch.randn(7, 6)))
    state = {f'encoder.{k}': v for k, v in encoder.state_dict().items()}
    state.update(
        {f'decoder.{k}': v for k, v in decoder.state_dict().items()})
    cfg = dict(
        encoder=dict(type='TagGraphEncoder', in_channels=8, num_tags=3,
                     d_model=8, num_heads=2, prior_graph='gone/graph.json',
                     tag_names='gone/tags.json'),
        decoder=dict(type='GPTDecoder', vocab_size=7, d_model=8, num_heads=2,
                     num_layers=1, ffn_dims=16, word_vectors='gone/w.npy'))
    _without_data_reads(cfg, state, 'ck.pth')
    rebuilt = MODELS.build(cfg['encoder'])
    rebuilt.load_state_dict(encoder.state_dict(), strict=True)
    assert torch.equal(rebuilt.prior_node_features,
                       encoder.prior_node_features)
    visual = VisualFeatures(global_feat=torch.randn(2, 8),
                            tokens=torch.randn(2, 4, 8))
    encoder.eval(), rebuilt.eval()
    assert torch.allclose(rebuilt(visual)[0].extras['tag_probs'],
                          encoder(visual)[0].extras['tag_probs'])
    MODELS.build(cfg['decoder']).load_state_dict(decoder.state_dict(),
                                                 strict=True)
    # A corpus prior with nothing stored is refused, not rebuilt from data.
    cfg = dict(encoder=dict(prior_graph=dict(corpus=dict(type='X'))))
    with pytest.raises(CheckpointError, match='encoder.prior_adjacency'):
        _without_data_reads(cfg, {}, 'ck.pth')


# ------------------------------------------------------------------- NIC
def test_one_png_gives_a_report(nic):
    result, = ReportInferencer(nic.ckpt)(nic.images[0])
    assert result['image'] == nic.images[0]
    assert isinstance(result['report'], str) and result['report'].strip()
    assert result['tags'] is None and result['conclusion'] is None
    assert result['region_box'] is None
    assert result['input_shape'] == [64, 64]  # the config's test Resize
    assert result['ori_shape'] == [32, 32]


def test_folder_and_dicom(nic, tmp_path):
    folder = tmp_path / 'images'
    folder.mkdir()
    shutil.copy(nic.images[1], folder / 'b.png')
    shutil.copy(nic.images[0], folder / 'a.png')
    (folder / 'readme.md').write_text('not an image')
    inferencer = ReportInferencer(nic.ckpt, batch_size=1)
    results = inferencer(str(folder))
    assert [r['image'] for r in results] == [str(folder / 'a.png'),
                                              str(folder / 'b.png')]
    # Same reports as for the originals, one batch or two.
    assert [r['report'] for r in results] == [
        r['report'] for r in ReportInferencer(nic.ckpt)(nic.images[:2])]
    ramp = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16
    _write_dicom(tmp_path / 'slice.dcm', ramp)
    result, = inferencer(str(tmp_path / 'slice.dcm'))
    assert result['report'].strip()
    assert result['ori_shape'] == [64, 64]
    assert result['input_shape'] == [64, 64]


def test_bad_images_name_the_file(nic, tmp_path):
    bad = tmp_path / 'corrupt.png'
    bad.write_bytes(b'\x89PNG\r\n\x1a\n' + b'\x00' * 40)
    inferencer = ReportInferencer(nic.ckpt)
    with pytest.raises(ImageDecodeError, match='corrupt.png'):
        inferencer([nic.images[0], str(bad)])
    with pytest.raises(MissingImageError, match='missing.png'):
        inferencer(str(tmp_path / 'missing.png'))


def test_checkpoint_errors(nic, tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        init_report_model(str(tmp_path / 'nope.pth'))
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {'w': torch.zeros(2)}}, other)
    with pytest.raises(CheckpointError, match='not an rrgkit checkpoint'):
        init_report_model(str(other))
    ckpt = safe_load_checkpoint(nic.ckpt)
    meta = {k: v for k, v in ckpt['meta'].items() if k != 'cfg'}
    bare = tmp_path / 'bare.pth'
    torch.save({'state_dict': ckpt['state_dict'], 'meta': meta}, bare)
    with pytest.raises(CheckpointError, match='--config'):
        init_report_model(str(bare))
    # The config dumped next to the checkpoint replaces the missing one.
    model = init_report_model(str(bare), config=str(nic.work /
                                                     'nic_synth.py'))
    assert not model.training
    state = {k: v for k, v in ckpt['state_dict'].items()
             if k != 'vocab._extra_state'}
    torch.save({'state_dict': state, 'meta': ckpt['meta']}, bare)
    with pytest.raises(CheckpointError, match='vocabulary'):
        init_report_model(str(bare))


# ------------------------------------------------------------------ ASGK
def _reference_model(asgk):
    """The model as tools/test.py builds it: from the data, then loaded."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction)
    options = parser.parse_args(['--o', *asgk.options]).o
    cfg = load_config(str(REPO / 'configs' / 'asgk_synth.py'), options)
    model = MODELS.build(cfg.model)
    model.load_state_dict(safe_load_checkpoint(asgk.ckpt)['state_dict'])
    return model.eval(), DATASETS.build(cfg.test_dataloader.dataset)


def test_asgk_tags_region_and_same_as_trained_model(asgk, monkeypatch):
    def no_data(*args, **kwargs):
        raise AssertionError('inference must not build a dataset')

    with monkeypatch.context() as patch:
        patch.setattr(DATASETS, 'build', no_data)
        inferencer = ReportInferencer(asgk.ckpt)
    reference, dataset = _reference_model(asgk)
    assert torch.equal(inferencer.model.encoder.prior_adjacency,
                       reference.encoder.prior_adjacency)
    item = dataset[0]
    with torch.no_grad():
        expected = reference.test_step(pseudo_collate([item]))[0]
    result, = inferencer(item['data_samples'].img_path)
    assert result['report'] == expected.pred_report
    tags = result['tags']
    assert sorted(t['name'] for t in tags) == sorted(TAG_NAMES)
    probs = [t['probability'] for t in tags]
    assert probs == sorted(probs, reverse=True)
    by_name = dict(zip(TAG_NAMES, expected.pred_tags.tolist()))
    for tag in tags:
        assert tag['probability'] == pytest.approx(by_name[tag['name']],
                                                   abs=1e-5)
    box = result['region_box']
    assert box == pytest.approx(expected.pred_region_box.tolist())
    assert 0 <= box[0] < box[2] <= 64 and 0 <= box[1] < box[3] <= 64


def test_return_visual_keeps_raw_outputs(asgk, tmp_path):
    image = tmp_path / 'x.png'
    Image.fromarray(np.full((40, 48), 90, np.uint8)).save(image)
    inferencer = ReportInferencer(asgk.ckpt)
    raw, = inferencer(str(image), return_visual=True)
    assert {'heatmap', 'tag_probs', 'region_boxes'} <= set(
        raw['visual'].extras)
    assert raw['batch_index'] == 0
    assert raw['input_image'].dtype == torch.uint8
    assert tuple(raw['input_image'].shape) == (3, 64, 64)
    assert raw['data_sample'].pred_report == raw['report']
    assert raw['ori_shape'] == [40, 48]
    plain, = ReportInferencer.to_json([raw])
    assert set(plain) == set(ReportInferencer.JSON_KEYS)
    assert plain['tags'] == raw['tags']


def test_pictures_for_one_image(asgk, tmp_path):
    """infer writes the heat map and tag graph PNGs (ASGK) as valid images."""
    image = tmp_path / 'scan.png'
    Image.fromarray(np.full((40, 48), 90, np.uint8)).save(image)
    inferencer = ReportInferencer(asgk.ckpt)
    results = inferencer(str(image), return_visual=True)
    paths, = inferencer.write_pictures(results, str(tmp_path / 'vis'))
    names = sorted(osp.basename(p) for p in paths)
    assert names == ['scan_heatmap.png', 'scan_tag_graph.png']
    with Image.open(tmp_path / 'vis' / 'scan_heatmap.png') as pic:
        assert pic.size == (64, 64) and pic.mode == 'RGB'
    with Image.open(tmp_path / 'vis' / 'scan_tag_graph.png') as pic:
        assert pic.size[0] > 100 and pic.size[1] > 100
    plain, = ReportInferencer.to_json(results)
    assert plain['pictures'] == paths
    assert plain['report']
