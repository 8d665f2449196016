# Copyright (c) rrgkit contributors. All rights reserved.
# CoAtt on the embedded synthetic CT data (15 tags, 3-5 sentences per
# report): a small DenseNet from scratch at 64 px, co-attention over its
# positions and the 5 most likely tags, sentence + word LSTMs. Sized like the
# NIC synthetic config (minutes on 2 CPU cores). Validation also reports the
# tag classifier's AUC.
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.synth_ct import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.schedules.adam_20e import *  # noqa: F401,F403

from mmpretrain.models import DenseNet  # noqa: E402

from rrgkit.engine.hooks import MostFrequentReportHook  # noqa: E402
from rrgkit.evaluation import TagAUCMetric  # noqa: E402
from rrgkit.models import (HierarchicalLSTMDecoder,  # noqa: E402
                           HierarchicalReportGenerator, ReportNLLLoss)
from rrgkit.models.tokenizers import ReportTokenizer  # noqa: E402

num_tags = 15
model = dict(
    type=HierarchicalReportGenerator,
    backbone=dict(
        type=DenseNet,
        arch=dict(growth_rate=16, depths=[3, 4, 4], init_channels=32)),
    decoder=dict(
        type=HierarchicalLSTMDecoder,
        num_tags=num_tags,
        top_k=5,
        embed_dims=128,
        sentence_hidden_dims=256,
        word_hidden_dims=256,
        attn_dims=128,
        context_dims=256,
        dropout=0.2),
    tokenizer=dict(
        type=ReportTokenizer,
        language='en',
        min_freq=2,
        corpus=train_dataloader['dataset']),
    loss=dict(type=ReportNLLLoss),
    tag_loss=None,  # the paper's cross-entropy vs the normalised tags
    lambda_tag=1.0,
    lambda_stop=1.0,
    lambda_word=1.0,
    max_sentences=6,
    max_sentence_len=56,
    beam_size=1,
)
train_cfg.update(max_epochs=20, val_interval=2)
param_scheduler = [dict(type=MultiStepLR, by_epoch=True, milestones=[16],
                        gamma=0.1)]
val_evaluator = [val_evaluator, dict(type=TagAUCMetric)]
test_evaluator = [test_evaluator, dict(type=TagAUCMetric)]
custom_hooks.append(dict(type=MostFrequentReportHook))
