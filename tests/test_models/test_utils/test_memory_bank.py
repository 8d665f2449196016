# Copyright (c) rrgkit contributors. All rights reserved.
import pytest
import torch

from rrgkit.apis.sanity_baselines import nearest_neighbour_indices
from rrgkit.models.utils.memory_bank import (ReportMemoryBank,
                                             RetrievalBankError,
                                             top_k_similar)

# Unit vectors at 0, 90, 180 and 53.13 degrees; the query is at 36.87.
KEYS = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.6, 0.8]])
QUERY = torch.tensor([[0.8, 0.6]])


def test_cosine_top_k_on_a_hand_made_bank():
    scores, index = top_k_similar(QUERY, KEYS, 3)
    # cos = 0.8, 0.6, -0.8, 0.6*0.8 + 0.8*0.6 = 0.96
    assert index.tolist() == [[3, 0, 1]]
    torch.testing.assert_close(scores, torch.tensor([[0.96, 0.8, 0.6]]))
    scores, index = top_k_similar(QUERY, KEYS, 4)
    assert index.tolist() == [[3, 0, 1, 2]]


def test_exclusion_and_ties():
    exclude = torch.tensor([[False, False, False, True]])
    scores, index = top_k_similar(QUERY, KEYS, 3, exclude)
    assert index.tolist() == [[0, 1, 2]]
    torch.testing.assert_close(scores, torch.tensor([[0.8, 0.6, -0.8]]))
    # Equal scores: the lower index first.
    keys = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    _, index = top_k_similar(torch.tensor([[1.0, 0.0]]), keys, 3)
    assert index.tolist() == [[1, 2, 3]]
    with pytest.raises(RetrievalBankError, match='3 of them allowed'):
        top_k_similar(QUERY, KEYS, 4, exclude)
    with pytest.raises(RetrievalBankError, match='num_neighbours'):
        top_k_similar(QUERY, KEYS, 0)


def test_nearest_neighbour_baseline_is_top_1():
    train = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    query = torch.tensor([[1.0, 0.1], [0.2, 0.9]])
    assert nearest_neighbour_indices(train, query).tolist() == [1, 0]
    assert nearest_neighbour_indices(train, query).tolist() == \
        top_k_similar(query, train, 1)[1][:, 0].tolist()


def test_bank_search_excludes_the_query_image():
    ids = torch.arange(8).view(4, 2)
    bank = ReportMemoryBank(KEYS, ids, ['a', 'b', 'c', 'd'], built_at=7)
    assert len(bank) == 4
    query = torch.tensor([[0.8, 0.6], [0.0, 1.0]])
    scores, index = bank.search(query, 2, exclude_ids=['d', None])
    assert index.tolist() == [[0, 1], [1, 3]]
    torch.testing.assert_close(scores, torch.tensor([[0.8, 0.6],
                                                     [1.0, 0.8]]))
    assert bank.exclusion_mask(['b', 'zz']).tolist() == [
        [False, True, False, False], [False] * 4]
    # The similarities carry no gradient (the encoder recomputes them).
    query.requires_grad_(True)
    assert not bank.search(query, 1)[0].requires_grad


def test_state_round_trip_and_errors():
    bank = ReportMemoryBank(KEYS, torch.ones(4, 3, dtype=torch.long),
                            ['a', 'b', 'c', 'd'], built_at=7)
    copy = ReportMemoryBank.from_state_dict(bank.state_dict())
    assert copy.image_ids == bank.image_ids and copy.built_at == 7
    torch.testing.assert_close(copy.keys, KEYS)
    assert copy.report_ids.tolist() == bank.report_ids.tolist()
    with pytest.raises(RetrievalBankError, match='RetrievalBankHook'):
        ReportMemoryBank().search(QUERY, 1)
    with pytest.raises(ValueError, match='one of each'):
        ReportMemoryBank(KEYS, torch.ones(3, 2), ['a'] * 4)
    with pytest.raises(ValueError, match='format'):
        ReportMemoryBank.from_state_dict({'keys': KEYS})
