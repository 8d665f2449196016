# Copyright (c) rrgkit contributors. All rights reserved.
"""SCST end to end on synthetic data: cross-entropy, then SCST, then test.

The synthetic NIC is trained briefly with cross-entropy until its greedy
reports start to depend on the image (64 px synthetic images, 200 of them),
then fine-tuned with SCST (CIDEr-D reward) from that checkpoint, which must
raise val CIDEr-D. The SCST checkpoint then goes through ``tools/test.py``
with the plain cross-entropy config.
"""
import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope

from rrgkit.apis import init_report_model
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample
from rrgkit.utils.checkpoint import safe_load_checkpoint
from rrgkit.utils.setup_env import load_config
from .conftest import REPO, load_tool

CE_CONFIG = osp.join(REPO, 'configs', 'nic',
                     'nic_densenet_tiny_1xb16_20e_synth.py')
SCST_CONFIG = osp.join(REPO, 'configs', 'scst',
                       'scst_nic_densenet_tiny_1xb16_3e_synth.py')
CE_EPOCHS = 30  # 10 iterations each
SCST_EPOCHS = 3


def _model_options(prefix, cache):
    data = dict(num_images=200, image_size=64, cache_root=cache)
    opts = [f'{prefix}backbone.arch.growth_rate=4',
            f'{prefix}backbone.arch.depths=[1,1]',
            f'{prefix}backbone.arch.init_channels=8',
            f'{prefix}decoder.embed_dims=64',
            f'{prefix}decoder.hidden_dims=64', f'{prefix}max_len=60',
            f'{prefix}beam_size=1', f'{prefix}tokenizer.min_freq=1']
    opts += [f'{prefix}tokenizer.corpus.{k}={v}' for k, v in data.items()]
    return opts, data


def _options(prefix, cache, epochs, val_interval):
    opts, data = _model_options(prefix, cache)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.num_workers=0',
                 f'{loader}.persistent_workers=False',
                 f'{loader}.batch_size=16']
        opts += [f'{loader}.dataset.{k}={v}' for k, v in data.items()]
    opts += [f'train_cfg.max_epochs={epochs}',
             f'train_cfg.val_interval={val_interval}', 'param_scheduler=[]',
             'val_evaluator.eval_tokenizer=whitespace',
             'test_evaluator.eval_tokenizer=whitespace',
             'test_evaluator.scores=[BLEU,ROUGE_L,CIDEr]',
             'default_hooks.logger.interval=5']
    return opts, data


def _val_cider(work_dir):
    scalars = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                        'scalars.json')))[-1]
    with open(scalars) as f:
        rows = [json.loads(line) for line in f]
    return [r['report/CIDEr-D'] for r in rows if 'report/CIDEr-D' in r], rows


@pytest.fixture(scope='module')
def scst_run(tmp_path_factory, train_tool):
    root = tmp_path_factory.mktemp('scst')
    cache = str(root / 'cache')
    ce_dir, scst_dir = str(root / 'ce'), str(root / 'scst')
    opts, _ = _options('model.', cache, CE_EPOCHS, CE_EPOCHS)
    train_tool.main([CE_CONFIG, '--work-dir', ce_dir, '--cfg-options',
                     *opts, 'optim_wrapper.optimizer.lr=5e-3'])
    opts, data = _options('model.generator.', cache, SCST_EPOCHS, 1)
    opts += [f'model.corpus.{k}={v}' for k, v in data.items()]
    ce_ckpt = osp.join(ce_dir, f'epoch_{CE_EPOCHS}.pth')
    train_tool.main([SCST_CONFIG, '--work-dir', scst_dir, '--cfg-options',
                     *opts, f'load_from={ce_ckpt}', 'model.baseline=mean',
                     'optim_wrapper.optimizer.lr=5e-4'])
    return root, ce_dir, scst_dir


def test_scst_raises_val_cider_over_the_ce_start(scst_run):
    _, ce_dir, scst_dir = scst_run
    ce, _ = _val_cider(ce_dir)
    scst, rows = _val_cider(scst_dir)
    assert len(ce) == 1 and len(scst) == SCST_EPOCHS
    print(f'val CIDEr-D: CE {ce[0]:.3f}, SCST epochs {scst}')
    assert scst[-1] > ce[0]
    train_rows = [r for r in rows if 'loss_scst' in r]
    assert train_rows and all('reward' in r and 'reward_baseline' in r
                              for r in train_rows)


@pytest.mark.parametrize('config', [CE_CONFIG, SCST_CONFIG],
                         ids=['ce_config', 'scst_config'])
def test_scst_checkpoint_tests_as_the_plain_generator(scst_run, test_tool,
                                                      config):
    root, _, scst_dir = scst_run
    scst, _ = _val_cider(scst_dir)
    out_dir = str(root / f'test_{osp.basename(config)}')
    opts, _ = _options('model.', str(root / 'cache'), 1, 1)
    if config == SCST_CONFIG:  # the same options, under model.generator
        opts = [o.replace('model.', 'model.generator.', 1) for o in opts]
    test_tool.main([config, osp.join(scst_dir, f'epoch_{SCST_EPOCHS}.pth'),
                    '--split', 'val', '--work-dir', out_dir,
                    '--cfg-options', *opts])
    with open(glob.glob(osp.join(out_dir, '*', 'metrics.json'))[0]) as f:
        summary = json.load(f)
    assert summary['metrics']['report/CIDEr-D'] == pytest.approx(
        scst[-1], abs=1e-6)


def test_reward_without_training_references_is_one_clear_line(
        tmp_path, train_tool, monkeypatch, capsys):
    opts, _ = _model_options('model.generator.', str(tmp_path / 'cache'))
    opts = [o.replace('num_images=200', 'num_images=20') for o in opts]
    monkeypatch.setattr('sys.argv', [
        'tools/train.py', SCST_CONFIG, '--work-dir', str(tmp_path / 'w'),
        '--cfg-options', *opts, 'model.corpus=None'])
    with pytest.raises(SystemExit) as exit_info:
        train_tool.run_cli(train_tool.main)
    err = capsys.readouterr().err
    with capsys.disabled():  # later logs must not go to the closed capture
        MMLogger.get_instance('after_scst_cli_test')
    assert exit_info.value.code == 2
    assert err.startswith('error: reward_cfg.cider needs the training '
                          'references, but model.corpus is not set')
    assert "corpus=train_dataloader['dataset']" in err
    assert 'Traceback' not in err


COVCTR = {  # SCST config -> the cross-entropy config it starts from
    'scst_nic_densenet121_1xb16_3e_covctr_en.py':
    'nic/nic_densenet121_1xb16_10e_covctr_en.py',
    'scst_sat_densenet121_1xb16_3e_covctr_en.py':
    'sat/sat_densenet121_1xb16_10e_covctr_en.py',
    'scst_r2gen_densenet121_1xb16_3e_covctr_en.py':
    'r2gen/r2gen_densenet121_1xb16_10e_covctr_en.py',
    'scst_vision_gpt_densenet121_1xb16_3e_covctr_en.py':
    'vision_transformer/vision_gpt_densenet121_1xb16_10e_covctr_en.py',
}
ALL = dict(COVCTR, **{osp.basename(SCST_CONFIG): osp.relpath(
    CE_CONFIG, osp.join(REPO, 'configs'))})


def _config(name):
    return load_config(osp.join(REPO, 'configs', name))


@pytest.mark.parametrize('name', sorted(ALL))
def test_scst_configs_wrap_their_ce_model_and_pipeline(name):
    cfg, ce = _config(f'scst/{name}'), _config(ALL[name])
    assert cfg.model.type.__name__ == 'SCSTGenerator'
    assert cfg.model.generator.to_dict() == ce.model.to_dict()
    assert cfg.model.corpus.to_dict() == ce.train_dataloader.dataset.to_dict()
    assert cfg.model.baseline == 'mean' and cfg.model.num_samples == 5
    assert cfg.optim_wrapper.optimizer.lr == 5e-5
    assert cfg.train_cfg.max_epochs == 3 and cfg.param_scheduler == []
    assert cfg.load_from is None
    data = name.rsplit('_', 2)[-1][:-3] if 'synth' in name else 'covctr_en'
    method = name[len('scst_'):].split('_densenet')[0]
    pipeline = _config(f'scst/scst_{method}_pipeline_{data}.py')
    stages = {s['name']: s for s in pipeline.stages}
    here = osp.join(REPO, 'configs', 'scst')
    assert osp.normpath(osp.join(here, stages['ce']['config'])) == \
        osp.join(REPO, 'configs', ALL[name])
    assert stages['scst']['config'] == name
    assert stages['scst']['init_from'] == ['ce']


@pytest.mark.parametrize('name', sorted(COVCTR))
def test_covctr_scst_models_build_and_take_a_step(name, covctr_root,
                                                  tmp_path, monkeypatch):
    # Tag configs read the gitignored data/covctr_tags_en.json: mine it
    # into a temp working dir (CI has the data, not the mined file).
    tags = tmp_path / 'data' / 'covctr_tags_en.json'
    load_tool('dataset_converters/mine_tags').main(
        [str(covctr_root / 'annotation.json'), '--language', 'english',
         '--out', str(tags)])
    monkeypatch.chdir(tmp_path)
    cfg = load_config(osp.join(REPO, 'configs', 'scst', name),
                      data_root=str(covctr_root))
    with DefaultScope.overwrite_default_scope('rrgkit'):
        model = MODELS.build(cfg.model)
    assert model.reward.rewards['cider'].scorer.num_documents == 576
    model.num_samples, model.max_len = 2, 10  # a quick step
    torch.manual_seed(0)
    x = torch.rand(2, 3, 64, 64)
    samples = [ReportDataSample().set_gt_report(
        'The thorax was symmetrical. Both lungs were clear.')
        for _ in range(2)]
    losses = model.loss(x, samples)
    assert torch.isfinite(losses['loss_scst'])
    losses['loss_scst'].backward()


def test_scst_checkpoint_builds_the_plain_generator_for_inference(scst_run):
    _, _, scst_dir = scst_run
    ckpt = osp.join(scst_dir, f'epoch_{SCST_EPOCHS}.pth')
    model = init_report_model(ckpt)  # the config stored in the checkpoint
    assert type(model).__name__ == 'ReportGenerator'
    state = safe_load_checkpoint(ckpt)['state_dict']
    for key, value in model.state_dict().items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, state[key]), key
