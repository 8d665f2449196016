# Copyright (c) rrgkit contributors. All rights reserved.
import numpy as np
import pytest
import torch
from PIL import Image

from rrgkit.visualization import (draw_heatmap, draw_word_attention,
                                  resize_map, to_rgb_image)

GREEN = [0, 255, 0]


def _png(path):
    with Image.open(path) as img:
        img.load()
        assert img.format == 'PNG'
        return img.size, img.mode, np.asarray(img)


# ------------------------------------------------------------ helpers
def test_to_rgb_image_handles_gray_float_and_channels_first():
    gray = np.array([[0, 128], [255, 7]], dtype=np.uint8)
    rgb = to_rgb_image(gray)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert rgb[1, 0].tolist() == [255, 255, 255]
    # Floats in [0, 1] are scaled, larger ones are read as 0-255.
    assert to_rgb_image(np.full((2, 2), 0.5))[0, 0].tolist() == [128] * 3
    assert to_rgb_image(np.full((2, 2), 300.0))[0, 0].tolist() == [255] * 3
    chw = torch.zeros(3, 4, 5)
    chw[0] = 1.0  # red
    assert to_rgb_image(chw)[0, 0].tolist() == [255, 0, 0]
    with pytest.raises(ValueError, match='image must be'):
        to_rgb_image(np.zeros((2, 2, 4)))


def test_resize_map_is_bilinear_with_pixel_centres():
    out = resize_map(np.array([[1.0, 0.0], [0.0, 0.0]]), (4, 4))
    # Output pixel 1 sits at input coordinate 0.25, pixel 2 at 0.75.
    assert out[0].tolist() == pytest.approx([1.0, 0.75, 0.25, 0.0])
    assert out[1, 1] == pytest.approx(0.75 * 0.75)
    assert out[3].tolist() == [0.0] * 4


# ------------------------------------------------------------ heat map
def test_heatmap_has_the_image_size_and_outlines_the_box(tmp_path):
    image = np.zeros((20, 30), dtype=np.uint8)  # H=20, W=30
    out = tmp_path / 'sub' / 'heat.png'
    array = draw_heatmap(image, np.zeros((2, 3)), box=(5, 4, 15, 10),
                         out=out, alpha=0.0)
    size, mode, pixels = _png(out)
    assert size == (30, 20) and mode == 'RGB'
    assert (pixels == array).all()
    # One-pixel outline over pixel edges x 5..15, y 4..10.
    for y, x in [(4, 5), (4, 14), (9, 5), (9, 14), (7, 5), (4, 10)]:
        assert pixels[y, x].tolist() == GREEN, (y, x)
    for y, x in [(7, 10), (3, 5), (10, 15), (9, 15), (0, 0)]:
        assert pixels[y, x].tolist() == [0, 0, 0], (y, x)


def test_heatmap_colours_follow_the_map():
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    heat = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    # Gray colormap at full opacity shows the upsampled map itself.
    array = draw_heatmap(image, heat, alpha=1.0, cmap='gray')
    expected = np.rint(resize_map(heat, (4, 4)) * 255)
    assert np.abs(array[..., 0].astype(int) - expected).max() <= 1
    # Half opacity mixes image and colour equally.
    white = np.full((4, 4), 255, dtype=np.uint8)
    half = draw_heatmap(white, np.zeros((4, 4)), alpha=0.5, cmap='gray')
    assert half[0, 0].tolist() == [128, 128, 128]


def test_heatmap_rejects_bad_input():
    with pytest.raises(ValueError, match='2-D map'):
        draw_heatmap(np.zeros((4, 4)), np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match='box'):
        draw_heatmap(np.zeros((4, 4)), np.zeros((4, 4)), box=(1, 2, 3))
    with pytest.raises(ValueError, match='alpha'):
        draw_heatmap(np.zeros((4, 4)), np.zeros((4, 4)), alpha=2.0)


# ------------------------------------------------------------ attention
@pytest.mark.parametrize('num_words,max_words,size', [
    (3, 20, (800, 200)),  # image + 3 words in one row
    (3, 2, (600, 200)),  # image + 2 words
    (7, 20, (1000, 400)),  # 8 panels, 5 per row
    (0, 20, (200, 200)),  # only the image
])
def test_word_attention_panels(tmp_path, num_words, max_words, size):
    words = [f'w{i}' for i in range(num_words)]
    alphas = torch.softmax(torch.randn(num_words + 1, 6), -1)  # extra row
    out = tmp_path / 'att.png'
    array = draw_word_attention(np.zeros((12, 18), np.uint8), words, alphas,
                                grid=(2, 3), out=out, max_words=max_words,
                                betas=torch.rand(num_words + 1))
    got_size, mode, pixels = _png(out)
    assert got_size == size and mode == 'RGB'
    assert array.shape == (size[1], size[0], 3)


def test_word_attention_puts_the_weight_where_the_model_looked():
    # One word attending only to the top-left cell of a 2x2 grid; on a
    # black image at full opacity the panel is the jet colormap itself.
    alphas = np.array([[1.0, 0.0, 0.0, 0.0]])
    array = draw_word_attention(np.zeros((40, 40), np.uint8), ['lung'],
                                alphas, grid=(2, 2), alpha=1.0)
    panel = array[:, 200:400].astype(int)
    r, b = panel[..., 0], panel[..., 2]
    hot = np.argwhere((r > 100) & (b < 60))
    cold = np.argwhere((b > 100) & (r < 60))
    assert len(hot) > 100 and len(cold) > 100
    assert (hot.mean(0) < cold.mean(0)).all()  # hot is up and left


def test_word_attention_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r'\(T, h\*w\)'):
        draw_word_attention(np.zeros((8, 8)), ['a'], np.ones((1, 5)), (2, 2))
    with pytest.raises(ValueError, match='attention rows'):
        draw_word_attention(np.zeros((8, 8)), ['a', 'b'], np.ones((1, 4)),
                            (2, 2))
    with pytest.raises(ValueError, match='betas'):
        draw_word_attention(np.zeros((8, 8)), ['a', 'b'], np.ones((2, 4)),
                            (2, 2), betas=[0.5])
