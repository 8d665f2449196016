# Copyright (c) rrgkit contributors. All rights reserved.
# Entry point of the README's main job: NIC on the embedded synthetic data.
from mmengine.config import read_base

with read_base():
    from .nic.nic_densenet_tiny_1xb16_20e_synth import *  # noqa: F401,F403
