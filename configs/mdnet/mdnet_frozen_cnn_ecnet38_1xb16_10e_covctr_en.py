# Copyright (c) rrgkit contributors. All rights reserved.
# MDNet comparison row "pretrained CNN, then LSTM": beta stays 0, so the
# EcNet learns the diagnosis only and the LSTM learns to describe its
# features without fine-tuning them (trained side by side rather than one
# after the other; the image model never sees the language loss).
from mmengine.config import read_base

with read_base():
    from .mdnet_ecnet38_1xb16_10e_covctr_en import *  # noqa: F401,F403

custom_hooks = [h for h in custom_hooks if h['type'] is not BetaScheduleHook]
custom_hooks.append(dict(type=BetaScheduleHook, schedule='constant',
                         value=0.0))
