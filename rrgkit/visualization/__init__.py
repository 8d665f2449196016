# Copyright (c) rrgkit contributors. All rights reserved.
"""Pictures of what a model does: heat maps, word attention, tag graphs."""
from .drawing import (draw_heatmap, draw_word_attention, resize_map,
                      save_png, to_rgb_image)
from .model_pictures import display_images, model_pictures, word_attention
from .tag_graph import draw_tag_graph

__all__ = [
    'draw_heatmap', 'draw_word_attention', 'draw_tag_graph', 'to_rgb_image',
    'resize_map', 'save_png', 'display_images', 'model_pictures',
    'word_attention'
]
