"""Finding a TrueType font for captions and thumbnails.

libass looks fonts up by family name inside ``fontsdir``, so callers need both the file (for its
folder) and the family name stored in it.  A worker image without system fonts still works: the
font bundled with Pillow is written to a temporary folder.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tubeflow.errors import ConfigError
from tubeflow.settings import Settings

SYSTEM_FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
PREFERRED = ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf")


@dataclass(frozen=True)
class FontInfo:
    path: Path
    family: str  # the name libass matches (e.g. "DejaVu Sans")
    bold: bool

    @property
    def folder(self) -> Path:
        return self.path.parent


def _describe(path: Path) -> FontInfo:
    from PIL import ImageFont

    try:
        family, style = ImageFont.truetype(str(path), 12).getname()
    except OSError as e:
        raise ConfigError(f"font file {path} is not a readable TrueType/OpenType font ({e})") from e
    return FontInfo(path=path, family=family or path.stem, bold="bold" in (style or "").lower())


def _system_font() -> Path | None:
    for name in PREFERRED:
        for root in SYSTEM_FONT_DIRS:
            if root.is_dir():
                hit = next(iter(sorted(root.rglob(name))), None)
                if hit is not None:
                    return hit
    return None


@lru_cache(maxsize=1)
def _pillow_font() -> Path:
    """Pillow's bundled font, copied out so libass can read it from a folder of its own."""
    from PIL import ImageFont

    font = ImageFont.load_default(size=24)
    data = getattr(font, "font_bytes", b"")
    if not data:
        raise ConfigError("no TrueType font found: install fonts-dejavu-core or set TUBEFLOW_FONT_FILE")
    dest = Path(tempfile.mkdtemp(prefix="tubeflow-font-")) / "pillow-default.ttf"
    dest.write_bytes(data)
    return dest


@lru_cache(maxsize=8)
def _find(font_file: str) -> FontInfo:
    if font_file:
        p = Path(font_file).expanduser()
        if not p.is_file():
            raise ConfigError(f"TUBEFLOW_FONT_FILE={font_file}: file not found")
        return _describe(p)
    system = _system_font()
    if system is not None:
        return _describe(system)
    return _describe(_pillow_font())


def find_font(settings: Settings) -> FontInfo:
    """settings.font_file, else DejaVu Sans Bold/Regular under the system font folders, else Pillow's."""
    return _find(settings.font_file)
