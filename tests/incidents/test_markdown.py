"""What responders type is shown to everyone else: it must stay text, never script."""

import re

import pytest

from core.markdown import render_markdown, render_plain
from incidents import services


def _urls(html: str) -> list[str]:
    return re.findall(r"""(?:href|src)\s*=\s*["']?([^"' >]*)""", html, flags=re.IGNORECASE)


def test_it_renders_markdown():
    html = render_markdown("**Rollback** of `api` done\n\n- one\n- two")
    assert html == (
        "<p><strong>Rollback</strong> of <code>api</code> done</p>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>"
    )


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "before <script>alert(1)</script> after",
        "<div>\n<script>alert(1)</script>\n</div>",
    ],
)
def test_it_shows_a_script_tag_as_text(text):
    html = render_markdown(text)
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_it_shows_other_html_as_text():
    html = render_markdown('<img src=x onerror="alert(1)"> and <a href="javascript:alert(1)">x</a>')
    assert "<img" not in html
    assert "<a " not in html
    assert "&lt;img" in html


@pytest.mark.parametrize(
    "link",
    [
        "[click](javascript:alert(1))",
        "[click](JavaScript:alert(1))",
        "[click](  javascript:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "[click](vbscript:msgbox(1))",
        "<javascript:alert(1)>",
        "![x](javascript:alert(1))",
    ],
)
def test_it_drops_dangerous_links(link):
    html = render_markdown(link)
    assert _urls(html) == []
    assert "<img" not in html


def test_it_keeps_web_links_safe_to_follow():
    html = render_markdown("[runbook](https://runbooks.example.com/db) and [mail](mailto:ops@example.com)")
    assert '<a href="https://runbooks.example.com/db" rel="noopener noreferrer nofollow">runbook</a>' in html
    assert _urls(html) == ["https://runbooks.example.com/db", "mailto:ops@example.com"]


def test_code_keeps_angle_brackets_as_text():
    html = render_markdown("```\n<script>alert(1)</script>\n```")
    assert html == "<pre><code>&lt;script&gt;alert(1)&lt;/script&gt;\n</code></pre>"


def test_plain_text_has_no_markup():
    assert render_plain("**Rollback** done <b>now</b>") == "Rollback done <b>now</b>"


def test_a_script_in_a_note_is_shown_as_text_in_the_room(rclient, responder, incident):
    services.timeline_add(
        incident=incident,
        kind="note",
        body="Saw <script>alert('pwned')</script> in the logs, see [here](javascript:alert(2))",
        author=responder,
    )

    html = rclient.get(incident.get_absolute_url()).content.decode()

    assert "<script>alert(" not in html
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in html or (
        "&lt;script&gt;alert('pwned')&lt;/script&gt;" in html
    )
    # The link text stays, the javascript: target goes; the only place the
    # raw text appears is the (escaped) edit box of its author.
    assert '<a rel="noopener noreferrer nofollow">here</a>' in html
    assert not [url for url in _urls(html) if "javascript" in url.lower()]


def test_a_script_in_a_title_and_summary_is_escaped(rclient, responder):
    incident = services.incident_declare(
        title="<script>alert(1)</script>",
        summary="<img src=x onerror=alert(2)>",
        severity=3,
        declared_by=responder,
    )
    for url in (incident.get_absolute_url(), "/", "/incidents/"):
        html = rclient.get(url).content.decode()
        assert "<script>alert(1)" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url
        assert "<img src=x" not in html, url


@pytest.mark.parametrize("text", ["[" * 20000, "![" * 10000, "[a](" * 5000])
def test_a_wall_of_brackets_is_shown_as_typed_rather_than_parsed(text):
    # Parsed, each of these took Python-Markdown minutes (every "[" scans to the
    # end of the paragraph); shown as typed, they cost nothing.
    html = render_markdown(text)
    assert html == f"<pre><code>{text}</code></pre>"
    assert render_plain(text) == text


def test_a_wall_of_brackets_still_escapes_html():
    html = render_markdown("[" * 600 + "<script>alert(1)</script>")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_a_note_with_many_links_still_has_links():
    text = " ".join(f"[run {i}](https://ci.example.com/{i})" for i in range(200))
    assert render_markdown(text).count('<a href="https://ci.example.com/') == 200
