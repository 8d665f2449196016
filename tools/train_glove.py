# Copyright (c) rrgkit contributors. All rights reserved.
"""Train GloVe word vectors on a config's training reports.

``python tools/train_glove.py CONFIG --out vectors.npy [--dim 300]``

The reports are those of the tokenizer's corpus (``model.tokenizer.corpus``,
the training split; ``train_dataloader.dataset`` when the config has none),
tokenized with the same tokenizer the model builds. Rows of the saved
``(vocab_size, dim)`` float32 matrix follow the tokenizer's id order:

* ``<pad>`` is a zero row;
* ``<bos>``, ``<eos>`` and any token absent from the reports get small
  random rows (normal, std = 0.1 x the std of the trained rows, seeded);
* ``<unk>`` (words under ``min_freq``) is trained like any word.

Next to ``vectors.npy`` a sidecar ``vectors.json`` records the vocabulary
hash and size, the training settings and the final loss. Both files are
written to a temporary name first and then renamed. Use the matrix with
``decoder=dict(type='GPTDecoder', word_vectors='vectors.npy')``.
"""
import argparse
import json
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import numpy as np  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

import rrgkit  # noqa: E402,F401
from rrgkit.models.tokenizers import build_tokenizer  # noqa: E402
from rrgkit.models.utils.glove import (build_cooccurrence,  # noqa: E402
                                       train_glove)
from rrgkit.registry import DATASETS  # noqa: E402
from rrgkit.utils.setup_env import load_config, run_cli  # noqa: E402
from rrgkit.utils.fileio import atomic_write  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Train GloVe vectors on a config's training reports")
    parser.add_argument('config', help='config file path')
    parser.add_argument('--out', required=True,
                        help='output .npy file (a .json sidecar is added)')
    parser.add_argument('--dim', type=int, default=300, help='vector size')
    parser.add_argument('--epochs', type=int, default=50)
    parser.add_argument('--lr', type=float, default=0.05,
                        help='AdaGrad learning rate')
    parser.add_argument('--window', type=int, default=10,
                        help='co-occurrence window (tokens each side)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--data-root', help='override every dataset data_root in the config')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings')
    return parser.parse_args(argv)


def corpus_config(cfg, config_path):
    """The dataset config whose reports the tokenizer is built from."""
    tok_cfg = cfg.model.get('tokenizer')
    if tok_cfg is None:
        raise SystemExit(f'error: {config_path}: model.tokenizer is missing')
    corpus = tok_cfg.get('corpus')
    if corpus is None:
        corpus = cfg.get('train_dataloader', {}).get('dataset')
    if corpus is None:
        raise SystemExit(
            f'error: {config_path}: neither model.tokenizer.corpus nor '
            'train_dataloader.dataset is set, so there are no training '
            'reports to train word vectors on.')
    return corpus


def fill_untrained_rows(vectors, tokenizer, seen, seed):
    """Zero ``<pad>``; small random rows for specials and unseen tokens."""
    vectors = vectors.copy()
    trained = seen.copy()
    for special in (tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id):
        trained[special] = False
    std = float(vectors[trained].std()) if trained.any() else 1.0
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 0.1 * std, size=vectors.shape)
    vectors[~trained] = noise[~trained].astype(vectors.dtype)
    vectors[tokenizer.pad_id] = 0.0
    return vectors


def main(argv=None):
    args = parse_args(argv)
    if not args.out.endswith('.npy'):
        raise SystemExit(f'error: --out must end with .npy, got {args.out}')
    out_dir = osp.dirname(osp.abspath(args.out))
    if not osp.isdir(out_dir):
        raise SystemExit(f'error: the folder of --out ({out_dir}) does not '
                         'exist; create it first')
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    corpus = corpus_config(cfg, args.config)
    if corpus.get('split', 'train') != 'train':
        print(f"warning: the corpus is split={corpus['split']!r}, not the "
              'training split', file=sys.stderr)
    tokenizer = build_tokenizer(cfg.model.tokenizer)
    reports = list(DATASETS.build(dict(corpus)).get_reports())
    if not tokenizer.is_built:
        tokenizer.build_vocab(reports)
    ids = [tokenizer.encode(r, add_special=False) for r in reports]
    vocab_size = tokenizer.vocab_size
    seen = np.zeros(vocab_size, dtype=bool)
    for seq in ids:
        seen[seq] = True

    start = time.perf_counter()
    cooc = build_cooccurrence(ids, vocab_size, window=args.window)
    history = []
    vectors = train_glove(cooc, vocab_size, dim=args.dim, epochs=args.epochs,
                          lr=args.lr, seed=args.seed, history=history)
    vectors = fill_untrained_rows(vectors, tokenizer, seen, args.seed)
    seconds = time.perf_counter() - start

    meta = dict(
        format='rrgkit-word-vectors-v1',
        method='glove',
        config=args.config,
        vocab_hash=tokenizer.vocab_hash,
        vocab_size=vocab_size,
        dim=args.dim,
        num_reports=len(reports),
        num_pairs=int(cooc.counts.size),
        window=args.window,
        epochs=args.epochs,
        lr=args.lr,
        seed=args.seed,
        x_max=100.0,
        alpha=0.75,
        loss_first_epoch=history[0],
        loss_last_epoch=history[-1],
        untrained_rows=[tokenizer.vocab[i]
                        for i in np.flatnonzero(~seen)],
        special_rows='<pad> zero; <bos>, <eos> and tokens absent from the '
        'reports: normal(0, 0.1 * std of trained rows)')
    sidecar = osp.splitext(args.out)[0] + '.json'
    atomic_write(args.out, lambda f: np.save(f, vectors))
    text = json.dumps(meta, indent=2, ensure_ascii=False).encode('utf-8')
    atomic_write(sidecar, lambda f: f.write(text))
    print(f'{vocab_size} x {args.dim} vectors from {len(reports)} reports '
          f'({cooc.counts.size} co-occurring pairs) in {seconds:.1f}s; '
          f'loss {history[0]:.4f} -> {history[-1]:.4f}')
    print(f'saved {args.out} and {sidecar} (vocab hash '
          f'{tokenizer.vocab_hash})')


if __name__ == '__main__':
    run_cli(main)
