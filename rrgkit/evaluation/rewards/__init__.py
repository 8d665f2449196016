# Copyright (c) rrgkit contributors. All rights reserved.
"""Sequence-level rewards for reinforcement fine-tuning (e.g. SCST).

Importing this package registers the rewards in
:data:`rrgkit.registry.REWARDS`.
"""
from .cider_d_reward import CIDErDReward
from .clinical_f1_reward import ClinicalF1Reward
from .reward_mix import RewardConfigError, RewardMix

__all__ = [
    'CIDErDReward', 'ClinicalF1Reward', 'RewardConfigError', 'RewardMix'
]
