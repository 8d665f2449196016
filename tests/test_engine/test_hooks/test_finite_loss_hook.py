# Copyright (c) rrgkit contributors. All rights reserved.
"""FiniteLossHook stops a real mmengine Runner before NaN weights are saved."""
import math
import os

import pytest
import torch
from mmengine.hooks import CheckpointHook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.structures import BaseDataElement
from torch.utils.data import Dataset

from rrgkit.engine.hooks import FiniteLossHook, NonFiniteLossError
from rrgkit.utils.checkpoint import safe_load_checkpoint


class _Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(inputs).float()
        loss = self.linear(x).pow(2).mean()
        return dict(loss=loss, acc=torch.tensor(float('nan')))


class _Data(Dataset):
    """Sample 4 (third batch of two) holds a NaN."""

    def __len__(self):
        return 6

    def __getitem__(self, i):
        x = torch.full((2, ), float('nan') if i == 4 else float(i))
        return dict(inputs=x,
                    data_samples=BaseDataElement(metainfo=dict(
                        img_id=f'img{i}')))


def _runner(work_dir):
    return Runner(
        model=_Toy(),
        work_dir=str(work_dir),
        default_scope='rrgkit',
        train_dataloader=dict(dataset=_Data(), batch_size=2, num_workers=0,
                              sampler=dict(type='DefaultSampler',
                                           shuffle=False),
                              collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=dict(type=CheckpointHook, interval=1,
                                           by_epoch=False)),
        custom_hooks=[dict(type=FiniteLossHook)])


def test_nan_loss_stops_training_with_a_clear_message(tmp_path):
    with pytest.raises(NonFiniteLossError) as err:
        _runner(tmp_path).train()
    msg = str(err.value)
    assert msg.startswith('Training loss is not finite at iteration 3 '
                          '(epoch 1, batch 3 of 3): loss=nan.')
    assert 'acc' not in msg  # only values named *loss* are checked
    assert 'Images of this batch: img4, img5.' in msg
    assert str(tmp_path) in msg and 'clip_grad' in msg and '--resume' in msg
    # Iterations 1 and 2 were saved; the NaN step never reached the disk.
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith('.pth')) \
        == ['iter_1.pth', 'iter_2.pth']
    state = safe_load_checkpoint(str(tmp_path / 'iter_2.pth'))['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values())


def test_finite_losses_pass_and_keys_select_values():
    hook = FiniteLossHook(keys=['loss_a'])

    class _R:
        iter = 0

    outputs = dict(loss_a=torch.tensor(1.5), loss_b=torch.tensor(math.inf))
    hook.after_train_iter(_R(), 0, None, outputs)  # loss_b is not checked
    with pytest.raises(ValueError, match='interval'):
        FiniteLossHook(interval=0)


def test_every_config_gets_the_hook_from_the_default_runtime():
    from mmengine.config import Config
    cfg = Config.fromfile(os.path.join(os.path.dirname(__file__), '..', '..',
                                       '..', 'configs', 'nic_synth.py'))
    assert FiniteLossHook in [h['type'] for h in cfg.custom_hooks]
