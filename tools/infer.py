# Copyright (c) rrgkit contributors. All rights reserved.
"""Generate reports for images: ``python tools/infer.py CHECKPOINT IMAGE``.

``IMAGE`` is one image (PNG, JPEG, 16-bit, DICOM, read by content), a folder
(its images, sorted by name) or several of those. The model, vocabulary and
preprocessing come from the checkpoint alone; ``--config`` is needed only
for checkpoints that carry no config. Prints a summary per image (report,
conclusion, top tags, region box) and, with ``--out``, writes all results as
JSON (see ``rrgkit.apis.ReportInferencer``); ``--vis-dir`` also writes the
pictures the model can show (PNG). A missing or corrupt image
stops with one line naming the file (exit status 2) and writes nothing.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from rich.console import Console  # noqa: E402
from rich.panel import Panel  # noqa: E402
from rich.table import Table  # noqa: E402
from rich.text import Text  # noqa: E402

from rrgkit.apis import ReportInferencer  # noqa: E402
from rrgkit.utils.fileio import atomic_write_json  # noqa: E402
from rrgkit.utils.setup_env import run_cli  # noqa: E402


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate reports (and tags, conclusion) for images')
    parser.add_argument('checkpoint', help='checkpoint written by train.py')
    parser.add_argument(
        'images', nargs='+', help='image file(s) and/or folder(s) of images')
    parser.add_argument(
        '--config',
        help='training config, only for checkpoints that carry none')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument(
        '--device', default='cpu', help='e.g. cpu, cuda, cuda:1')
    parser.add_argument(
        '--batch-size', type=_positive_int, default=8,
        help='images per forward pass (default 8)')
    parser.add_argument(
        '--vis-dir',
        help='write pictures here: heat map + region box, word attention, '
        'tag graph, class map (whatever the model has)')
    parser.add_argument(
        '--top-tags', type=int, default=5,
        help='tags shown per image in the summary (all are in --out)')
    return parser.parse_args(argv)


def render(result, top_tags=5):
    """A rich panel summarising one result."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style='bold', no_wrap=True)
    grid.add_column()
    image = result['image']
    image = ', '.join(image) if isinstance(image, list) else image
    grid.add_row('image', Text(image, overflow='fold'))
    report = result['report']
    grid.add_row('report', Text(report) if report else Text('(empty)',
                                                            style='dim'))
    conclusion = result.get('conclusion')
    if conclusion:
        label = conclusion.get('label')
        parts = [conclusion.get('name')
                 or (None if label is None else f'class {label}')]
        if conclusion.get('probability') is not None:
            parts.append(f'(p={conclusion["probability"]:.3f})')
        if conclusion.get('text'):
            parts.append(f'"{conclusion["text"]}"')
        grid.add_row('conclusion', Text(' '.join(p for p in parts if p)))
    if result.get('tags'):
        grid.add_row('tags', Text(', '.join(
            f'{t["name"]} {t["probability"]:.2f}'
            for t in result['tags'][:max(top_tags, 0)])))
    if result.get('pictures'):
        grid.add_row('pictures', Text('\n'.join(result['pictures']),
                                      overflow='fold'))
    if result.get('region_box') is not None:
        box = ', '.join(f'{v:.0f}' for v in result['region_box'])
        height, width = result['input_shape']
        grid.add_row('region', Text(f'[{box}] in the {width}x{height} '
                                    'model input'))
    return Panel(grid, expand=False)


def main(argv=None):
    args = parse_args(argv)
    inferencer = ReportInferencer(
        args.checkpoint, config=args.config, device=args.device,
        batch_size=args.batch_size)
    images = args.images[0] if len(args.images) == 1 else args.images
    results = inferencer(images, return_visual=bool(args.vis_dir))
    if args.vis_dir:
        inferencer.write_pictures(results, args.vis_dir)
        results = inferencer.to_json(results)
    console = Console()
    for result in results:
        console.print(render(result, args.top_tags))
    if args.out:
        atomic_write_json(results, args.out)
        console.print(f'{len(results)} result(s) written to {args.out}')
    return results


if __name__ == '__main__':
    run_cli(main)
