# Copyright (c) rrgkit contributors. All rights reserved.
import numpy as np
import pytest
import torch

from rrgkit.models.region_proposers.connected_components import (
    largest_component, largest_component_box)


def test_larger_of_two_blobs_is_chosen():
    mask = np.zeros((20, 30), dtype=bool)
    mask[2:5, 3:6] = True  # 9 pixels
    mask[10:16, 12:20] = True  # 48 pixels
    assert largest_component_box(mask) == (12, 10, 20, 16)
    kept = largest_component(mask)
    assert kept.sum() == 48 and not kept[2:5, 3:6].any()


def test_diagonal_pixels_are_connected_with_8_connectivity():
    mask = np.zeros((12, 12), dtype=np.uint8)
    for i in range(5):  # a diagonal line of 5 pixels
        mask[1 + i, 1 + i] = 1
    mask[8:10, 8:10] = 1  # a 2x2 square of 4 pixels
    # 8-connectivity: the diagonal is one component, larger than the square.
    assert largest_component_box(mask, connectivity=8) == (1, 1, 6, 6)
    # 4-connectivity: the diagonal falls apart into single pixels.
    assert largest_component_box(mask, connectivity=4) == (8, 8, 10, 10)


def test_empty_mask_has_no_box():
    mask = torch.zeros(8, 8)
    assert largest_component_box(mask) is None
    assert not largest_component(mask).any()


def test_accepts_tensors_and_rejects_bad_input():
    mask = torch.zeros(6, 6)
    mask[0, 5] = 0.3  # non-zero counts as foreground
    assert largest_component_box(mask) == (5, 0, 6, 1)
    with pytest.raises(ValueError, match='2-D'):
        largest_component_box(np.zeros((2, 6, 6)))
    with pytest.raises(ValueError, match='connectivity'):
        largest_component_box(mask, connectivity=6)
