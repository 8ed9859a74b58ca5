"""Text that has to stay on one line: titles, names, and the subject of every message."""

import re

# C0 and C1 control characters (NUL, tab, LF, VT, FF, CR, NEL, ...) and the Unicode
# line and paragraph separators. E-mail headers, Slack titles and page subjects end
# at any of them (Python's e-mail package treats U+2028 as a line break too).
_NOT_ON_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str, max_length: int | None = None) -> str:
    """The text on one line: breaks and control characters become spaces, runs of spaces one.

    With max_length, a longer result is cut and ends with an ellipsis.
    """
    text = " ".join(_NOT_ON_ONE_LINE.sub(" ", text or "").split())
    if max_length is not None and len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "…"
    return text
