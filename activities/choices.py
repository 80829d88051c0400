"""How an error names the values a registry-backed setting takes: ``'a', 'b' or 'c'``.

The TTS engines, stock sources and publishers each list their names from their registry, so a
new entry shows up in the message without anyone editing it.
"""

from __future__ import annotations

from collections.abc import Iterable


def one_of(names: Iterable[str]) -> str:
    quoted = [repr(n) for n in names]
    return f"{', '.join(quoted[:-1])} or {quoted[-1]}" if len(quoted) > 1 else "".join(quoted)
