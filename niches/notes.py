"""A niche's notes folder: curated markdown facts with their sources.

Format (one topic per file)::

    # Why the sky is blue
    keywords: sky, blue, Rayleigh scattering

    source: https://en.wikipedia.org/wiki/Rayleigh_scattering
    - Sunlight is a mix of every colour of the visible spectrum.
    - A claim with its own source. (source: https://example.org/page)

A ``source:`` line applies to the bullets after it, until the next one.  A bullet without any
source is refused: every fact the channel states must be traceable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tubeflow.errors import ConfigError

SOURCE_LINE = re.compile(r"^\s*sources?\s*:\s*(\S.*)$", re.IGNORECASE)
KEYWORDS_LINE = re.compile(r"^\s*keywords\s*:\s*(.*)$", re.IGNORECASE)
BULLET = re.compile(r"^\s*[-*]\s+(.+)$")
INLINE_SOURCE = re.compile(r"\s*\((?:source|fonte)\s*:\s*(\S+)\)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class NoteFact:
    claim: str
    source: str


@dataclass(frozen=True)
class NoteTopic:
    title: str
    path: Path
    keywords: list[str] = field(default_factory=list)
    facts: list[NoteFact] = field(default_factory=list)


def parse_note(path: Path) -> NoteTopic:
    title = ""
    keywords: list[str] = []
    facts: list[NoteFact] = []
    source = ""
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        if line.startswith("# ") and not title:
            title = line[2:].strip()
        elif m := SOURCE_LINE.match(line):
            source = m.group(1).strip()
        elif m := KEYWORDS_LINE.match(line):
            keywords = [k.strip() for k in m.group(1).split(",") if k.strip()]
        elif m := BULLET.match(line):
            claim = m.group(1).strip()
            own = INLINE_SOURCE.search(claim)
            if own:
                claim = claim[: own.start()].strip()
            src = own.group(1) if own else source
            if not src:
                raise ConfigError(f"{path}:{n}: fact without a source; add a 'source: URL' line above it")
            facts.append(NoteFact(claim, src))
    return NoteTopic(title or path.stem.replace("-", " "), path, keywords, facts)


def read_notes(notes_dir: Path) -> list[NoteTopic]:
    """Every notes file of one niche, sorted by file name (deterministic)."""
    if not notes_dir.is_dir():
        return []
    return [parse_note(p) for p in sorted(notes_dir.glob("*.md"))]
