# Copyright (c) rrgkit contributors. All rights reserved.
# Retrieval-augmented report generation on COV-CTR English: DenseNet-121
# (from scratch) -> RetrievalEncoder (the reports of the 3 nearest training
# images by the learned, projected and L2-normalised pooled feature; an image
# never retrieves itself) -> GPT-style decoder (pre-LN, 3 blocks, as
# Vision-GPT) attending over the image positions and the retrieved words, so
# it can copy the nearest reports and edit them. Data, tokenizer (training
# reports, min_freq 3), 128 px and the 10-epoch schedule are the NIC
# config's; lr 5e-4 as the GPT-decoder configs. RetrievalBankHook rebuilds
# the bank of training embeddings after every epoch (one extra forward pass
# over the 576 training images). The 64 px benchmark schedule applies with
# its cfg_options (configs/benchmarks/covctr_en_cpu_64px.py).
# See docs/retrieval_augmented.md.
from mmengine.config import read_base

with read_base():
    from ..nic.nic_densenet121_1xb16_10e_covctr_en import *  # noqa: F401,F403

from rrgkit.engine.hooks import RetrievalBankHook  # noqa: E402
from rrgkit.models.decoders import GPTDecoder  # noqa: E402
from rrgkit.models.encoders import RetrievalEncoder  # noqa: E402

model['encoder'] = dict(
    type=RetrievalEncoder,
    num_neighbours=3,
    key_dims=256,
    max_report_len=100,
    use_similarity=True,
    dropout=0.1)
# Replaces NIC's LSTMDecoder dict (update() would merge its keys in).
model['decoder'] = dict(
    type=GPTDecoder,
    d_model=512,
    num_heads=8,
    num_layers=3,
    ffn_dims=2048,
    dropout=0.1,
    max_len=128)
optim_wrapper.optimizer.update(lr=5e-4)
custom_hooks.append(dict(type=RetrievalBankHook))
