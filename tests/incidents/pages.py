"""Reading pages as a person would: the text, not the markup around it."""

import html
import re

from django.http import HttpResponse


def text_of(response_or_html: HttpResponse | str) -> str:
    """The visible text of a page or fragment: tags dropped, entities and spaces normalised."""
    content = response_or_html if isinstance(response_or_html, str) else response_or_html.content.decode()
    content = re.sub(r"<(script|style)\b.*?</\1>", " ", content, flags=re.DOTALL | re.IGNORECASE)
    content = re.sub(r"<[^>]+>", " ", content)
    return re.sub(r"\s+", " ", html.unescape(content)).strip()


def element_ids(response_or_html: HttpResponse | str) -> list[str]:
    content = response_or_html if isinstance(response_or_html, str) else response_or_html.content.decode()
    return re.findall(r'\bid="([^"]+)"', content)


def oob_targets(response_or_html: HttpResponse | str) -> list[str]:
    """What the out-of-band swaps of an htmx answer replace: an element id or 'strategy:selector'."""
    content = response_or_html if isinstance(response_or_html, str) else response_or_html.content.decode()
    targets = []
    for tag in re.findall(r"<[a-z]+\b[^>]*\bhx-swap-oob=\"[^\"]*\"[^>]*>", content):
        swap = re.search(r'hx-swap-oob="([^"]*)"', tag).group(1)
        if swap == "true":
            targets.append(re.search(r'\bid="([^"]+)"', tag).group(1))
        else:
            targets.append(swap)
    return targets
