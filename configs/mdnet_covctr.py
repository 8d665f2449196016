# Copyright (c) rrgkit contributors. All rights reserved.
# MDNet on COV-CTR English reports (see configs/mdnet/ and docs/mdnet.md):
#   python tools/train.py configs/mdnet_covctr.py
from mmengine.config import read_base

with read_base():
    from .mdnet.mdnet_ecnet38_1xb16_10e_covctr_en import *  # noqa: F401,F403
