# Copyright (c) rrgkit contributors. All rights reserved.
"""``sync_model_state``: the initial weight sync of distributed runs."""
import os

import torch
import torch.distributed as torch_dist
import torch.nn as nn

from rrgkit.engine.runners import ReportRunner, sync_model_state
from rrgkit.registry import RUNNERS

WORLD = 2


class _WithVocab(nn.Module):
    """A layer plus non-tensor extra state, like ReportGenerator's vocab."""

    def __init__(self, tokens):
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.tokens = list(tokens)

    def get_extra_state(self):
        return {'format': 'test', 'tokens': self.tokens}

    def set_extra_state(self, state):
        self.tokens = state['tokens']


def _rank(rank, init, queue, same_vocab):
    os.chdir(os.path.dirname(init[len('file://'):]))
    torch_dist.init_process_group('gloo', init_method=init, rank=rank,
                                  world_size=WORLD)
    try:
        torch.manual_seed(rank)  # different weights on each rank
        model = _WithVocab(['a', 'b'] if same_vocab or rank == 0 else ['a'])
        sync_model_state(model)
        queue.put((rank, model.linear.weight.tolist()))
    except RuntimeError as err:
        queue.put((rank, str(err)))
    finally:
        torch_dist.destroy_process_group()


def test_tensors_come_from_rank0_and_extra_state_is_kept(
        tmp_path, run_forked_ranks):
    results = run_forked_ranks(_rank, tmp_path, True, world=WORLD)
    torch.manual_seed(0)
    expected = nn.Linear(2, 2).weight.tolist()
    assert results[0] == results[1] == expected


def test_different_vocabularies_on_the_ranks_raise(tmp_path,
                                                  run_forked_ranks):
    results = run_forked_ranks(_rank, tmp_path, False, world=WORLD)
    for rank in range(WORLD):
        assert "'_extra_state' differs between ranks" in results[rank]


def test_one_process_leaves_the_model_as_is():
    model = _WithVocab(['a'])
    before = model.linear.weight.detach().clone()
    sync_model_state(model)
    assert torch.equal(model.linear.weight, before)
    assert RUNNERS.get('ReportRunner') is ReportRunner
