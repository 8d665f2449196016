# Copyright (c) rrgkit contributors. All rights reserved.
# The example plugin on the embedded synthetic CT data: the NIC synthetic
# config with the plugin's GRU attention decoder and centre-crop proposer.
# Run from the repository root:
#   python tools/train.py \
#       projects/example_project/configs/example_gru_centre_synth.py
from mmengine.config import read_base

with read_base():
    # Relative to this file: four dots climb to the repository root.
    from ....configs.nic.nic_densenet_tiny_1xb16_20e_synth import *  # noqa

# The plugin registers itself into rrgkit's MODELS registry when its package
# is imported: rrgkit imports ``custom_imports`` before checking the config's
# type names (mmengine itself only does so for classic ``_base_`` configs).
# tools/train.py and tools/test.py put the repository root on sys.path, so
# ``projects.*`` is importable.
custom_imports = dict(
    imports=['projects.example_project.example_plugin'],
    allow_failed_imports=False)

from mmpretrain.models import DenseNet  # noqa: E402

# Assignment replaces the base's sub-configs (``model.update`` would merge
# them, keeping LSTMDecoder-only keys such as ``feed_image``).
model.region_proposer = dict(
    type='CentreCropProposer',
    region_backbone=dict(
        type=DenseNet,
        arch=dict(growth_rate=8, depths=[2, 2], init_channels=16)),
    crop_ratio=0.5,
    crop_size=32,
    embed_dims=128)
model.decoder = dict(
    type='GRUAttentionDecoder',
    embed_dims=128,
    hidden_dims=256,
    attn_dims=128,
    dropout=0.2)
