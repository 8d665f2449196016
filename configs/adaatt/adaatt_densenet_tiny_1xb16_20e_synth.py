# Copyright (c) rrgkit contributors. All rights reserved.
# AdaAtt (adaptive attention with a visual sentinel) on the embedded synthetic
# CT data: the NIC synthetic config (small DenseNet from scratch at 64 px,
# 20 epochs) with the AdaAtt decoder.
from mmengine.config import read_base

with read_base():
    from ..nic.nic_densenet_tiny_1xb16_20e_synth import *  # noqa: F401,F403

from rrgkit.models import AdaptiveAttentionDecoder  # noqa: E402

# Replaces NIC's LSTMDecoder dict (update() would merge its keys in).
model['decoder'] = dict(
    type=AdaptiveAttentionDecoder,
    embed_dims=128,
    hidden_dims=256,
    attn_dims=128,
    dropout=0.2)
