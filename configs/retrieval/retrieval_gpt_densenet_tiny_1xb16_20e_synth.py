# Copyright (c) rrgkit contributors. All rights reserved.
# Retrieval-augmented GPT on the embedded synthetic CT data: the NIC synthetic
# config (small DenseNet from scratch at 64 px, 20 epochs) with a
# RetrievalEncoder (the reports of the 2 nearest training images, by the
# learned image embedding, appended to the visual tokens) and a small GPT
# decoder attending over both. RetrievalBankHook rebuilds the bank of
# training embeddings after every epoch (docs/retrieval_augmented.md).
from mmengine.config import read_base

with read_base():
    from ..nic.nic_densenet_tiny_1xb16_20e_synth import *  # noqa: F401,F403

from rrgkit.engine.hooks import RetrievalBankHook  # noqa: E402
from rrgkit.models.decoders import GPTDecoder  # noqa: E402
from rrgkit.models.encoders import RetrievalEncoder  # noqa: E402

model['encoder'] = dict(
    type=RetrievalEncoder,
    num_neighbours=2,
    key_dims=64,
    max_report_len=80,
    dropout=0.1)
# Replaces NIC's LSTMDecoder dict (update() would merge its keys in).
model['decoder'] = dict(
    type=GPTDecoder,
    d_model=128,
    num_heads=4,
    num_layers=2,
    ffn_dims=256,
    dropout=0.1,
    max_len=96)
optim_wrapper.optimizer.update(lr=5e-4)
custom_hooks.append(dict(type=RetrievalBankHook))
