"""Finding a font with Chinese glyphs for the PDF credit reports.

The PDF embeds the font (subset to the glyphs used), so a reader needs none
installed. The font is named by a setting (``CREDITWATCH_REPORT_FONT``); left
empty, the usual places of the free CJK fonts Debian and others ship are
searched. Without one the report cannot be made, and :class:`FontNotFound`
says what to install or set, rather than a PDF of empty boxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont, TTLibError

#: TrueType fonts (fpdf2 embeds TrueType outlines) with Chinese glyphs, most likely first.
DEFAULT_FONT_PATHS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),  # Debian fonts-wqy-zenhei
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),  # Debian fonts-wqy-microhei
    Path("/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc"),  # Fedora, Arch
    Path("/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),  # Debian fonts-arphic-uming
    Path("/Library/Fonts/Arial Unicode.ttf"),  # macOS
)
#: A character every report prints (信用); a font without it is not a CJK font.
PROBE = "信"
SETTING = "CREDITWATCH_REPORT_FONT"


class FontNotFound(RuntimeError):
    """No usable font with Chinese glyphs: the message says what to install or set."""


def has_chinese(path: Path) -> bool:
    """Whether the font file (a .ttf, or the first face of a .ttc) maps :data:`PROBE`."""
    try:
        if path.suffix.lower() == ".ttc":
            collection = TTCollection(str(path), lazy=True)
            font = collection.fonts[0]
        else:
            font = TTFont(str(path), lazy=True)
        cmap = font.getBestCmap() or {}
    except (OSError, TTLibError, IndexError):
        return False
    return ord(PROBE) in cmap


def find_cjk_font(configured: str = "", search: Sequence[Path] = DEFAULT_FONT_PATHS) -> Path:
    """The font to embed: ``configured`` if given (it must exist and hold Chinese glyphs),
    else the first of ``search`` that does."""
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise FontNotFound(f"{SETTING}={configured}: no such file")
        if not has_chinese(path):
            raise FontNotFound(
                f"{SETTING}={configured}: not a TrueType font (.ttf/.ttc) with Chinese glyphs"
            )
        return path
    for path in search:
        if path.is_file() and has_chinese(path):
            return path
    raise FontNotFound(
        "no TrueType font with Chinese glyphs found for the credit reports; install one "
        "(Debian: apt-get install fonts-wqy-zenhei) or set "
        f"{SETTING} to a .ttf/.ttc file. Looked in: {', '.join(str(p) for p in search)}"
    )
