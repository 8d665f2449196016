# Copyright (c) rrgkit contributors. All rights reserved.
"""Build a :class:`~.report_tokenizer.ReportTokenizer` from a config.

The vocabulary comes from the config's ``vocab``, from given reports, or from
a report corpus (a dataset config or an object with ``get_reports()``).
"""
import logging
from typing import Any, List, Mapping, Optional, Tuple, Union

from mmengine.logging import print_log

from rrgkit.registry import DATASETS, TOKENIZERS
from .report_tokenizer import ReportTokenizer

__all__ = ['build_tokenizer']


def _read_corpus(corpus: Any) -> Tuple[str, List[str]]:
    """Build one corpus (config or object) and return its name and texts."""
    name, split = _describe_corpus(corpus)
    if split is not None and split != 'train':
        print_log(f'Building the report vocabulary from split={split!r} '
                  f'of {name}: vocabularies should come from the '
                  f'training split.', logger='current',
                  level=logging.WARNING)
    if isinstance(corpus, Mapping):
        corpus = DATASETS.build(dict(corpus))
    if hasattr(corpus, 'get_vocab_texts'):
        # Everything the model writes, e.g. reports plus conclusions.
        return name, list(corpus.get_vocab_texts())
    if not hasattr(corpus, 'get_reports'):
        raise TypeError(f'tokenizer corpus {name} has no get_reports() '
                        f'method; give a report dataset config.')
    return name, list(corpus.get_reports())


def _describe_corpus(corpus: Any) -> Tuple[str, Optional[str]]:
    """Return a human-readable name of a corpus and its split (if known)."""
    if isinstance(corpus, Mapping):
        split = corpus.get('split')
        parts = [f'{k}={corpus[k]!r}' for k in ('ann_file', 'split')
                 if k in corpus]
        name = getattr(corpus.get('type'), '__name__', corpus.get('type'))
        return f'{name}({", ".join(parts)})', split
    split = getattr(corpus, 'split', None)
    name = type(corpus).__name__
    return (f'{name}(split={split!r})' if split is not None else name), split


def build_tokenizer(cfg: Union[Mapping[str, Any], ReportTokenizer],
                    corpus_reports: Optional[List[str]] = None
                    ) -> ReportTokenizer:
    """Build a tokenizer and, if needed, its vocabulary.

    Priority: a ``vocab`` in the config (the corpus is not read), then
    ``corpus_reports``, then ``cfg['corpus']`` (a dataset config, or a list
    of them whose texts are pooled, e.g. reports + a textbook; built with
    ``rrgkit.registry.DATASETS``, or an object with ``get_reports()``). With
    none of them the tokenizer is returned unbuilt. ``type`` defaults to
    ``ReportTokenizer``.

    Args:
        cfg (dict | ReportTokenizer): Tokenizer config or instance.
        corpus_reports (list[str], optional): Reports to build from.
            Defaults to None.

    Returns:
        ReportTokenizer: The tokenizer.
    """
    corpus = None
    if isinstance(cfg, ReportTokenizer):
        tokenizer = cfg
    else:
        cfg = dict(cfg)
        corpus = cfg.pop('corpus', None)
        cfg.setdefault('type', ReportTokenizer)
        tokenizer = TOKENIZERS.build(cfg)
    if tokenizer.is_built:
        what = 'the given vocabulary'
    elif corpus_reports is not None:
        what = f'{len(corpus_reports)} given reports'
        tokenizer.build_vocab(corpus_reports)
    elif corpus is not None:
        corpora = list(corpus) if isinstance(corpus, (list, tuple)) \
            else [corpus]
        reports, names = [], []
        for one in corpora:
            name, texts = _read_corpus(one)
            reports += texts
            names.append(f'{len(texts)} texts of {name}')
        what = ' + '.join(names)
        tokenizer.build_vocab(reports)
    else:
        print_log('ReportTokenizer: no vocabulary yet (no vocab, corpus or '
                  'reports given).', logger='current')
        return tokenizer
    print_log(f'ReportTokenizer: vocabulary of {tokenizer.vocab_size} tokens '
              f'(hash {tokenizer.vocab_hash}, min_freq={tokenizer.min_freq}) '
              f'from {what}.', logger='current')
    return tokenizer
