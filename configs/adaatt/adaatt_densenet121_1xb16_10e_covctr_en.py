# Copyright (c) rrgkit contributors. All rights reserved.
# AdaAtt (Lu et al., CVPR 2017: adaptive attention with a visual sentinel)
# on COV-CTR English reports: DenseNet-121 (from scratch) + an LSTM that
# attends over the 4x4 positions of the last feature map at 128 px or, through
# the sentinel, over its own memory. Data, tokenizer and the 10-epoch CPU
# schedule are the NIC config's, so the rows compare the decoders only.
from mmengine.config import read_base

with read_base():
    from ..nic.nic_densenet121_1xb16_10e_covctr_en import *  # noqa: F401,F403

from rrgkit.models import AdaptiveAttentionDecoder  # noqa: E402

# Replaces NIC's LSTMDecoder dict (update() would merge its keys in).
model['decoder'] = dict(
    type=AdaptiveAttentionDecoder,
    embed_dims=256,
    hidden_dims=512,
    attn_dims=256,
    dropout=0.3)
