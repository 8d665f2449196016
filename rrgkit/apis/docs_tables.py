# Copyright (c) rrgkit contributors. All rights reserved.
"""Markdown results tables generated from recorded results.

A table spec file (``docs/results/tables.json``) lists tables::

    {"tables": [{
        "name": "asgk_covctr_en",
        "doc": "docs/asgk.md",
        "columns": [["BLEU-4", "report/BLEU-4"], ["CIDEr-D", "report/CIDEr-D"]],
        "rows": [["NIC", "covctr_en/nic.json"], ["ASGK", "covctr_en/asgk.json"]]
    }]}

Record paths are relative to the spec file's folder. Each table replaces the
text between ``<!-- rrgkit-table:NAME -->`` and ``<!-- /rrgkit-table -->``
in its document. Rows of one table must share the split, the evaluation
tokenization and the number of images scored, or the table is refused: the
numbers would not be comparable. Output depends on the records only, so
generating twice gives the same bytes.
"""
import json
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Tuple

from rrgkit.utils.fileio import atomic_write

from .results import RecordError, load_record

__all__ = ['load_table_specs', 'render_table', 'render_summary_table',
           'replace_table', 'generate_tables']

_END = '<!-- /rrgkit-table -->'


def _begin(name: str) -> str:
    return f'<!-- rrgkit-table:{name} -->'


def load_table_specs(path: str) -> List[Dict[str, Any]]:
    """Read and check a table spec file.

    Raises:
        RecordError: Unreadable file or a table missing a key.
    """
    try:
        with open(path, encoding='utf-8') as f:
            specs = json.load(f)['tables']
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise RecordError(f'Cannot read table specs {path}: {err!r} (expected '
                          '{"tables": [...]}).') from None
    for i, spec in enumerate(specs):
        missing = [k for k in ('name', 'doc', 'columns', 'rows')
                   if k not in spec]
        if missing:
            raise RecordError(f'{path}: table #{i} has no {missing}.')
    return specs


def _fmt(value: Optional[float], digits: int) -> str:
    return '–' if value is None else f'{value:.{digits}f}'


def _selected(record: Dict[str, Any]) -> str:
    sel = record.get('selected')
    if not sel:
        return 'no training'
    if sel.get('epoch') is not None:
        where = f"epoch {sel['epoch']}"
    elif sel.get('iteration') is not None:
        where = f"iter {sel['iteration']}"
    else:
        where = sel.get('file', '?')
    return where + (' (best val)' if sel.get('on_val') else ' (last)')


def _signature_key(record: Dict[str, Any]) -> Tuple:
    sig = record.get('signature') or {}
    return (record['split'], sig.get('eval_tokenizer'), sig.get('num_images'))


def _other_summary_entry(base_dir: str, path: str, method: str):
    """A method's entry in another summary, without its significance
    tests (they were against that benchmark's reference)."""
    import json
    full = osp.join(base_dir, path)
    if not osp.isfile(full):
        return None
    with open(full, encoding='utf-8') as f:
        entry = json.load(f)['methods'].get(method)
    if entry is not None:
        entry = {k: v for k, v in entry.items()
                 if k not in ('test', 'ce_test')}
    return entry


def _unrun_table(spec: Dict[str, Any]) -> str:
    """The table of a benchmark whose summary does not exist yet."""
    headers = ['Method'] + [c[0] for c in spec['columns']]
    lines = ['| ' + ' | '.join(headers) + ' |',
             '| --- ' + '| ---: ' * (len(headers) - 1) + '|']
    lines += [f'| {row[0]} | not run yet |' + ' |' * (len(headers) - 2)
              for row in spec['rows']]
    lines += ['', f"No results yet: `docs/results/{spec['summary']}` is "
              'written by `python tools/benchmark.py` (or its '
              '`--aggregate-only` on the runs finished so far). Generated '
              'by `python tools/gen_docs_tables.py`.']
    return '\n'.join(lines) + '\n'


def render_summary_table(spec: Dict[str, Any], base_dir: str) -> str:
    """Markdown for a benchmark table: mean ± std over seeds per method.

    ``spec['summary']`` is a ``summary.json`` of ``tools/benchmark.py``;
    rows are ``[label, method]``, or ``[label, method, other summary]``
    for a row of another benchmark (an ablation's starting point; shown
    without p-values). Extra columns: seeds, distinct-2, the share
    of most-frequent reports and the p-value against the reference (left
    out with ``"extras": false``, e.g. for a second table of the same
    benchmark), plus the p-value of the per-image CE test when the summary
    has one. A column whose key a method's records lack (e.g. CE of
    results recorded before CE existed) shows '–'. Without the summary
    (a benchmark not run yet) every row says so.
    """
    import json
    path = osp.join(base_dir, spec['summary'])
    if not osp.isfile(path):
        return _unrun_table(spec)
    with open(path, encoding='utf-8') as f:
        summary = json.load(f)
    digits = int(spec.get('digits', 3))
    extras = spec.get('extras', True)
    headers = ['Method', 'Seeds'] + [c[0] for c in spec['columns']]
    ce_test = extras and any('ce_test' in e
                             for e in summary['methods'].values())
    if extras:
        headers += ['distinct-2', 'distinct reports',
                    'most-frequent share',
                    f"p vs {summary.get('reference')}"]
    if ce_test:
        headers.append(f"p CE vs {summary.get('reference')}")
    sig = summary.get('signature') or {}
    lines = ['| ' + ' | '.join(headers) + ' |',
             '| --- ' + '| ---: ' * (len(headers) - 1) + '|']
    for row in spec['rows']:
        label, method = row[0], row[1]
        entry = summary['methods'].get(method)
        if len(row) > 2:  # a row from another benchmark (an ablation's base)
            entry = _other_summary_entry(base_dir, row[2], method)
        if entry is None:
            lines.append(f'| {label} | not run yet |' + ' |' *
                         (len(headers) - 2))
            continue
        cells = [str(len(entry['seeds']))]
        for _, key in spec['columns']:
            if key in entry['mean']:
                cells.append(f"{entry['mean'][key]:.{digits}f} ± "
                             f"{entry['std'][key]:.{digits}f}")
            else:
                cells.append('–')
        share = entry.get('most_frequent_share')
        test = entry.get('test')
        if extras:
            counts = entry.get('distinct_reports')
            cells += [f"{entry['distinct_2']:.{digits}f}",
                      '–' if not counts else
                      f"{min(counts)}/{sig.get('num_images')}",
                      '–' if share is None else f'{share:.2f}',
                      '–' if not test else f"{test['p']:.3f}"]
        if ce_test:
            cells.append('–' if not entry.get('ce_test') else
                         f"{entry['ce_test']['p']:.3f}")
        lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
    test_note = ('; distinct reports: the fewest different reports a seed '
                 'generated, of the images; p: paired randomization test of '
                 'per-image CIDEr-D (averaged over seeds) against the '
                 'reference' if extras else '')
    if ce_test:
        test_note += ('; p CE: the same test of the per-image F1 of the '
                      'abnormal tags (docs/clinical_efficacy.md)')
    lines += ['', f"Mean ± std over seeds on the {sig.get('split')} split "
              f"({sig.get('num_images')} images), evaluation tokenization "
              f"`{sig.get('eval_tokenizer')}`{test_note}. Generated by "
              '`python tools/gen_docs_tables.py` from '
              f"`docs/results/{spec['summary']}`."]
    return '\n'.join(lines) + '\n'


def render_table(spec: Dict[str, Any], base_dir: str) -> str:
    """Markdown for one table (header, rows, a provenance line).

    Args:
        spec (dict): One entry of the spec file.
        base_dir (str): Folder the record paths are relative to.

    Returns:
        str: The table, ending with a newline.
    """
    digits = int(spec.get('digits', 3))
    headers = ['Method'] + [c[0] for c in spec['columns']] + ['Checkpoint']
    lines = ['| ' + ' | '.join(headers) + ' |',
             '| --- ' + '| ---: ' * len(spec['columns']) + '| --- |']
    signatures: Dict[Tuple, List[str]] = {}
    files = []
    for label, rel in spec['rows']:
        path = osp.join(base_dir, rel)
        if not osp.isfile(path):
            cells = ['not run yet'] + [''] * len(spec['columns'])
            lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
            continue
        record = load_record(path)
        signatures.setdefault(_signature_key(record), []).append(rel)
        files.append(rel)
        # A column is [header, metric key] or [header, key, digits].
        cells = [
            _fmt(record['metrics'].get(col[1]),
                 int(col[2]) if len(col) > 2 else digits)
            for col in spec['columns']
        ] + [_selected(record)]
        lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
    if len(signatures) > 1:
        detail = '; '.join(f'{k} in {v}' for k, v in signatures.items())
        raise RecordError(
            f"Table {spec['name']!r} mixes records scored differently "
            f'(split, eval_tokenizer, num_images): {detail}. Re-record them '
            'on the same split and tokenization, or split the table.')
    lines.append('')
    if signatures:
        split, tokenizer, num = next(iter(signatures))
        scored = f'Scored on the {split} split' + (
            f' ({num} images)' if num is not None else '') + (
                f', evaluation tokenization `{tokenizer}`'
                if tokenizer is not None else '')
        lines.append(f'{scored}; generated by '
                     '`python tools/gen_docs_tables.py` from '
                     + ', '.join(f'`docs/results/{f}`' for f in files)
                     + ' (each holds the command that produced it).')
    else:
        lines.append('No recorded results yet.')
    return '\n'.join(lines) + '\n'


def replace_table(text: str, name: str, table: str, doc: str = '') -> str:
    """Put ``table`` between the table's markers in ``text``.

    Raises:
        RecordError: The markers are missing or out of order.
    """
    begin = _begin(name)
    pattern = re.compile(re.escape(begin) + r'\n.*?' + re.escape(_END),
                         re.S)
    if not pattern.search(text):
        raise RecordError(f'{doc or "document"} has no "{begin}" ... "{_END}" '
                          f'block for table {name!r}; add the two markers '
                          'where the table belongs.')
    return pattern.sub(lambda _: f'{begin}\n{table}{_END}', text, count=1)


def generate_tables(spec_path: str, root: str,
                    check: bool = False) -> List[str]:
    """Regenerate every table of a spec file in its document.

    Args:
        spec_path (str): The spec file.
        root (str): Repository root (documents are relative to it).
        check (bool): Only report which documents are out of date.

    Returns:
        list[str]: Documents that changed (or would change, with ``check``).
    """
    specs = load_table_specs(spec_path)
    base_dir = osp.dirname(osp.abspath(spec_path))
    texts: Dict[str, str] = {}
    originals: Dict[str, str] = {}
    for spec in specs:
        doc = osp.join(root, spec['doc'])
        if doc not in texts:
            with open(doc, encoding='utf-8') as f:
                texts[doc] = originals[doc] = f.read()
        render = render_summary_table if 'summary' in spec else render_table
        texts[doc] = replace_table(texts[doc], spec['name'],
                                   render(spec, base_dir), spec['doc'])
    changed = [d for d in texts if texts[d] != originals[d]]
    if not check:
        for doc in changed:
            data = texts[doc].encode('utf-8')
            atomic_write(doc, lambda f, data=data: f.write(data))
    return [osp.relpath(d, root) for d in changed]
