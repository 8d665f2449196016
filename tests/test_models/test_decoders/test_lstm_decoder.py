# Copyright (c) rrgkit contributors. All rights reserved.
import pytest
import torch

from rrgkit.models.decoders import LSTMDecoder
from rrgkit.models.utils import VisualFeatures


def _visual(batch=2, dims=6):
    return VisualFeatures(global_feat=torch.randn(batch, dims),
                          tokens=torch.randn(batch, 4, dims))


@pytest.mark.parametrize('feed_image', ['first', 'every_step'])
def test_teacher_forcing_matches_step_by_step(feed_image):
    torch.manual_seed(0)
    dec = LSTMDecoder(vocab_size=11, in_channels=6, embed_dims=8,
                      hidden_dims=12, feed_image=feed_image).eval()
    visual = _visual()
    ids = torch.tensor([[1, 5, 7, 2], [1, 4, 4, 9]])
    logits = dec(visual, ids)
    assert logits.shape == (2, 4, 11)
    state = dec.init_state(visual)
    for t in range(ids.shape[1]):
        log_probs, state = dec.step(ids[:, t], state)
        torch.testing.assert_close(log_probs, logits[:, t].log_softmax(-1))


def test_padding_embedding_is_zero_and_bad_option_is_clear():
    dec = LSTMDecoder(vocab_size=5, in_channels=3, pad_id=0)
    assert dec.word_embed.weight[0].abs().sum() == 0
    with pytest.raises(ValueError, match='feed_image'):
        LSTMDecoder(vocab_size=5, in_channels=3, feed_image='never')


def test_different_images_give_different_predictions():
    torch.manual_seed(0)
    dec = LSTMDecoder(vocab_size=7, in_channels=6, embed_dims=8,
                      hidden_dims=8, feed_image='every_step').eval()
    ids = torch.tensor([[1, 3, 4]])
    a = dec(_visual(1), ids)
    b = dec(_visual(1), ids)
    assert not torch.allclose(a, b)
