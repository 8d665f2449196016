# Copyright (c) rrgkit contributors. All rights reserved.
import io
import random

import numpy as np
import torch

from rrgkit.utils.random_state import get_random_state, set_random_state


def _draw():
    return (random.random(), random.gauss(0, 1), float(np.random.rand()),
            float(np.random.randn()), torch.rand(3).tolist())


def test_restored_streams_repeat_their_draws_after_a_weights_only_load():
    random.gauss(0, 1)  # leave a cached gaussian in both generators
    np.random.randn()
    buf = io.BytesIO()
    torch.save(get_random_state(), buf)
    first = _draw()
    assert _draw() != first
    buf.seek(0)
    set_random_state(torch.load(buf, weights_only=True))
    assert _draw() == first


def test_capturing_draws_nothing():
    state = get_random_state()
    first = _draw()
    set_random_state(state)
    get_random_state()
    assert _draw() == first
