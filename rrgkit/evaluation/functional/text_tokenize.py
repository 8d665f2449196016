# Copyright (c) rrgkit contributors. All rights reserved.
"""Tokenization of reports before n-gram scoring.

The scores of BLEU, METEOR, ROUGE-L and CIDEr-D depend on how the text is cut
into tokens, so the choice is an explicit option that is recorded together
with the results (``eval_tokenizer``):

- ``'ptb'``: the COCO-caption standard. Stanford's PTB tokenizer (the jar
  shipped with pycocoevalcap, needs Java) lowercases, then pycocoevalcap's
  punctuation tokens are removed. As in pycocoevalcap, the bracket tokens
  ``-lrb-``/``-rrb-`` survive (its list holds the upper-case forms), so the
  numbers stay comparable with published COCO-style scores.
- ``'whitespace'``: lowercase, split on whitespace, strip punctuation from
  both ends of every token and drop tokens that were only punctuation. Simple
  and Java-free; intra-word punctuation stays (``3.5``, ``x-ray``).
- ``'char'``: for Chinese. One token per CJK character; a run of other
  letters/digits (``T2WI``, ``3.5cm``) stays one token; punctuation (also
  Chinese ``，。；：、``) and symbols are dropped. Latin letters are
  lowercased.
- ``'jieba'``: Chinese words from jieba (lowercased); tokens without any
  letter or digit are dropped.

Every mode returns space-joined token strings, which is what pycocoevalcap's
scorers expect.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from typing import Dict, Hashable, List, Mapping, Sequence

__all__ = [
    'EVAL_TOKENIZERS', 'JavaNotFoundError', 'check_eval_tokenizer',
    'require_java', 'tokenize_for_eval'
]

EVAL_TOKENIZERS = ('ptb', 'whitespace', 'char', 'jieba')

_JRE_HINT = ('install a Java runtime '
             '(e.g. `apt-get install default-jre-headless`)')

# CJK unified ideographs (basic, extension A, compatibility, extensions B-F).
_CJK = '\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef'
# One CJK character, or a run of other letters/digits in which a dot between
# two digits (a decimal point) does not break the run.
_CHAR_TOKEN = re.compile(rf'[{_CJK}]|(?:[^\W_{_CJK}]|(?<=\d)\.(?=\d))+')
_HAS_ALNUM = re.compile(r'[^\W_]')


class JavaNotFoundError(RuntimeError):
    """Raised when a tokenizer or metric needs Java and none is on PATH."""


def require_java(purpose: str, alternative: str) -> str:
    """Return the path of the ``java`` executable or raise a clear error.

    Args:
        purpose (str): What needs Java, for the message
            (e.g. ``"eval_tokenizer='ptb'"``).
        alternative (str): What the user can do instead of installing Java.

    Returns:
        str: Path of the ``java`` executable.

    Raises:
        JavaNotFoundError: If ``java`` is not found on PATH.
    """
    java = shutil.which('java')
    if java is None:
        raise JavaNotFoundError(
            f'{purpose} needs Java, but no `java` executable is on PATH: '
            f'{_JRE_HINT}, or {alternative}.')
    return java


def check_eval_tokenizer(mode: str) -> str:
    """Validate an ``eval_tokenizer`` name and return it.

    Raises:
        ValueError: If ``mode`` is not one of :data:`EVAL_TOKENIZERS`.
    """
    if mode not in EVAL_TOKENIZERS:
        raise ValueError(f'unknown eval_tokenizer {mode!r}; valid values are '
                         f'{", ".join(repr(m) for m in EVAL_TOKENIZERS)}')
    return mode


def tokenize_for_eval(texts: Mapping[Hashable, Sequence[str]],
                      mode: str) -> Dict[Hashable, List[str]]:
    """Tokenize texts for n-gram metrics.

    All texts go through the tokenizer in one batch (one Java call in
    ``'ptb'`` mode). Newlines and other whitespace are normalized to single
    spaces first; an empty text stays an empty string.

    Args:
        texts (Mapping[Hashable, Sequence[str]]): Key (e.g. image id) to a
            list of texts.
        mode (str): One of ``'ptb'``, ``'whitespace'``, ``'char'``,
            ``'jieba'`` (see the module docstring).

    Returns:
        dict[Hashable, list[str]]: Same keys and list lengths, each text
        replaced by its space-joined tokens.

    Raises:
        ValueError: For an unknown ``mode``.
        TypeError: If a value is not a list of strings.
        JavaNotFoundError: In ``'ptb'`` mode when Java is missing.
    """
    check_eval_tokenizer(mode)
    clean = {}
    for key, values in texts.items():
        if isinstance(values, str) or not isinstance(values, Sequence):
            raise TypeError(f'texts[{key!r}] must be a list of strings, got '
                            f'{type(values).__name__}')
        for text in values:
            if not isinstance(text, str):
                raise TypeError(f'texts[{key!r}] holds a {type(text).__name__}'
                                ', expected str')
        clean[key] = [' '.join(text.split()) for text in values]
    if mode == 'ptb':
        return _ptb_tokenize(clean)
    split = {
        'whitespace': _whitespace_tokens,
        'char': _char_tokens,
        'jieba': _jieba_tokens
    }[mode]
    return {
        key: [' '.join(split(text)) for text in values]
        for key, values in clean.items()
    }


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith('P')


def _whitespace_tokens(text: str) -> List[str]:
    tokens = []
    for token in text.lower().split():
        start, end = 0, len(token)
        while start < end and _is_punct(token[start]):
            start += 1
        while end > start and _is_punct(token[end - 1]):
            end -= 1
        if start < end:
            tokens.append(token[start:end])
    return tokens


def _char_tokens(text: str) -> List[str]:
    return _CHAR_TOKEN.findall(text.lower())


_jieba = None


def _jieba_tokens(text: str) -> List[str]:
    global _jieba
    if _jieba is None:
        try:
            import jieba
        except ImportError as err:
            raise ImportError("eval_tokenizer='jieba' needs the jieba package:"
                              ' `pip install jieba`, or use '
                              "eval_tokenizer='char'") from err
        jieba.setLogLevel(60)  # above CRITICAL: no dictionary-loading chatter
        _jieba = jieba
    return [
        token.strip() for token in _jieba.lcut(text.lower())
        if _HAS_ALNUM.search(token)
    ]


def _ptb_tokenize(
        texts: Dict[Hashable, List[str]]) -> Dict[Hashable, List[str]]:
    """Run Stanford's PTBTokenizer (pycocoevalcap's jar) once on all texts.

    Same command and punctuation list as pycocoevalcap's ``PTBTokenizer``,
    but the temporary file goes to the system temp dir (pycocoevalcap writes
    it inside its installed package, which may be read-only), Java's
    messages are captured, and failures raise instead of silently
    misaligning lines.
    """
    java = require_java("eval_tokenizer='ptb'",
                        "use eval_tokenizer='whitespace' (no Java needed)")
    try:
        from pycocoevalcap.tokenizer import ptbtokenizer
    except ImportError as err:
        raise ImportError("eval_tokenizer='ptb' needs pycocoevalcap: "
                          '`pip install pycocoevalcap`') from err
    jar = os.path.join(
        os.path.dirname(os.path.abspath(ptbtokenizer.__file__)),
        ptbtokenizer.STANFORD_CORENLP_3_4_1_JAR)
    punctuations = set(ptbtokenizer.PUNCTUATIONS)

    out = {key: [''] * len(values) for key, values in texts.items()}
    slots = [(key, i, text) for key, values in texts.items()
             for i, text in enumerate(values) if text]
    if not slots:
        return out
    with tempfile.TemporaryDirectory(prefix='rrgkit_ptb_') as tmp_dir:
        path = os.path.join(tmp_dir, 'sentences.txt')
        with open(path, 'w', encoding='utf-8') as f:
            f.write('\n'.join(text for _, _, text in slots))
        cmd = [
            java, '-cp', jar, 'edu.stanford.nlp.process.PTBTokenizer',
            '-preserveLines', '-lowerCase', path
        ]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors='replace')[-2000:]
        raise RuntimeError(
            f'the PTB tokenizer (Java, {jar}) failed with exit code '
            f"{proc.returncode}: {detail} -- use eval_tokenizer='whitespace' "
            'to avoid Java')
    lines = proc.stdout.decode('utf-8').split('\n')
    if len(lines) < len(slots) or any(line.strip()
                                      for line in lines[len(slots):]):
        raise RuntimeError(f'the PTB tokenizer returned {len(lines)} lines '
                           f'for {len(slots)} texts; cannot align them')
    for (key, i, _), line in zip(slots, lines):
        out[key][i] = ' '.join(w for w in line.split()
                               if w not in punctuations)
    return out
