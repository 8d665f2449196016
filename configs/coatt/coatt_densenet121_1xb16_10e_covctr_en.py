# Copyright (c) rrgkit contributors. All rights reserved.
# CoAtt (Jing, Xie and Xing, ACL 2018) on COV-CTR English reports with mined
# medical tags: DenseNet-121 (from scratch) -> multi-label tag classifier;
# co-attention over the 4x4 visual positions (128 px) and the embeddings of
# the 10 most likely tags -> sentence LSTM (topic + stop) -> word LSTM.
# Data, tokenizer and the 10-epoch CPU schedule are the NIC config's.
# Mine the tags first (see configs/_base_/datasets/covctr_en_tags.py):
#   python tools/dataset_converters/mine_tags.py data/covctr/annotation.json \
#       --language english --out data/covctr_tags_en.json
# Note: most COV-CTR English reports are one long sentence (518 of the 576
# training reports have no inner '.'), so max_sentence_len covers the
# longest (117 tokens) and the sentence level has little to do here.
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.covctr_en_tags import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.schedules.adam_20e import *  # noqa: F401,F403

from mmpretrain.models import DenseNet  # noqa: E402

from rrgkit.engine.hooks import MostFrequentReportHook  # noqa: E402
from rrgkit.models import (HierarchicalLSTMDecoder,  # noqa: E402
                           HierarchicalReportGenerator, ReportNLLLoss)
from rrgkit.models.tokenizers import ReportTokenizer  # noqa: E402

image_size = 128
for _loader in (train_dataloader, val_dataloader, test_dataloader):
    _loader['dataset']['pipeline'][1]['scale'] = (image_size, image_size)

model = dict(
    type=HierarchicalReportGenerator,
    backbone=dict(type=DenseNet, arch='121'),
    decoder=dict(
        type=HierarchicalLSTMDecoder,
        num_tags=num_tags,
        top_k=10,
        embed_dims=256,
        sentence_hidden_dims=512,
        word_hidden_dims=512,
        attn_dims=256,
        context_dims=512,
        dropout=0.3),
    tokenizer=dict(
        type=ReportTokenizer,
        language='en',
        min_freq=3,
        corpus=train_dataloader['dataset']),
    loss=dict(type=ReportNLLLoss),
    tag_loss=None,  # the paper's cross-entropy vs the normalised tags
    lambda_tag=1.0,
    lambda_stop=1.0,
    lambda_word=1.0,
    max_sentences=6,
    max_sentence_len=120,
    beam_size=3,
)
train_cfg.update(max_epochs=10)
param_scheduler = [dict(type=MultiStepLR, by_epoch=True, milestones=[8],
                        gamma=0.1)]
custom_hooks.append(dict(type=MostFrequentReportHook))
