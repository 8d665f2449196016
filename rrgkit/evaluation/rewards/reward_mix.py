# Copyright (c) rrgkit contributors. All rights reserved.
"""A weighted sum of named rewards, built from a ``reward_cfg`` dict.

A reward is any callable ``(predictions, references) -> (N,) scores``, where
``predictions`` are ``N`` generated texts and ``references`` their ``N``
reference lists, all in the generator's normalised form. A reward that needs
the training references (e.g. CIDEr-D's document frequencies) also has
``fit(references)``, called once before training with the references of
every training image.

``reward_cfg`` names each term::

    reward_cfg = dict(
        cider=dict(type='CIDErDReward', weight=1.0),
        ce=dict(type='MyClinicalF1Reward', weight=0.5),  # any REWARDS entry
    )

A term is a config dict (``type`` from :data:`rrgkit.registry.REWARDS`, or a
class; ``weight`` defaults to 1) or a callable (weight 1).
"""
from typing import Callable, Dict, Mapping, Sequence, Tuple, Union

import numpy as np

from rrgkit.registry import REWARDS

__all__ = ['RewardConfigError', 'RewardMix']

RewardTerm = Union[dict, Callable]


class RewardConfigError(ValueError):
    """A reward configuration that cannot work (raised when it is built)."""


class RewardMix:
    """Weighted sum of rewards; also returns every term for logging.

    Args:
        reward_cfg (Mapping[str, dict | Callable]): Term name -> config
            dict (with an optional ``weight``) or callable.

    Raises:
        RewardConfigError: If there is no term or a term is neither a dict
            nor a callable.
    """

    def __init__(self, reward_cfg: Mapping[str, RewardTerm]) -> None:
        if not isinstance(reward_cfg, Mapping) or not reward_cfg:
            raise RewardConfigError(
                'reward_cfg must be a non-empty dict of named rewards, e.g. '
                "reward_cfg=dict(cider=dict(type='CIDErDReward')); got "
                f'{reward_cfg!r}')
        self.rewards: Dict[str, Callable] = {}
        self.weights: Dict[str, float] = {}
        for name, term in reward_cfg.items():
            weight = 1.0
            if isinstance(term, Mapping):
                term = dict(term)
                weight = float(term.pop('weight', 1.0))
                term = REWARDS.build(term)
            if not callable(term):
                raise RewardConfigError(
                    f'reward_cfg.{name} is of type {type(term).__name__}; '
                    "give a config dict (dict(type='CIDErDReward', "
                    'weight=1.0)) or a callable (predictions, references) '
                    '-> scores.')
            self.rewards[name], self.weights[name] = term, weight

    @property
    def needs_references(self) -> Tuple[str, ...]:
        """Names of the terms that must be fitted to training references."""
        return tuple(n for n, r in self.rewards.items() if hasattr(r, 'fit'))

    def fit(self, references: Sequence[Sequence[str]]) -> 'RewardMix':
        """Call ``fit(references)`` of every term that has one."""
        for name in self.needs_references:
            self.rewards[name].fit(references)
        return self

    def __call__(
        self, predictions: Sequence[str],
        references: Sequence[Sequence[str]]
    ) -> Tuple[np.ndarray, Dict[str, np.ndarray]]:
        """Score every prediction.

        Args:
            predictions (Sequence[str]): ``N`` generated texts.
            references (Sequence[Sequence[str]]): Their references.

        Returns:
            tuple: The ``(N,)`` weighted sum and ``{name: (N,) scores}``.
        """
        terms = {}
        total = np.zeros(len(predictions), dtype=np.float64)
        for name, reward in self.rewards.items():
            scores = np.asarray(reward(predictions, references),
                                dtype=np.float64).reshape(-1)
            if scores.shape[0] != len(predictions):
                raise ValueError(f'reward {name!r} returned {scores.shape[0]}'
                                 f' scores for {len(predictions)} texts')
            terms[name] = scores
            total += self.weights[name] * scores
        return total, terms
