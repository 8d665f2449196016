# Copyright (c) rrgkit contributors. All rights reserved.
"""Relational memory and memory-driven conditional layer norm (R2Gen).

The two components of R2Gen's memory-driven Transformer decoder (Chen et
al., "Generating Radiology Reports via Memory-driven Transformer", EMNLP
2020): :class:`RelationalMemory` keeps ``num_slots`` vectors that are
updated once per generated word, and :class:`ConditionalLayerNorm` (MCLN)
is a layer norm whose scale and shift are moved by MLPs of that memory.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .transformer_layers import MultiHeadAttention

__all__ = ['RelationalMemory', 'ConditionalLayerNorm']


class RelationalMemory(nn.Module):
    """A gated multi-slot memory updated by attention (R2Gen section 2.2).

    With ``M`` the ``(S, D)`` memory before the step and ``y`` the previous
    word's ``(D,)`` embedding, one step computes

    * ``M~ = M + MHA(q=M, k=v=[M; y])``, the slots attending to
      themselves and to the word;
    * ``Z = M~ + MLP(M~)``;
    * gates ``G_i, G_f = split(W y + U tanh(M))`` (``W`` with a bias, ``U``
      without: one bias per gate is enough);
    * ``M_new = sigmoid(G_i) * tanh(Z) + sigmoid(G_f) * M``.

    So a forget gate of 1 and an input gate of 0 keep the memory as it is,
    as in an LSTM cell. The memory starts as the identity matrix (slot
    ``s`` is the unit vector ``e_s``; truncated when ``S > D``), fixed and
    the same for every report.

    Args:
        embed_dims (int): Slot (and word embedding) size ``D``.
        num_slots (int): Number of slots ``S``. Defaults to 3.
        num_heads (int): Heads of the slot attention; must divide
            ``embed_dims``. Defaults to 8.
        dropout (float): Dropout on the attention weights (training only).
            Defaults to 0.
    """

    def __init__(self,
                 embed_dims: int,
                 num_slots: int = 3,
                 num_heads: int = 8,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if num_slots < 1:
            raise ValueError(f'RelationalMemory: num_slots must be >= 1, got '
                             f'{num_slots}')
        self.embed_dims = embed_dims
        self.num_slots = num_slots
        self.attn = MultiHeadAttention(embed_dims, num_heads, dropout)
        self.mlp = nn.Sequential(
            nn.Linear(embed_dims, embed_dims), nn.ReLU(inplace=True),
            nn.Linear(embed_dims, embed_dims))
        # Columns [:D] are the input gate, [D:] the forget gate.
        self.word_gates = nn.Linear(embed_dims, 2 * embed_dims)
        self.memory_gates = nn.Linear(embed_dims, 2 * embed_dims, bias=False)
        initial = torch.eye(num_slots, max(num_slots, embed_dims))
        self.register_buffer(
            'initial_memory', initial[:, :embed_dims], persistent=False)

    def initial_state(self, batch_size: int) -> torch.Tensor:
        """The memory before the first word.

        Args:
            batch_size (int): ``B``.

        Returns:
            Tensor: ``(B, num_slots, embed_dims)``.
        """
        return self.initial_memory.unsqueeze(0).repeat(batch_size, 1, 1)

    def step(self, memory: torch.Tensor, word: torch.Tensor) -> torch.Tensor:
        """Update the memory with one word.

        Args:
            memory (Tensor): ``(B, num_slots, embed_dims)`` memory ``M``.
            word (Tensor): ``(B, embed_dims)`` the word's embedding ``y``.

        Returns:
            Tensor: The new memory, same shape as ``memory``.
        """
        if memory.shape[1:] != (self.num_slots, self.embed_dims) or \
                word.shape != (memory.shape[0], self.embed_dims):
            raise ValueError(
                f'RelationalMemory: expected memory (B, {self.num_slots}, '
                f'{self.embed_dims}) and word (B, {self.embed_dims}); got '
                f'{tuple(memory.shape)} and {tuple(word.shape)}')
        keys = torch.cat([memory, word.unsqueeze(1)], dim=1)
        attended = memory + self.attn.attend(memory,
                                             *self.attn.project_kv(keys))
        candidate = attended + self.mlp(attended)
        gates = (self.word_gates(word).unsqueeze(1) +
                 self.memory_gates(torch.tanh(memory)))
        input_gate, forget_gate = gates.sigmoid().chunk(2, dim=-1)
        return input_gate * torch.tanh(candidate) + forget_gate * memory

    def forward(self,
                words: torch.Tensor,
                memory: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Run the memory through a sequence of words (recurrently).

        Args:
            words (Tensor): ``(B, T, embed_dims)`` word embeddings.
            memory (Tensor, optional): ``(B, num_slots, embed_dims)``
                memory before the first word. Defaults to None
                (:meth:`initial_state`).

        Returns:
            Tensor: ``(B, T, num_slots, embed_dims)``; entry ``t`` is the
            memory after reading ``words[:, t]``.
        """
        if memory is None:
            memory = self.initial_state(words.shape[0])
        states = []
        for t in range(words.shape[1]):
            memory = self.step(memory, words[:, t])
            states.append(memory)
        if not states:
            return memory.new_zeros(words.shape[0], 0, self.num_slots,
                                    self.embed_dims)
        return torch.stack(states, dim=1)

    def extra_repr(self) -> str:
        return f'embed_dims={self.embed_dims}, num_slots={self.num_slots}'


class ConditionalLayerNorm(nn.Module):
    """Memory-driven conditional layer norm (MCLN, R2Gen section 2.3).

    ``MCLN(x, m) = (gamma + f_gamma(m)) * LN(x) + (beta + f_beta(m))``,
    where ``LN`` normalises ``x`` over its last dimension (no affine),
    ``gamma``/``beta`` are the usual learned scale and shift and
    ``f_gamma``/``f_beta`` are two-layer MLPs (ReLU) of the condition ``m``,
    the flattened relational memory. With both MLPs outputting zero this is
    exactly ``nn.LayerNorm``.

    The MLPs start with Xavier-uniform weights and biases of 0.1, as in the
    authors' release.

    Args:
        embed_dims (int): Size of the normalised features.
        cond_dims (int): Size of the condition ``m``.
        hidden_dims (int, optional): Hidden size of the MLPs. Defaults to
            None (``embed_dims``).
        eps (float): Added to the variance. Defaults to 1e-5.
    """

    def __init__(self,
                 embed_dims: int,
                 cond_dims: int,
                 hidden_dims: Optional[int] = None,
                 eps: float = 1e-5) -> None:
        super().__init__()
        hidden_dims = embed_dims if hidden_dims is None else hidden_dims
        self.embed_dims, self.cond_dims, self.eps = embed_dims, cond_dims, eps
        self.weight = nn.Parameter(torch.ones(embed_dims))
        self.bias = nn.Parameter(torch.zeros(embed_dims))
        self.mlp_gamma = self._mlp(cond_dims, hidden_dims, embed_dims)
        self.mlp_beta = self._mlp(cond_dims, hidden_dims, embed_dims)

    @staticmethod
    def _mlp(in_dims: int, hidden_dims: int, out_dims: int) -> nn.Sequential:
        mlp = nn.Sequential(
            nn.Linear(in_dims, hidden_dims), nn.ReLU(inplace=True),
            nn.Linear(hidden_dims, out_dims))
        for layer in (mlp[0], mlp[2]):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.constant_(layer.bias, 0.1)
        return mlp

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` with a scale and shift moved by ``cond``.

        Args:
            x (Tensor): ``(..., embed_dims)``.
            cond (Tensor): ``(..., cond_dims)``, broadcastable to ``x``'s
                leading dimensions (e.g. one memory per position).

        Returns:
            Tensor: Same shape as ``x``.
        """
        if cond.shape[-1] != self.cond_dims:
            raise ValueError(f'ConditionalLayerNorm: condition has '
                             f'{cond.shape[-1]} features, expected '
                             f'cond_dims={self.cond_dims}')
        normed = F.layer_norm(x, (self.embed_dims, ), eps=self.eps)
        gamma = self.weight + self.mlp_gamma(cond)
        beta = self.bias + self.mlp_beta(cond)
        return gamma * normed + beta

    def extra_repr(self) -> str:
        return f'embed_dims={self.embed_dims}, cond_dims={self.cond_dims}'
