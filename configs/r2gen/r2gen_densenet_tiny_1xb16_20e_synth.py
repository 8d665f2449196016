# Copyright (c) rrgkit contributors. All rights reserved.
# R2Gen (memory-driven Transformer) on the embedded synthetic CT data, sized
# for 2 CPU cores: the NIC synthetic config's small DenseNet from scratch at
# 64 px (4x4 patch tokens), a 128-d, 3-layer Transformer encoder and a
# 3-layer memory-driven decoder (3 relational-memory slots), beam 3.
# Adam with amsgrad: 5e-4 for the encoder-decoder, 1e-3 for the CNN
# (lr_mult 2). Not tuned; see r2gen_densenet121_1xb16_10e_covctr_en.py for
# the differences from the paper.
from mmengine.config import read_base

with read_base():
    from ..nic.nic_densenet_tiny_1xb16_20e_synth import *  # noqa: F401,F403

from rrgkit.models import R2GenDecoder, TransformerVisualEncoder  # noqa: E402

model['encoder'] = dict(
    type=TransformerVisualEncoder,
    d_model=128,
    num_heads=4,
    num_layers=3,
    ffn_dims=256,
    dropout=0.1)
# Replaces NIC's LSTMDecoder dict (update() would merge its keys in).
model['decoder'] = dict(
    type=R2GenDecoder,
    d_model=128,
    num_heads=4,
    num_layers=3,
    ffn_dims=256,
    dropout=0.1,
    num_slots=3,
    rm_num_heads=4)
model.update(beam_size=3)

optim_wrapper.optimizer.update(lr=5e-4, weight_decay=5e-5, amsgrad=True)
optim_wrapper['paramwise_cfg'] = dict(
    custom_keys={'backbone': dict(lr_mult=2.0)})
