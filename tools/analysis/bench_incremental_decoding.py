# Copyright (c) rrgkit contributors. All rights reserved.
"""Time GPTDecoder generation with the key/value cache vs without it.

``python tools/analysis/bench_incremental_decoding.py [--length 100]``

Both runs use the same randomly initialised decoder (ASGK size by default:
d_model 512, 3 layers, 8 heads) and the same random memory. "Cached" calls
``init_state``/``step``; "recompute" runs ``forward`` on the whole prefix at
every step and keeps the last position. Every run generates exactly
``--length`` tokens (no stop at ``<eos>``). An untrained model with tied
embeddings tends to repeat one token under argmax, so by default tokens are
drawn by Gumbel-max sampling with the same pre-drawn noise in both runs
(``--greedy`` for plain argmax): equal outputs then mean both runs computed
the same distributions. The script prints both times, the speed ratio, the
largest log-probability difference, and exits with status 1 if the token
sequences differ.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

import torch  # noqa: E402

from rrgkit.models.decoders.gpt_decoder import GPTDecoder  # noqa: E402
from rrgkit.models.utils.visual_features import VisualFeatures  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--length', type=int, default=100,
                        help='tokens to generate')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--d-model', type=int, default=512)
    parser.add_argument('--num-layers', type=int, default=3)
    parser.add_argument('--num-heads', type=int, default=8)
    parser.add_argument('--vocab-size', type=int, default=1000)
    parser.add_argument('--memory-tokens', type=int, default=49,
                        help='memory length M (e.g. 7x7 feature map)')
    parser.add_argument('--repeats', type=int, default=3,
                        help='timed runs of each method (the best is kept)')
    parser.add_argument('--greedy', action='store_true',
                        help='argmax instead of fixed-noise sampling')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch default)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def generate_cached(decoder, visual, noise, bos_id=1):
    """Generate ``noise.shape[1]`` tokens with ``init_state``/``step``."""
    B, L, _ = noise.shape
    state = decoder.init_state(visual)
    tokens = torch.full((B, ), bos_id, dtype=torch.long, device=noise.device)
    out, scores = [], []
    for t in range(L):
        log_probs, state = decoder.step(tokens, state)
        tokens = (log_probs + noise[:, t]).argmax(-1)
        out.append(tokens)
        scores.append(log_probs)
    return torch.stack(out, 1), torch.stack(scores, 1)


def generate_recompute(decoder, visual, noise, bos_id=1):
    """Generate the same way, re-running ``forward`` on the prefix."""
    B, L, _ = noise.shape
    prefix = torch.full((B, 1), bos_id, dtype=torch.long, device=noise.device)
    scores = []
    for t in range(L):
        log_probs = decoder(visual, prefix)[:, -1].log_softmax(-1)
        tokens = (log_probs + noise[:, t]).argmax(-1)
        prefix = torch.cat([prefix, tokens[:, None]], 1)
        scores.append(log_probs)
    return prefix[:, 1:], torch.stack(scores, 1)


def _sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def best_time(fn, repeats, device):
    result, best = None, float('inf')
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        result = fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    decoder = GPTDecoder(
        vocab_size=args.vocab_size,
        in_channels=args.d_model,
        d_model=args.d_model,
        num_heads=args.num_heads,
        num_layers=args.num_layers,
        ffn_dims=4 * args.d_model,
        max_len=args.length + 1).to(device).eval()
    B = args.batch_size
    memory = torch.randn(B, args.memory_tokens, args.d_model, device=device)
    visual = VisualFeatures(memory.mean(1), memory)
    if args.greedy:
        noise = torch.zeros(B, args.length, args.vocab_size, device=device)
    else:
        uniform = torch.rand(B, args.length, args.vocab_size, device=device)
        noise = -torch.log(-torch.log(uniform.clamp_min(1e-20)))

    with torch.inference_mode():
        generate_cached(decoder, visual, noise[:, :5])  # warm-up
        generate_recompute(decoder, visual, noise[:, :5])
        t_cache, (ids_cache, lp_cache) = best_time(
            lambda: generate_cached(decoder, visual, noise), args.repeats,
            device)
        t_full, (ids_full, lp_full) = best_time(
            lambda: generate_recompute(decoder, visual, noise),
            args.repeats, device)

    same = torch.equal(ids_cache, ids_full)
    max_diff = (lp_cache - lp_full).abs().max().item()
    distinct = len(set(ids_cache.flatten().tolist()))
    print(f'GPTDecoder d_model={args.d_model} layers={args.num_layers} '
          f'heads={args.num_heads} vocab={args.vocab_size}, batch {B}, '
          f'memory {args.memory_tokens} tokens, {args.length} tokens, '
          f'{"greedy" if args.greedy else "fixed-noise sampling"}, '
          f'device {device}, {torch.get_num_threads()} threads')
    print(f'with KV cache      : {t_cache:8.3f} s '
          f'({1000 * t_cache / args.length:.2f} ms/token)')
    print(f'recomputing prefix : {t_full:8.3f} s '
          f'({1000 * t_full / args.length:.2f} ms/token)')
    print(f'speed-up           : {t_full / t_cache:8.2f}x')
    print(f'identical tokens   : {same} ({distinct} distinct token ids '
          f'generated); max |log-prob difference| {max_diff:.2e}')
    if not same:
        sys.exit(1)


if __name__ == '__main__':
    main()
