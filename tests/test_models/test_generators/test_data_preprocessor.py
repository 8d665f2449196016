# Copyright (c) rrgkit contributors. All rights reserved.
import pytest
import torch

from rrgkit.models.generators import ReportDataPreprocessor


def test_stacks_and_normalises():
    pre = ReportDataPreprocessor(mean=(10, 20, 30), std=(2, 4, 5))
    img = torch.zeros(3, 4, 4, dtype=torch.uint8)
    img[1] = 40
    out = pre(dict(inputs=[img, img], data_samples=None))
    assert out['inputs'].shape == (2, 3, 4, 4)
    assert out['inputs'][0, :, 0, 0].tolist() == [-5.0, 5.0, -6.0]


def test_different_sizes_and_channels_are_clear_errors():
    pre = ReportDataPreprocessor()
    with pytest.raises(ValueError, match='Resize'):
        pre(dict(inputs=[torch.zeros(3, 4, 4), torch.zeros(3, 5, 4)]))
    with pytest.raises(ValueError, match='channels'):
        pre(dict(inputs=[torch.zeros(1, 4, 4)]))
