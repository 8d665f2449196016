# Copyright (c) rrgkit contributors. All rights reserved.
# NIC on COV-CTR English (CPU schedule); see configs/nic/ for the variants.
from mmengine.config import read_base

with read_base():
    from .nic.nic_densenet121_1xb16_10e_covctr_en import *  # noqa: F401,F403
