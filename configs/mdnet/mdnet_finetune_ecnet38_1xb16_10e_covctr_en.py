# Copyright (c) rrgkit contributors. All rights reserved.
# MDNet comparison row "with fine-tuning": the EcNet learns the diagnosis for
# the first half of training (beta = 0), then is fine-tuned by the language
# loss alone (beta = 1, eta = 1).
from mmengine.config import read_base

with read_base():
    from .mdnet_ecnet38_1xb16_10e_covctr_en import *  # noqa: F401,F403

model['region_proposer'].update(eta=1.0)
custom_hooks = [h for h in custom_hooks if h['type'] is not BetaScheduleHook]
custom_hooks.append(dict(type=BetaScheduleHook, schedule='step', end=0.5))
