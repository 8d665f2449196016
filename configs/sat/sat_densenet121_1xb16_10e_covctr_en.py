# Copyright (c) rrgkit contributors. All rights reserved.
# Show, Attend and Tell (SAT, Xu et al., 2015) on COV-CTR English reports:
# DenseNet-121 (from scratch) + LSTM with soft attention over the 4x4
# positions of its last feature map at 128 px. Everything else (data,
# tokenizer, 10-epoch CPU schedule, beam 3) is the NIC config's, so the two
# rows compare the decoders only. The paper's doubly stochastic attention
# penalty is on (lambda = 1, logged as loss_attention).
from mmengine.config import read_base

with read_base():
    from ..nic.nic_densenet121_1xb16_10e_covctr_en import *  # noqa: F401,F403

from rrgkit.models import AttentionLSTMDecoder  # noqa: E402

# Replaces NIC's LSTMDecoder dict (update() would merge its keys in).
model['decoder'] = dict(
    type=AttentionLSTMDecoder,
    attention='soft',
    doubly_stochastic=1.0,
    embed_dims=256,
    hidden_dims=512,
    attn_dims=256,
    dropout=0.3)
