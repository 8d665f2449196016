# Copyright (c) rrgkit contributors. All rights reserved.
"""Capture and restore the global random streams as checkpoint-safe values.

Python's ``random``, numpy's legacy global generator and torch's CPU (and,
once initialised, CUDA) generators are captured as plain dicts of tensors,
ints, floats and strings, so that a checkpoint holding them still loads with
``torch.load(weights_only=True)`` and nothing added to the allowlist.
"""
import random
from typing import Dict

import numpy as np
import torch

__all__ = ['get_random_state', 'set_random_state']


def get_random_state() -> Dict:
    """The current state of every global random stream training uses.

    Capturing draws nothing: the streams go on exactly as before.

    Returns:
        dict: ``python``, ``numpy`` and ``torch`` entries, plus ``cuda`` (one
        state per device) when CUDA has been initialised.
    """
    py_version, py_state, py_gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state = dict(
        python=dict(
            version=int(py_version),
            state=torch.tensor(py_state, dtype=torch.int64),
            gauss=py_gauss),
        numpy=dict(
            name=str(np_name),
            keys=torch.from_numpy(np_keys.astype(np.int64)),
            pos=int(np_pos),
            has_gauss=int(np_has_gauss),
            cached_gaussian=float(np_gauss)),
        torch=torch.get_rng_state(),
    )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_random_state(state: Dict) -> None:
    """Put every stream back to a state from :func:`get_random_state`.

    Args:
        state (dict): A captured state. A ``cuda`` entry is restored when the
            number of visible devices matches, and ignored otherwise.
    """
    py = state['python']
    random.setstate((py['version'], tuple(py['state'].tolist()), py['gauss']))
    np_state = state['numpy']
    np.random.set_state(
        (np_state['name'], np_state['keys'].numpy().astype(np.uint32),
         np_state['pos'], np_state['has_gauss'], np_state['cached_gaussian']))
    torch.set_rng_state(state['torch'].cpu())
    cuda = state.get('cuda')
    if (cuda is not None and torch.cuda.is_available()
            and len(cuda) == torch.cuda.device_count()):
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda])
