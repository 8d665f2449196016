# Copyright (c) rrgkit contributors. All rights reserved.
from .aas import AASProposer
from .cam_threshold import (CAMThresholdProposer, cam_heatmap,
                            crop_and_resize, heatmap_to_boxes)
from .connected_components import largest_component, largest_component_box

__all__ = [
    'AASProposer', 'CAMThresholdProposer', 'cam_heatmap', 'crop_and_resize',
    'heatmap_to_boxes', 'largest_component', 'largest_component_box'
]
