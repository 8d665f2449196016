# Copyright (c) rrgkit contributors. All rights reserved.
"""Co-attention hierarchical LSTM decoder (CoAtt, Jing et al., ACL 2018).

A report is written sentence by sentence:

* a multi-label classifier (MLC) scores the medical tags from the global
  image feature; the embeddings of the ``top_k`` predicted tags are the
  *semantic features* ``a_m``;
* before sentence ``s``, :class:`CoAttention` looks at the visual tokens
  ``v_n`` and at the semantic features with the previous sentence state
  ``h_{s-1}`` as query and fuses both attended vectors into a context;
* :class:`SentenceLSTM` turns the context into a topic vector and a stop
  logit (``p_stop = sigmoid``: is this the last sentence?);
* :class:`WordLSTM` writes the sentence: the topic vector is its first
  input, ``<bos>`` its second, then the words.

The decoder only computes scores; splitting reports into sentences, the
losses and the decoding loop live in
:class:`~rrgkit.models.generators.HierarchicalReportGenerator`.
"""
from typing import Dict, Tuple

import torch
import torch.nn as nn

from rrgkit.models.utils.visual_features import VisualFeatures
from rrgkit.registry import MODELS

__all__ = [
    'CoAttention', 'SentenceLSTM', 'WordLSTM', 'HierarchicalLSTMDecoder'
]

State = Dict[str, torch.Tensor]


class _AdditiveAttention(nn.Module):
    """``alpha = softmax_i(w^T tanh(W_k x_i + W_q q))``; returns
    ``(alpha (B, N), sum_i alpha_i x_i (B, D))``."""

    def __init__(self, key_dims: int, query_dims: int,
                 attn_dims: int) -> None:
        super().__init__()
        self.key = nn.Linear(key_dims, attn_dims)
        self.query = nn.Linear(query_dims, attn_dims, bias=False)
        self.score = nn.Linear(attn_dims, 1)

    def forward(self, items: torch.Tensor,
                query: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        hidden = torch.tanh(self.key(items) + self.query(query).unsqueeze(1))
        alpha = self.score(hidden).squeeze(-1).softmax(-1)
        return alpha, torch.bmm(alpha.unsqueeze(1), items).squeeze(1)


@MODELS.register_module()
class CoAttention(nn.Module):
    """Joint attention over visual tokens and semantic (tag) features.

    ``alpha_v = softmax_n(w_v^T tanh(W_v v_n + W_vh h))``,
    ``alpha_a = softmax_m(w_a^T tanh(W_a a_m + W_ah h))`` and the context
    ``ctx = W_fc [sum_n alpha_v,n v_n ; sum_m alpha_a,m a_m]``.

    Args:
        visual_dims (int): Size of a visual token ``v_n``.
        semantic_dims (int): Size of a semantic feature ``a_m``.
        hidden_dims (int): Size of the query (the sentence LSTM state).
        attn_dims (int): Size of the attention layers. Defaults to 256.
        out_dims (int): Size of the joint context. Defaults to 512.
    """

    def __init__(self,
                 visual_dims: int,
                 semantic_dims: int,
                 hidden_dims: int,
                 attn_dims: int = 256,
                 out_dims: int = 512) -> None:
        super().__init__()
        self.out_dims = out_dims
        self.visual_attn = _AdditiveAttention(visual_dims, hidden_dims,
                                              attn_dims)
        self.semantic_attn = _AdditiveAttention(semantic_dims, hidden_dims,
                                                attn_dims)
        self.fuse = nn.Linear(visual_dims + semantic_dims, out_dims)

    def forward(
        self, visual: torch.Tensor, semantic: torch.Tensor,
        hidden: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Attend and fuse.

        Args:
            visual (Tensor): ``(B, N, visual_dims)`` visual tokens.
            semantic (Tensor): ``(B, M, semantic_dims)`` tag embeddings.
            hidden (Tensor): ``(B, hidden_dims)`` previous sentence state.

        Returns:
            tuple: The context ``(B, out_dims)``, the visual weights
            ``(B, N)`` and the semantic weights ``(B, M)`` (each row sums
            to 1).
        """
        alpha_v, visual_ctx = self.visual_attn(visual, hidden)
        alpha_a, semantic_ctx = self.semantic_attn(semantic, hidden)
        context = self.fuse(torch.cat([visual_ctx, semantic_ctx], -1))
        return context, alpha_v, alpha_a


@MODELS.register_module()
class SentenceLSTM(nn.Module):
    """One step per sentence: context -> topic vector and stop logit.

    ``h_s, c_s = LSTM(ctx_s, (h_{s-1}, c_{s-1}))``,
    ``topic_s = tanh(W_th h_s + W_tc ctx_s)`` and
    ``stop_s = w^T tanh(W_sp h_{s-1} + W_sc h_s)`` (a logit:
    ``p_stop = sigmoid(stop_s)``, the probability that ``s`` is the last
    sentence).

    Args:
        context_dims (int): Size of the co-attention context.
        hidden_dims (int): LSTM hidden size. Defaults to 512.
        topic_dims (int): Size of the topic vector (the word LSTM's
            embedding size). Defaults to 256.
    """

    def __init__(self,
                 context_dims: int,
                 hidden_dims: int = 512,
                 topic_dims: int = 256) -> None:
        super().__init__()
        self.hidden_dims = hidden_dims
        self.cell = nn.LSTMCell(context_dims, hidden_dims)
        self.topic_hidden = nn.Linear(hidden_dims, topic_dims)
        self.topic_context = nn.Linear(context_dims, topic_dims, bias=False)
        self.stop_prev = nn.Linear(hidden_dims, hidden_dims)
        self.stop_cur = nn.Linear(hidden_dims, hidden_dims, bias=False)
        self.stop_out = nn.Linear(hidden_dims, 1)

    def forward(
        self, context: torch.Tensor, state: Tuple[torch.Tensor, torch.Tensor]
    ) -> Tuple[torch.Tensor, torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        """Advance one sentence.

        Args:
            context (Tensor): ``(B, context_dims)``.
            state (tuple): ``(h, c)``, each ``(B, hidden_dims)``.

        Returns:
            tuple: The topic ``(B, topic_dims)``, the stop logit ``(B,)``
            and the new ``(h, c)``.
        """
        h_prev = state[0]
        h, c = self.cell(context, state)
        topic = torch.tanh(self.topic_hidden(h) + self.topic_context(context))
        stop = self.stop_out(
            torch.tanh(self.stop_prev(h_prev) + self.stop_cur(h)))
        return topic, stop.squeeze(-1), (h, c)


@MODELS.register_module()
class WordLSTM(nn.Module):
    """Writes one sentence from its topic vector.

    The topic is the first input, ``<bos>`` the second, then the words;
    the output after ``input_ids[:, t]`` scores the next token.

    Args:
        vocab_size (int): Number of tokens.
        embed_dims (int): Word embedding size (= topic size).
            Defaults to 256.
        hidden_dims (int): LSTM hidden size. Defaults to 512.
        num_layers (int): Stacked layers. Defaults to 1.
        dropout (float): Dropout on inputs and outputs. Defaults to 0.
        pad_id (int): Padding id. Defaults to 0.
    """

    def __init__(self,
                 vocab_size: int,
                 embed_dims: int = 256,
                 hidden_dims: int = 512,
                 num_layers: int = 1,
                 dropout: float = 0.0,
                 pad_id: int = 0) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.embed = nn.Embedding(vocab_size, embed_dims, padding_idx=pad_id)
        self.lstm = nn.LSTM(
            embed_dims,
            hidden_dims,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_dims, vocab_size)

    def forward(self, topic: torch.Tensor,
                input_ids: torch.Tensor) -> torch.Tensor:
        """Teacher-forced scores ``(R, T, vocab_size)`` of ``R`` sentences
        from topics ``(R, embed_dims)`` and ids ``(R, T)`` (``<bos>``
        first)."""
        seq = torch.cat([topic.unsqueeze(1), self.embed(input_ids)], 1)
        out, _ = self.lstm(self.dropout(seq))
        return self.classifier(self.dropout(out[:, 1:]))

    def init_state(self, topic: torch.Tensor) -> State:
        """Feed the topic; the state before ``<bos>`` (batch first)."""
        _, (h, c) = self.lstm(topic.unsqueeze(1))
        return dict(h=h.transpose(0, 1), c=c.transpose(0, 1))

    def step(self, tokens: torch.Tensor,
             state: State) -> Tuple[torch.Tensor, State]:
        """One word: ``(R, vocab_size)`` log-probabilities, new state."""
        hc = (state['h'].transpose(0, 1).contiguous(),
              state['c'].transpose(0, 1).contiguous())
        out, (h, c) = self.lstm(self.embed(tokens).unsqueeze(1), hc)
        log_probs = self.classifier(out[:, 0]).log_softmax(-1)
        return log_probs, dict(h=h.transpose(0, 1), c=c.transpose(0, 1))


@MODELS.register_module()
class HierarchicalLSTMDecoder(nn.Module):
    """MLC + co-attention + sentence LSTM + word LSTM.

    Args:
        vocab_size (int): Number of tokens (set by the generator).
        in_channels (int): Size of ``visual.tokens``/``global_feat`` (set
            by the generator when omitted).
        num_tags (int): Number of medical tags (length of ``gt_tags``).
        top_k (int): Predicted tags whose embeddings are the semantic
            features (the paper's ``M``). Defaults to 10.
        embed_dims (int): Word, tag and topic embedding size.
            Defaults to 256.
        sentence_hidden_dims (int): Sentence LSTM size. Defaults to 512.
        word_hidden_dims (int): Word LSTM size. Defaults to 512.
        attn_dims (int): Co-attention size. Defaults to 256.
        context_dims (int): Joint context size. Defaults to 512.
        word_layers (int): Word LSTM layers. Defaults to 1.
        dropout (float): Word LSTM dropout. Defaults to 0.3.
        pad_id (int): Padding id. Defaults to 0.
    """

    def __init__(self,
                 vocab_size: int,
                 in_channels: int,
                 num_tags: int,
                 top_k: int = 10,
                 embed_dims: int = 256,
                 sentence_hidden_dims: int = 512,
                 word_hidden_dims: int = 512,
                 attn_dims: int = 256,
                 context_dims: int = 512,
                 word_layers: int = 1,
                 dropout: float = 0.3,
                 pad_id: int = 0) -> None:
        super().__init__()
        if not 1 <= top_k <= num_tags:
            raise ValueError(
                f'HierarchicalLSTMDecoder: top_k={top_k} must be in '
                f'1..num_tags={num_tags}; lower top_k or check num_tags '
                '(the length of the dataset\'s gt_tags).')
        self.vocab_size = vocab_size
        self.num_tags = num_tags
        self.top_k = top_k
        self.pad_id = pad_id
        self.mlc = nn.Linear(in_channels, num_tags)
        self.tag_embed = nn.Embedding(num_tags, embed_dims)
        self.init_h = nn.Linear(in_channels, sentence_hidden_dims)
        self.init_c = nn.Linear(in_channels, sentence_hidden_dims)
        self.co_attention = CoAttention(in_channels, embed_dims,
                                        sentence_hidden_dims, attn_dims,
                                        context_dims)
        self.sentence_lstm = SentenceLSTM(context_dims, sentence_hidden_dims,
                                          embed_dims)
        self.word_lstm = WordLSTM(vocab_size, embed_dims, word_hidden_dims,
                                  word_layers, dropout, pad_id)

    def tag_logits(self, visual: VisualFeatures) -> torch.Tensor:
        """The MLC's ``(B, num_tags)`` tag scores."""
        return self.mlc(visual.global_feat)

    def init_sentence_state(self, visual: VisualFeatures,
                            tag_logits: torch.Tensor) -> State:
        """Semantic features of the top-k tags and the initial sentence
        state (from the global feature)."""
        top_tags = tag_logits.detach().topk(self.top_k, -1).indices
        g = visual.global_feat
        return dict(
            tokens=visual.tokens,
            semantic=self.tag_embed(top_tags),
            top_tags=top_tags,
            h=torch.tanh(self.init_h(g)),
            c=torch.tanh(self.init_c(g)))

    def sentence_step(
            self, state: State) -> Tuple[torch.Tensor, torch.Tensor, State]:
        """Co-attend with the previous state, then advance the sentence
        LSTM.

        Returns:
            tuple: The topic ``(B, embed_dims)``, the stop logit ``(B,)``
            and the new state (with the attention weights ``alpha_v``
            ``(B, N)`` and ``alpha_a`` ``(B, top_k)``).
        """
        context, alpha_v, alpha_a = self.co_attention(
            state['tokens'], state['semantic'], state['h'])
        topic, stop, (h, c) = self.sentence_lstm(context,
                                                 (state['h'], state['c']))
        new = dict(state)
        new.update(h=h, c=c, alpha_v=alpha_v, alpha_a=alpha_a)
        return topic, stop, new

    def forward(self, visual: VisualFeatures,
                sentence_ids: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Teacher-forced scores of every level.

        Args:
            visual (VisualFeatures): Study features.
            sentence_ids (Tensor): ``(B, S, L)`` ids, each sentence
                ``<bos> ... <eos>``; sentences that do not exist are all
                ``pad_id``.

        Returns:
            dict: ``tag_logits`` ``(B, num_tags)``, ``stop_logits``
            ``(B, S)``, ``word_logits`` ``(B, S, L - 1, vocab_size)``
            (position ``t`` scores the token after ``sentence_ids[..., t]``;
            zero for missing sentences), ``visual_attention`` ``(B, S, N)``
            and ``semantic_attention`` ``(B, S, top_k)``.
        """
        if sentence_ids.dim() != 3 or 0 in sentence_ids.shape[1:]:
            raise ValueError('HierarchicalLSTMDecoder expects (B, S, L) '
                             'sentence ids with S, L >= 1, got shape '
                             f'{tuple(sentence_ids.shape)}')
        B, S, L = sentence_ids.shape
        tag_logits = self.tag_logits(visual)
        state = self.init_sentence_state(visual, tag_logits)
        topics, stops, alpha_v, alpha_a = [], [], [], []
        for _ in range(S):
            topic, stop, state = self.sentence_step(state)
            topics.append(topic)
            stops.append(stop)
            alpha_v.append(state['alpha_v'])
            alpha_a.append(state['alpha_a'])
        topics = torch.stack(topics, 1)
        exists = sentence_ids[..., 0] != self.pad_id
        word_logits = topics.new_zeros(B, S, L - 1, self.vocab_size)
        if bool(exists.any()):
            word_logits[exists] = self.word_lstm(
                topics[exists], sentence_ids[exists][:, :-1])
        return dict(
            tag_logits=tag_logits,
            stop_logits=torch.stack(stops, 1),
            word_logits=word_logits,
            visual_attention=torch.stack(alpha_v, 1),
            semantic_attention=torch.stack(alpha_a, 1))

    def extra_repr(self) -> str:
        return (f'vocab_size={self.vocab_size}, num_tags={self.num_tags}, '
                f'top_k={self.top_k}')
