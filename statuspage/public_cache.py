"""Where public documents live: the cache first, a snapshot on disk when the cache or the database fails.

Customers read the status page hardest when something is broken, maybe the very
database or Redis behind the portal. So:

- a refresh (after every publish, and on a timer) renders every document and
  writes it to the cache and to a snapshot file on disk;
- a request is answered from the cache without touching the database;
- when the cache is down, from the snapshot (the last good rendering);
- on a cache miss, by rendering from the database, and if the database is down
  too, from the snapshot again.
"""

import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import Error as DatabaseError

from statuspage import selectors
from statuspage.documents import Document, all_documents, load_state, page_document, single_document

logger = logging.getLogger(__name__)

KEY_PREFIX = "statuspage:doc:"
ETAG_PREFIX = "statuspage:etag:"
REFRESH_LOCK_KEY = "statuspage:refresh-lock"
REFRESHED_AT_KEY = "statuspage:refreshed-at"
NAMES_KEY = "statuspage:doc-names"
STATE_STAMP_KEY = "statuspage:state-stamp"
# Documents rendered on a miss (old incidents outside the recent set) expire on their own.
LAZY_TTL_SECONDS = 300
# After a cache error, skip the cache for a while instead of waiting for its timeout on every request.
CACHE_BACKOFF_SECONDS = 5.0

_cache_down_until = 0.0
# Documents this process has served, by (name, ETag). A document never changes under
# its ETag, so a hit asks the cache only for the small ETag, not the whole body.
_memo: dict[tuple[str, str], Document] = {}
MEMO_LIMIT = 512
_snapshot_memo: dict[str, object] = {"stamp": None, "documents": {}}
_snapshot_lock = threading.Lock()


class Unavailable(Exception):
    """Neither the cache, the database nor the snapshot could answer."""


def snapshot_path() -> Path:
    return Path(settings.STATUSPAGE_SNAPSHOT_DIR) / "snapshot.json"


def _key(name: str) -> str:
    return KEY_PREFIX + name


def _etag_key(name: str) -> str:
    return ETAG_PREFIX + name


def _entries(documents: dict[str, Document]) -> dict[str, object]:
    entries: dict[str, object] = {_key(name): doc for name, doc in documents.items()}
    entries.update({_etag_key(name): doc.etag for name, doc in documents.items()})
    return entries


def _remember(name: str, doc: Document) -> None:
    if len(_memo) >= MEMO_LIMIT:
        _memo.clear()
    _memo[(name, doc.etag)] = doc


def _cache_usable() -> bool:
    return time.monotonic() >= _cache_down_until


def _cache_failed(error: Exception) -> None:
    global _cache_down_until
    _cache_down_until = time.monotonic() + CACHE_BACKOFF_SECONDS
    logger.warning("status page cache unavailable, using the snapshot: %s", error)


def cache_reset_backoff() -> None:
    global _cache_down_until
    _cache_down_until = 0.0


# --- Snapshot -----------------------------------------------------------------------------------


def write_snapshot(documents: dict[str, Document]) -> None:
    path = snapshot_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps({name: doc.as_dict() for name, doc in documents.items()})
    # Write then rename: a reader never sees half a snapshot.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".snapshot-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def snapshot_get(name: str) -> Document | None:
    path = snapshot_path()
    try:
        stat = path.stat()
    except OSError:
        return None
    stamp = (str(path), stat.st_mtime_ns, stat.st_size)
    with _snapshot_lock:
        if _snapshot_memo["stamp"] != stamp:
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                logger.error("status page snapshot unreadable: %s", error)
                return None
            _snapshot_memo["stamp"] = stamp
            _snapshot_memo["documents"] = raw
        data = _snapshot_memo["documents"].get(name)
    return Document.from_dict(data) if data else None


# --- Refresh ------------------------------------------------------------------------------------


def refresh(*, also: tuple[str, ...] | list[str] = (), force: bool = True) -> dict[str, Document]:
    """Render every public document from the database into the cache and the snapshot.

    `also`: public ids of incidents or maintenances to re-render even when they
    are older than the recent set (an update to an old incident). Without
    `force`, a rendering of data older than the one in the cache is not written.
    Raises a database error when the database is down: the last good cache
    and snapshot stay as they are.
    """
    state = load_state()
    for public_id in also:
        incident = selectors.public_incident_by_id(public_id)
        if incident is not None:
            state.extra_incidents.append(incident)
            continue
        maintenance = selectors.maintenance_by_id(public_id)
        if maintenance is not None:
            state.extra_maintenances.append(maintenance)
    documents = all_documents(state)
    stamp = state.updated_at.timestamp()
    try:
        # Two refreshes can overlap (two publishes a moment apart): the one that
        # read older data must not overwrite the newer rendering.
        newer = None if force else cache.get(STATE_STAMP_KEY)
        if newer is not None and newer > stamp:
            return documents
        previous = cache.get(NAMES_KEY) or []
        cache.set_many(_entries(documents), timeout=None)
        # Pages of incidents that are gone (deleted, taken down) must not live on in the cache.
        gone = [key for name in previous if name not in documents for key in (_key(name), _etag_key(name))]
        if gone:
            cache.delete_many(gone)
        cache.set_many(
            {NAMES_KEY: list(documents), STATE_STAMP_KEY: stamp, REFRESHED_AT_KEY: time.time()}, timeout=None
        )
    except Exception as error:  # noqa: BLE001 - the snapshot below still keeps the page up
        _cache_failed(error)
    try:
        write_snapshot(documents)
    except OSError as error:
        logger.error("status page snapshot not written: %s", error)
    return documents


def refresh_quietly(**kwargs) -> None:
    """For on-commit hooks: a failed refresh must not turn a published update into an error."""
    try:
        refresh(**kwargs)
    except Exception:  # noqa: BLE001
        logger.exception("status page refresh failed; the periodic refresh will retry")


def seconds_since_refresh() -> float | None:
    try:
        refreshed = cache.get(REFRESHED_AT_KEY)
    except Exception:  # noqa: BLE001
        return None
    return None if refreshed is None else time.time() - refreshed


def forget(names: list[str]) -> None:
    try:
        cache.delete_many([key for name in names for key in (_key(name), _etag_key(name))])
    except Exception as error:  # noqa: BLE001
        _cache_failed(error)


# --- Lookup ------------------------------------------------------------------------------------


def _render_on_miss(name: str) -> Document | None:
    if name.startswith(("incident:", "ics:")):
        doc = single_document(name)
        if doc is not None and _cache_usable():
            try:
                cache.set_many(_entries({name: doc}), timeout=LAZY_TTL_SECONDS)
            except Exception as error:  # noqa: BLE001
                _cache_failed(error)
        return doc
    # A fixed document is missing: the cache was emptied. One request rebuilds
    # everything; the others meanwhile answer from the snapshot when there is one.
    got_lock = True
    if _cache_usable():
        try:
            got_lock = cache.add(REFRESH_LOCK_KEY, 1, timeout=30)
        except Exception as error:  # noqa: BLE001
            _cache_failed(error)
    if not got_lock:
        doc = snapshot_get(name)
        if doc is not None:
            return doc
    try:
        return refresh().get(name)
    finally:
        if got_lock and _cache_usable():
            try:
                cache.delete(REFRESH_LOCK_KEY)
            except Exception:  # noqa: BLE001
                pass


def lookup(name: str) -> Document | None:
    """The document for a public URL, or None when there is no such thing (a 404).

    Raises Unavailable only when every source failed.
    """
    if _cache_usable():
        try:
            etag = cache.get(_etag_key(name))
            doc = _memo.get((name, etag)) if etag else None
            if doc is None:
                doc = cache.get(_key(name))
                if doc is not None:
                    _remember(name, doc)
        except Exception as error:  # noqa: BLE001 - Redis down: fall through to the snapshot
            _cache_failed(error)
        else:
            if doc is not None:
                return doc
            try:
                return _render_on_miss(name)
            except DatabaseError as error:
                logger.warning("status page: database unavailable, using the snapshot: %s", error)
                doc = snapshot_get(name)
                if doc is None:
                    raise Unavailable from error
                return doc
    doc = snapshot_get(name)
    if doc is not None:
        return doc
    try:
        return _render_on_miss(name)
    except DatabaseError as error:
        raise Unavailable from error


def render_fresh(name: str) -> Document | None:
    """Straight from the database, bypassing cache and snapshot (benchmarks only)."""
    if name.startswith(("incident:", "ics:")):
        return single_document(name)
    state = load_state()
    if name == "page":
        return page_document(state)
    return all_documents(state).get(name)
