"""User-written Markdown to HTML that is safe to show to everyone else."""

import html

import markdown as md
import nh3

ALLOWED_TAGS = {
    "a",
    "p",
    "br",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "del",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


class _EscapeRawHtml(md.Extension):
    """Treat HTML typed into a note as text: "<script>" is shown, not run or dropped."""

    def extendMarkdown(self, markdown: md.Markdown) -> None:  # noqa: N802 (Markdown's API)
        markdown.preprocessors.deregister("html_block")
        markdown.inlinePatterns.deregister("html")


# Python-Markdown looks for the end of a link from every "[" it meets, to the
# end of the paragraph: a 20,000-character note of "[" or "![" takes minutes of
# CPU (while the service holds the incident's lock). No real note has this many,
# so past it the note is shown exactly as typed instead of being parsed.
MAX_LINK_BRACKETS = 500


def _to_html(text: str) -> str:
    if text.count("[") > MAX_LINK_BRACKETS:
        return f"<pre><code>{html.escape(text, quote=False)}</code></pre>"
    return md.markdown(text, extensions=["fenced_code", "tables", "sane_lists", _EscapeRawHtml()])


def render_markdown(text: str) -> str:
    # nh3 is the second wall: whatever Markdown produced, only the tags and URL
    # schemes listed here survive.
    html = _to_html(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def render_plain(text: str) -> str:
    """The same text without markup, for e-mail bodies and chat."""
    return html.unescape(nh3.clean(_to_html(text), tags=set())).strip()
