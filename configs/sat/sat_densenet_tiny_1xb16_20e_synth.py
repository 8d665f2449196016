# Copyright (c) rrgkit contributors. All rights reserved.
# Show, Attend and Tell (SAT) on the embedded synthetic CT data: the NIC
# synthetic config (small DenseNet from scratch at 64 px, 20 epochs) with the
# soft-attention LSTM over the backbone's spatial positions.
from mmengine.config import read_base

with read_base():
    from ..nic.nic_densenet_tiny_1xb16_20e_synth import *  # noqa: F401,F403

from rrgkit.models import AttentionLSTMDecoder  # noqa: E402

# Replaces NIC's LSTMDecoder dict (update() would merge its keys in).
model['decoder'] = dict(
    type=AttentionLSTMDecoder,
    attention='soft',
    doubly_stochastic=1.0,
    embed_dims=128,
    hidden_dims=256,
    attn_dims=128,
    dropout=0.2)
