# Copyright (c) rrgkit contributors. All rights reserved.
# ASGK (Li et al.): global DenseNet-121 -> CAM-threshold region crop + second
# DenseNet-121, fused (internal auxiliary signal, tags with focal loss) ->
# medical tag graph encoder -> GPT-style decoder (3 blocks). Leaf configs set
# the number of tags, the tokenizer corpus and the prior graph corpus.
from mmpretrain.models import DenseNet

from rrgkit.models import (CAMThresholdProposer, ReportGenerator,
                           ReportNLLLoss, TagFocalLoss, TagGraphEncoder)
from rrgkit.models.decoders import GPTDecoder
from rrgkit.models.tokenizers import ReportTokenizer

model = dict(
    type=ReportGenerator,
    backbone=dict(type=DenseNet, arch='121'),
    region_proposer=dict(
        type=CAMThresholdProposer,
        region_backbone=dict(type=DenseNet, arch='121'),
        num_tags=None,
        threshold=0.7,
        crop_size=224,
        fusion='mul',
        loss_tag=dict(type=TagFocalLoss, alpha=0.25, gamma=2.0)),
    encoder=dict(
        type=TagGraphEncoder,
        num_tags=None,
        d_model=512,
        num_heads=8,
        num_layers=1,
        prior_graph=None),
    decoder=dict(
        type=GPTDecoder,
        d_model=512,
        num_heads=8,
        num_layers=3,
        ffn_dims=2048,
        dropout=0.1,
        max_len=128),
    tokenizer=dict(type=ReportTokenizer, language='en', min_freq=3),
    loss=dict(type=ReportNLLLoss),
    max_len=100,
    beam_size=3,
)
