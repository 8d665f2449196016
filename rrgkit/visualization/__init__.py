# Copyright (c) rrgkit contributors. All rights reserved.
"""Visualizers (heat maps, attention, tag graphs) register here."""
__all__ = []
