# Copyright (c) rrgkit contributors. All rights reserved.
# R2Gen (Chen et al., "Generating Radiology Reports via Memory-driven
# Transformer", EMNLP 2020) on COV-CTR English reports: the 4x4 patch
# features of a DenseNet-121 (from scratch: nothing is downloaded) at 128 px
# -> linear projection + 3-layer Transformer encoder -> 3-layer Transformer
# decoder whose layer norms are memory-driven conditional layer norms (MCLN)
# of a 3-slot relational memory; beam 3. Data, tokenizer and the 10-epoch
# CPU schedule are the NIC config's, so the rows compare the models.
# Differences from the paper (ResNet-101 ImageNet-pretrained, d_model 512,
# d_ff 512, 8 heads, Adam lr 5e-5 visual / 1e-4 rest):
# * CPU-sized d_model 256 (8 heads of 32), d_ff 512; the memory slots are
#   d_model-sized, as in the paper.
# * The CNN is trained from scratch, so it is not slowed down as the
#   paper's pretrained one (0.5x): it learns at 1e-3 (lr_mult 10), the rate
#   of the other from-scratch DenseNet-121 configs; the encoder-decoder keeps
#   the paper's 1e-4 (Adam, amsgrad, weight decay 5e-5 as released).
from mmengine.config import read_base

with read_base():
    from ..nic.nic_densenet121_1xb16_10e_covctr_en import *  # noqa: F401,F403

from rrgkit.models import R2GenDecoder, TransformerVisualEncoder  # noqa: E402

model['encoder'] = dict(
    type=TransformerVisualEncoder,
    d_model=256,
    num_heads=8,
    num_layers=3,
    ffn_dims=512,
    dropout=0.1)
# Replaces NIC's LSTMDecoder dict (update() would merge its keys in).
model['decoder'] = dict(
    type=R2GenDecoder,
    d_model=256,
    num_heads=8,
    num_layers=3,
    ffn_dims=512,
    dropout=0.1,
    num_slots=3,
    rm_num_heads=8)
model.update(beam_size=3)

optim_wrapper.optimizer.update(lr=1e-4, weight_decay=5e-5, amsgrad=True)
optim_wrapper['paramwise_cfg'] = dict(
    custom_keys={'backbone': dict(lr_mult=10.0)})
