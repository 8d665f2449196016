# Copyright (c) rrgkit contributors. All rights reserved.
# MDNet (Zhang et al., CVPR 2017): EcNet image model, AAS attention
# sharpening (diagnosis classifier + class map), an attention LSTM that
# writes one description per task (task duplication), and the beta/eta
# joint optimisation (BetaScheduleHook in the leaf configs).
from rrgkit.models import (AASProposer, AttentionLSTMDecoder, EcNet,
                           ReportNLLLoss, TaskDuplicatedGenerator)
from rrgkit.models.tokenizers import ReportTokenizer

model = dict(
    type=TaskDuplicatedGenerator,
    description_names=('thorax_mediastinum', 'lungs', 'bronchi', 'pleura'),
    with_conclusion=True,
    report_conclusion=False,
    backbone=dict(type=EcNet, arch='38-8', stem='imagenet'),
    region_proposer=dict(type=AASProposer, num_classes=2, eta=5.0),
    decoder=dict(
        type=AttentionLSTMDecoder,
        attention='aas',
        num_positions=64,  # 8x8 EcNet output at 128 px with this stem
        embed_dims=256,
        hidden_dims=512,
        dropout=0.3),
    tokenizer=dict(type=ReportTokenizer, language='en', min_freq=3),
    loss=dict(type=ReportNLLLoss),
    max_len=50,  # per description
    beam_size=3,
)
