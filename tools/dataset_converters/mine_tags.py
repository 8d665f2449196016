# Copyright (c) rrgkit contributors. All rights reserved.
"""Mine a tag vocabulary from the training reports and label every image.

Example::

    python tools/dataset_converters/mine_tags.py data/covctr/annotation.json \
        --language english --out data/covctr_tags_en.json [--min-count 3]

The output JSON holds the vocabulary (``tags`` = abnormal then normal,
``counts`` over the training reports, ``version``, ``source_ann_sha256``,
``split_sha256``, ``miner_version``, ...) and ``{"labels": {id: [tags]}}``
for every image of every split. An existing output mined from another
annotation, split or language is kept unless ``--force`` is given.
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional

sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from rich.console import Console  # noqa: E402
from rich.progress import track  # noqa: E402
from rich.table import Table  # noqa: E402

from rrgkit.datasets.tags import (Lexicon, TagVocabulary,  # noqa: E402
                                  TagVocabularyError, extract_tags,
                                  mine_annotation_vocabulary,
                                  normalize_language, unmatched_clauses)
from rrgkit.utils.setup_env import run_cli  # noqa: E402


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description='Mine a tag vocabulary (abnormal + normal, with negation '
        'handling) from the training reports and label every image.')
    parser.add_argument('annotation', help='R2Gen-style annotation JSON')
    parser.add_argument('--language', required=True,
                        help="report language: 'english' or 'chinese'")
    parser.add_argument('--out', required=True, help='output tag JSON')
    parser.add_argument('--min-count', type=_positive_int, default=3,
                        help='keep tags in at least this many training '
                        'reports (default: 3)')
    parser.add_argument('--force', action='store_true',
                        help='overwrite an output mined from another '
                        'annotation, split or language')
    parser.add_argument('--resplit-seed', type=int,
                        help='ignore the file split; re-split ids with this '
                        'seed as ReportDataset(resplit=...) does')
    parser.add_argument('--resplit-ratios', type=float, nargs=3,
                        default=(0.7, 0.1, 0.2), metavar=('TRAIN', 'VAL',
                                                          'TEST'),
                        help='ratios for --resplit-seed (default: 0.7 0.1 '
                        '0.2)')
    parser.add_argument('--language-key', default='label1',
                        help="record field naming the language (default: "
                        "'label1')")
    parser.add_argument('--report-key', default='report',
                        help="record field holding the report (default: "
                        "'report')")
    parser.add_argument('--lexicon', help='custom lexicon JSON '
                        '(Lexicon.to_dict() form)')
    parser.add_argument('--show-unmatched', type=int, default=0, metavar='N',
                        help='also print the N most frequent training '
                        'clauses that matched no term')
    return parser.parse_args(argv)


def check_overwrite(out: str, language: str, ann_sha: str, split_sha: str,
                    force: bool) -> None:
    """Refuse to replace a tag file of other data unless ``force``.

    Args:
        out (str): The output path.
        language (str): Language being mined.
        ann_sha (str): SHA-256 of the annotation file.
        split_sha (str): Hash of the split ids.
        force (bool): Overwrite anyway.

    Raises:
        TagVocabularyError: When ``out`` exists, and is not a tag file or
            was mined from another annotation, split or language.
    """
    if force or not osp.exists(out):
        return
    try:
        old = TagVocabulary.load(out)
    except TagVocabularyError as err:
        raise TagVocabularyError(
            f'Output {out!r} exists and is not a readable rrgkit tag file '
            f'({err}). Choose another --out, or pass --force.') from None
    changes = [
        name for name, a, b in (('annotation', old.source_ann_sha256, ann_sha),
                                ('split', old.split_sha256, split_sha),
                                ('language', old.language, language))
        if a != b
    ]
    if changes:
        raise TagVocabularyError(
            f'Output {out!r} was mined from a different '
            f'{" / ".join(changes)} (version {old.version}). Choose another '
            '--out, or pass --force to overwrite it.')


def load_lexicon(path: Optional[str]) -> Optional[Lexicon]:
    """The ``--lexicon`` file, or None for the default lexicon."""
    if path is None:
        return None
    try:
        return Lexicon.from_json(path)
    except ValueError as err:
        raise TagVocabularyError(f'Lexicon file {path!r}: {err}') from None


def print_summary(vocab: TagVocabulary, labels: Dict[str, List[str]],
                  out: str, console: Console) -> None:
    """Print the tag table (train counts) and a one-line summary."""
    table = Table(title=f'{len(vocab)} {vocab.language} tags '
                  f'({len(vocab.abnormal)} abnormal, {len(vocab.normal)} '
                  f'normal), min count {vocab.min_count}')
    for col in ('#', 'tag', 'kind', 'category', 'train', 'zh'):
        table.add_column(col, no_wrap=col != 'zh',
                         justify='right' if col in ('#', 'train') else 'left')
    for i, tag in enumerate(vocab.tags):
        table.add_row(str(i), tag,
                      'abnormal' if tag in vocab.abnormal else 'normal',
                      vocab.categories.get(tag, ''), str(vocab.counts[tag]),
                      vocab.chinese_names.get(tag, ''))
    console.print(table)
    n_tags = sum(len(v) for v in labels.values())
    console.print(
        f'{vocab.num_reports} training reports mined; {len(labels)} images '
        f'labelled ({n_tags / max(len(labels), 1):.1f} tags per image, '
        f'{sum(not v for v in labels.values())} with none). Wrote {out} '
        f'(version {vocab.version}).')


def main(argv: Optional[List[str]] = None) -> None:
    """Mine, label and save; see the module docstring."""
    args = parse_args(argv)
    try:
        language = normalize_language(args.language)
    except ValueError as err:
        raise TagVocabularyError(f'--language: {err}') from None
    lexicon = load_lexicon(args.lexicon)
    resplit = None if args.resplit_seed is None else dict(
        seed=args.resplit_seed, ratios=tuple(args.resplit_ratios))
    vocab, reports, split_ids = mine_annotation_vocabulary(
        args.annotation, language, args.min_count, lexicon, resplit,
        args.language_key or None, args.report_key)
    check_overwrite(args.out, language, vocab.source_ann_sha256,
                    vocab.split_sha256, args.force)
    train = [reports.get(i, '') for i in split_ids['train']]
    known = set(vocab.tags)
    labels = {}
    console = Console()
    all_ids = [i for ids in split_ids.values() for i in ids]
    for i in track(all_ids, description='labelling every report',
                   console=console, transient=True):
        found = extract_tags(reports.get(i, ''), language, lexicon)
        labels[i] = [t for t in vocab.tags if t in found & known]
    vocab.save(args.out, labels)

    print_summary(vocab, labels, args.out, console)
    if args.show_unmatched:
        console.print('Most frequent training clauses that matched nothing:')
        for clause, n in unmatched_clauses(train, language, lexicon,
                                           args.show_unmatched):
            console.print(f'  {n:4d}  {clause}')


if __name__ == '__main__':
    run_cli(main)
