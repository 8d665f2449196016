# Copyright (c) rrgkit contributors. All rights reserved.
"""Encoders: turn visual features into what the decoder attends to."""
from .prior_graph import (build_cooccurrence_graph, graph_node_features,
                          graph_to_adjacency, load_knowledge_graph,
                          normalise_adjacency, save_knowledge_graph)
from .retrieval_encoder import RetrievalEncoder
from .tag_graph import TagGraphEncoder
from .transformer_encoder import TransformerVisualEncoder

__all__ = [
    'RetrievalEncoder', 'TagGraphEncoder', 'TransformerVisualEncoder',
    'build_cooccurrence_graph', 'load_knowledge_graph',
    'save_knowledge_graph', 'graph_to_adjacency', 'graph_node_features',
    'normalise_adjacency'
]
