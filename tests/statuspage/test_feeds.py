"""Atom and RSS: they parse, one entry per incident with its updates newest first."""

from email.utils import parsedate_to_datetime
from xml.etree import ElementTree as ET

ATOM = "{http://www.w3.org/2005/Atom}"


def test_the_atom_feed_parses_with_one_entry_per_incident(client, components, liaison, incident, publish):
    publish(incident=incident, by=liaison, body="First <b>look</b>.")
    update = publish(incident=incident, by=liaison, status="identified", body="Found it.")
    public_id = update.public_incident.public_id
    response = client.get("/status/history.atom")
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    assert feed.find(f"{ATOM}title").text == "Acme Status - Incident History"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.find(f"{ATOM}id").text.startswith("tag:status.acme.test,")
    assert entry.find(f"{ATOM}id").text.endswith(f":Incident/{public_id}")
    link = entry.find(f"{ATOM}link")
    assert link.get("rel") == "alternate"
    assert link.get("href") == f"https://status.acme.test/incidents/{public_id}"
    content = entry.find(f"{ATOM}content")
    assert content.get("type") == "html"
    html = content.text
    assert html.startswith("<p><strong>Identified</strong> - Found it.")
    assert html.count("<p>") == 2
    assert "First &lt;b&gt;look&lt;/b&gt;." in html  # the message is text, escaped in the HTML


def test_the_rss_feed_parses(client, components, liaison, incident, publish):
    update = publish(incident=incident, by=liaison)
    url = f"https://status.acme.test/incidents/{update.public_incident.public_id}"
    response = client.get("/status/history.rss")
    assert response.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    rss = ET.fromstring(response.content)
    assert rss.tag == "rss" and rss.get("version") == "2.0"
    items = rss.findall("channel/item")
    assert len(items) == 1
    item = items[0]
    assert item.find("title").text == "Checkout errors"
    assert item.find("link").text == url and item.find("guid").text == url
    assert item.find("description").text.startswith("<p><strong>Investigating</strong> - ")
    assert parsedate_to_datetime(item.find("pubDate").text).tzinfo is not None


def test_empty_feeds_parse_too(client, page):
    assert ET.fromstring(client.get("/status/history.atom").content).findall(f"{ATOM}entry") == []
    assert ET.fromstring(client.get("/status/history.rss").content).findall("channel/item") == []
