"""Checks for names and text people type, shared by the CLI, the API and the database layer.

A channel name ends up in URLs, Temporal search attributes and storage keys, so the CLI and the
API must refuse the same names; keeping the rule here (and applying it in
:func:`tubeflow.db.repo.create_channel`) means no entry point can skip it.  Free text (feedback,
topics) may hold newlines but never other control characters or lone UTF-16 surrogates, which
JSON parsers accept (``"\\ud800"``) but UTF-8 cannot encode: Temporal's payload converter and the
database would fail on them later, far from the request that brought them in.
"""

from __future__ import annotations

import re

from tubeflow.errors import PermanentError

CHANNEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_CHANNEL_NAME = re.compile(CHANNEL_NAME_PATTERN)
# C0 controls except tab, newline and carriage return; DEL; C1 controls.
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class InvalidText(PermanentError):
    """A name or text that cannot be stored or passed on as it is."""


def text_problem(value: str, *, single_line: bool = False) -> str | None:
    """Why ``value`` cannot be accepted as text, or None when it can."""
    if _SURROGATE.search(value):
        return "contains a lone UTF-16 surrogate (not valid Unicode text)"
    if (_CONTROL_IN_LINE if single_line else _CONTROL_IN_TEXT).search(value):
        return "contains a control character"
    return None


def check_text(value: str, what: str, *, single_line: bool = False) -> str:
    problem = text_problem(value, single_line=single_line)
    if problem:
        raise InvalidText(f"{what} {problem}")
    return value


def check_channel_name(name: str) -> str:
    """The channel name, or :class:`InvalidText` saying what a name may be."""
    if not _CHANNEL_NAME.match(name):
        raise InvalidText(
            f"invalid channel name {name[:80]!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name
