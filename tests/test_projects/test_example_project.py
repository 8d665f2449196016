# Copyright (c) rrgkit contributors. All rights reserved.
"""The example plugin in projects/example_project: its two components on
tiny inputs, and its config trained through tools/train.py."""
import glob
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmpretrain.models import DenseNet
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

from rrgkit.models.utils.decoding import beam_search, greedy_decode
from rrgkit.models.utils.visual_features import VisualFeatures
from rrgkit.registry import MODELS
from rrgkit.utils.checkpoint import safe_load_checkpoint
from rrgkit.utils.config_check import UnknownComponentError
from rrgkit.utils.setup_env import load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:  # tools/train.py does the same
    sys.path.insert(0, REPO)

from projects.example_project.example_plugin import (  # noqa: E402
    CentreCropProposer, GRUAttentionDecoder, centre_box)

CONFIG = osp.join(REPO, 'projects', 'example_project', 'configs',
                  'example_gru_centre_synth.py')


def _tools_conftest():
    """tests/test_tools/conftest.py (tool loader and tiny options)."""
    path = osp.join(REPO, 'tests', 'test_tools', 'conftest.py')
    spec = importlib.util.spec_from_file_location('_rrgkit_tools_conftest',
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _visual(batch=2, positions=5, dims=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return VisualFeatures(
        global_feat=torch.randn(batch, dims, generator=gen),
        tokens=torch.randn(batch, positions, dims, generator=gen))


# ------------------------------------------------------------- registry
def test_plugin_lives_outside_rrgkit_and_is_registered():
    for cls in (GRUAttentionDecoder, CentreCropProposer):
        assert cls.__module__.startswith('projects.example_project.')
        assert not cls.__module__.startswith('rrgkit')
        assert MODELS.get(cls.__name__) is cls
        # Distinct from every name of the parent registries.
        assert MMPRETRAIN_MODELS.get(cls.__name__) is None
        assert cls.__name__ not in MMENGINE_MODELS.module_dict


def test_config_check_knows_plugin_names_once_imported():
    cfg = load_config(CONFIG)
    assert cfg.model.decoder.type == 'GRUAttentionDecoder'
    assert cfg.model.region_proposer.type == 'CentreCropProposer'
    assert cfg.custom_imports.imports == [
        'projects.example_project.example_plugin']
    # ... and a typo is reported with the plugin's name as the suggestion.
    with pytest.raises(UnknownComponentError) as err:
        load_config(CONFIG, {'model.decoder.type': 'GRUAttentionDecodr'})
    assert "model.decoder.type = 'GRUAttentionDecodr'" in str(err.value)
    assert "Did you mean 'GRUAttentionDecoder'" in str(err.value)


# -------------------------------------------------------------- decoder
def _decoder(**kwargs):
    torch.manual_seed(0)
    cfg = dict(vocab_size=11, in_channels=6, embed_dims=4, hidden_dims=8,
               attn_dims=3, dropout=0.0)
    cfg.update(kwargs)
    return GRUAttentionDecoder(**cfg).eval()


def test_decoder_shapes_and_attention():
    decoder = _decoder()
    visual = _visual(batch=2, positions=5)
    ids = torch.tensor([[1, 4, 5, 6], [1, 7, 0, 0]])
    logits, alphas = decoder.forward_with_attention(visual, ids)
    assert logits.shape == (2, 4, 11)
    assert alphas.shape == (2, 4, 5)
    torch.testing.assert_close(alphas.sum(-1), torch.ones(2, 4))
    torch.testing.assert_close(decoder(visual, ids), logits)


def test_decoder_uniform_attention_averages_tokens():
    decoder = _decoder()
    nn.init.zeros_(decoder.attn_score.weight)  # equal scores everywhere
    visual = _visual(batch=1, positions=4)
    state = decoder.init_state(visual)
    alpha, context = decoder.attend(state['h'], state)
    torch.testing.assert_close(alpha, torch.full((1, 4), 0.25))
    torch.testing.assert_close(context, visual.tokens.mean(1))


def test_decoder_step_matches_forward():
    decoder = _decoder()
    visual = _visual(batch=3)
    ids = torch.tensor([[1, 4, 5, 6, 2], [1, 7, 3, 9, 2], [1, 8, 8, 2, 0]])
    expected = decoder(visual, ids).log_softmax(-1)
    state = decoder.init_state(visual)
    for t in range(ids.shape[1]):
        log_probs, state = decoder.step(ids[:, t], state)
        torch.testing.assert_close(log_probs, expected[:, t])
    assert state['alpha'].shape == (3, 5)


def test_decoder_works_with_greedy_and_beam_search():
    decoder = _decoder()
    visual = _visual(batch=2)
    common = dict(
        init_state=lambda: decoder.init_state(visual),
        step=decoder.step, batch_size=2, bos_id=1, eos_id=2, max_len=6,
        device=torch.device('cpu'))
    greedy = greedy_decode(**common)
    beam1 = beam_search(beam_size=1, length_penalty=0.0, **common)
    beam3 = beam_search(beam_size=3, length_penalty=0.0, **common)
    assert greedy.shape[0] == beam3.shape[0] == 2
    assert greedy.shape[1] <= 6 and beam3.shape[1] <= 6
    assert torch.equal(greedy, beam1)


def test_decoder_rejects_wrong_token_size():
    decoder = _decoder(in_channels=6)
    with pytest.raises(ValueError, match=r'tokens must be \(B, N, 6\)'):
        decoder.init_state(_visual(dims=7))
    with pytest.raises(ValueError, match='hidden_dims must be positive'):
        _decoder(hidden_dims=0)


# ------------------------------------------------------------- proposer
@pytest.mark.parametrize('size, ratio, box', [
    ((32, 32), 0.5, (8, 8, 24, 24)),
    ((20, 30), 0.5, (7, 5, 22, 15)),  # (H, W): 10 x 15 crop
    ((7, 7), 0.5, (1, 1, 5, 5)),  # 3.5 rounds up to 4; extra pixel right
    ((9, 12), 1.0, (0, 0, 12, 9)),
    ((3, 3), 0.1, (1, 1, 2, 2)),  # at least one pixel
])
def test_centre_box(size, ratio, box):
    assert centre_box(*size, ratio) == box


def test_centre_box_rejects_bad_ratio():
    with pytest.raises(ValueError, match='ratio must be in'):
        centre_box(8, 8, 0.0)


def _proposer(**kwargs):
    torch.manual_seed(0)
    # nn.Identity: the "region feature" is the mean of the crop's pixels.
    cfg = dict(region_backbone=nn.Identity(), in_channels=6, crop_ratio=0.5,
               crop_size=4, embed_dims=5)
    cfg.update(kwargs)
    return CentreCropProposer(**cfg)


def test_proposer_crops_only_the_centre():
    proposer = _proposer()
    assert proposer.region_channels == 3 and proposer.out_channels == 5
    images = torch.zeros(2, 3, 16, 16)
    images[0, :, 4:12, 4:12] = 1.0  # exactly the central box
    images[1] = 1.0
    images[1, :, 4:12, 4:12] = 0.0  # everything but the centre
    seen = {}
    proposer.fuse.register_forward_hook(
        lambda module, args, out: seen.update(x=args[0]))
    visual, losses = proposer(images, _visual(batch=2, positions=9))
    assert losses == {}
    region_feat = seen['x'][:, 6:]
    torch.testing.assert_close(region_feat,
                               torch.tensor([[1.0] * 3, [0.0] * 3]))
    assert visual.global_feat.shape == (2, 5)
    assert visual.tokens.shape == (2, 9 + 4 * 4, 5)  # global + region
    torch.testing.assert_close(
        visual.extras['region_boxes'],
        torch.tensor([[4.0, 4.0, 12.0, 12.0]] * 2))


def test_proposer_uses_first_view_and_sizes_region_backbone():
    backbone = DenseNet(
        arch=dict(growth_rate=4, depths=[1, 1], init_channels=8))
    proposer = _proposer(region_backbone=backbone, crop_size=16,
                         embed_dims=None)
    assert proposer.out_channels == 6  # defaults to in_channels
    inputs = torch.rand(2, 3, 3, 32, 32)  # (B, V, C, H, W)
    visual, _ = proposer(inputs, _visual(batch=2, positions=4))
    n_region = visual.tokens.shape[1] - 4
    assert n_region > 0
    assert visual.global_feat.shape == (2, 6)
    torch.testing.assert_close(
        visual.extras['region_boxes'],
        torch.tensor([[8.0, 8.0, 24.0, 24.0]] * 2))


def test_proposer_errors():
    with pytest.raises(ValueError, match='crop_ratio must be in'):
        _proposer(crop_ratio=1.5)
    proposer = _proposer()
    with pytest.raises(ValueError, match='global feature has 7 channels'):
        proposer(torch.zeros(1, 3, 8, 8), _visual(batch=1, dims=7))


def test_generator_sizes_and_predicts_with_the_plugin():
    from rrgkit.models import ReportGenerator
    from rrgkit.structures import ReportDataSample
    torch.manual_seed(0)
    tiny = dict(growth_rate=4, depths=[1, 1], init_channels=8)
    model = ReportGenerator(
        backbone=dict(type='mmpretrain.DenseNet', arch=tiny),
        region_proposer=dict(
            type='CentreCropProposer', crop_size=16, embed_dims=12,
            region_backbone=dict(type='mmpretrain.DenseNet', arch=tiny)),
        decoder=dict(type='GRUAttentionDecoder', embed_dims=8,
                     hidden_dims=8, attn_dims=8),
        tokenizer=dict(type='ReportTokenizer', vocab=[
            'the', 'lungs', 'are', 'clear', '.']),
        max_len=8, beam_size=2).eval()
    assert model.decoder.in_channels == 12  # from the proposer
    samples = model.predict(torch.rand(2, 3, 32, 32),
                            [ReportDataSample() for _ in range(2)])
    assert all(isinstance(s.pred_report, str) for s in samples)
    assert samples[0].pred_region_box.tolist() == [8.0, 8.0, 24.0, 24.0]


# ------------------------------------------------------------ end to end
def test_plugin_config_trains_and_tests_through_tools(tmp_path):
    helpers = _tools_conftest()
    train = helpers.load_tool('train')
    work_dir = tmp_path / 'work'
    tiny = ['arch.growth_rate=4', 'arch.depths=[1,1]',
            'arch.init_channels=8']
    options = [o for o in helpers.tiny_synth_options(tmp_path / 'cache', 1)
               if not o.startswith('train_dataloader.batch_size')]
    # 40 images, 32 of them train: batch 16 -> 2 iterations in 1 epoch.
    options += ['train_dataloader.batch_size=16',
                'model.decoder.attn_dims=16',
                'model.region_proposer.crop_size=16',
                'model.region_proposer.embed_dims=16']
    options += [f'model.region_proposer.region_backbone.{t}' for t in tiny]
    train.main([CONFIG, '--work-dir', str(work_dir), '--cfg-options',
                *options])

    ckpt = safe_load_checkpoint(str(work_dir / 'epoch_1.pth'))
    assert ckpt['meta']['iter'] == 2
    state = ckpt['state_dict']
    assert 'decoder.cell.weight_hh' in state  # GRUCell: 3 gates
    assert state['decoder.cell.weight_hh'].shape == (3 * 16, 16)
    assert state['region_proposer.fuse.weight'].shape[0] == 16
    assert 'GRUAttentionDecoder' in ckpt['meta']['cfg']
    scalars = glob.glob(str(work_dir / '*' / 'vis_data' / 'scalars.json'))
    with open(scalars[0]) as f:
        rows = [json.loads(line) for line in f]
    train_rows = [r for r in rows if 'loss' in r]
    assert [r['step'] for r in train_rows] == [1, 2]
    assert all(r['loss'] > 0 for r in train_rows)
    assert any('report/CIDEr-D' in r for r in rows)  # validated

    out_json = tmp_path / 'reports.json'
    helpers.load_tool('test').main([
        CONFIG, str(work_dir / 'epoch_1.pth'), '--work-dir',
        str(tmp_path / 'test'), '--out', str(out_json), '--cfg-options',
        *options, 'test_evaluator.scores=[BLEU,CIDEr]'])
    with open(out_json, encoding='utf-8') as f:
        records = json.load(f)
    assert len(records) == 4  # the 40-image set's test split
    assert all(isinstance(r['generated'], str) for r in records)


def test_custom_imports_register_the_plugin_in_a_fresh_process():
    """No plugin import beforehand: custom_imports alone registers it."""
    code = (
        'import sys; sys.path.insert(0, {root!r})\n'
        'from rrgkit.utils.setup_env import load_config\n'
        'from rrgkit.registry import MODELS\n'
        'assert MODELS.get("GRUAttentionDecoder") is None\n'
        'cfg = load_config({cfg!r})\n'
        'cls = MODELS.get(cfg.model.decoder.type)\n'
        'print(cls.__module__)\n').format(root=REPO, cfg=CONFIG)
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith(
        'projects.example_project.example_plugin.gru_attention_decoder')

