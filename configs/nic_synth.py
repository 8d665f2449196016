# Copyright (c) rrgkit contributors. All rights reserved.
# NIC on the embedded synthetic data (the README's main job is ASGK:
# configs/asgk_synth.py).
from mmengine.config import read_base

with read_base():
    from .nic.nic_densenet_tiny_1xb16_20e_synth import *  # noqa: F401,F403
