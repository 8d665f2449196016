# Copyright (c) rrgkit contributors. All rights reserved.
# Show-and-Tell (NIC): DenseNet-121 global feature -> LSTM. The tokenizer's
# vocabulary is built from the training split (leaf configs set `corpus`).
from mmpretrain.models import DenseNet

from rrgkit.models import LSTMDecoder, ReportGenerator, ReportNLLLoss
from rrgkit.models.tokenizers import ReportTokenizer

model = dict(
    type=ReportGenerator,
    backbone=dict(type=DenseNet, arch='121'),
    decoder=dict(type=LSTMDecoder, embed_dims=256, hidden_dims=512,
                 dropout=0.3),
    tokenizer=dict(type=ReportTokenizer, language='en', min_freq=3),
    loss=dict(type=ReportNLLLoss),
    max_len=100,
    beam_size=3,
)
