"""Live updates: what changed, told to the browsers that hold a stream open (server-sent events).

Writers call publish(channel, data) once their transaction has committed (every
change to an incident, a notification for someone's bell, a sign-out). The data
is kept in the cache under the channel's key and, with REDIS_URL, also sent on
Redis pub/sub. In each web process, one Hub per event loop wakes the streams
that watch a channel:

- with REDIS_URL: one pub/sub connection per process, subscribed to one pattern
  that covers every channel of this portal. Channels carry the cache's key
  prefix, since Redis' pub/sub ignores the database number;
- without it (the embedded mode, where the worker and beat are other processes
  that share only the file cache): every LIVE_CACHE_CHECK_MS, one get_many of the
  keys of the channels watched in this process: once per channel (a room), never
  once per watcher.

An idle stream costs its socket and nothing else: no query, no thread. When the
Hub loses Redis, every stream it feeds is ended (the browsers poll meanwhile)
and new ones are refused until it is back.

Channels: "room:<incident id>" (its revision), "incidents" (any incident
changed: dashboards and lists), "bell:<user id>" (a notification),
"session:<digest>" (that session ended: its streams end).
"""

import asyncio
import hashlib
import json
import logging
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from importlib import import_module
from typing import Any

import redis.asyncio as aredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connections, transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

logger = logging.getLogger(__name__)

KEEP_SECONDS = 24 * 3600
# Without a pong from Redis for this long, the pub/sub connection counts as lost (a frozen Redis).
PUBSUB_DEAD_AFTER_SECONDS = 15.0
PUBSUB_PING_SECONDS = 5.0


def _key(channel: str) -> str:
    return f"live:{channel}"


def pubsub_channel(channel: str) -> str:
    """The Redis channel: prefixed like the cache's keys, so that two portals (or test runs) never mix."""
    return cache.make_key(_key(channel))


def _pattern() -> str:
    return cache.make_key(_key("")) + "*"


def session_channel(session_key: str) -> str:
    """The channel of one session's end (sign-out): a digest, so that the key is written nowhere."""
    return "session:" + hashlib.sha256(session_key.encode()).hexdigest()[:32]


def publish(channel: str, data: dict[str, Any] | None = None) -> None:
    """Tell the streams watching `channel` that it changed. Call it after the commit.

    Never raises: a lost publish costs the watchers until the next change (the
    pages' polling fallback and the room's revision catch it up).
    """
    payload = {**(data or {}), "stamp": uuid.uuid4().hex}
    try:
        cache.set(_key(channel), payload, timeout=KEEP_SECONDS)
    except Exception:  # noqa: BLE001 - Redis down: the publish below would fail as well
        return
    if not settings.REDIS_URL:
        return
    client_of = getattr(getattr(cache, "_cache", None), "get_client", None)
    if client_of is None:
        return
    try:
        client_of(write=True).publish(pubsub_channel(channel), json.dumps(payload))
    except Exception:  # noqa: BLE001
        logger.warning("live: could not publish %s", channel, exc_info=True)


def publish_on_commit(channel: str, data: dict[str, Any] | None = None) -> None:
    transaction.on_commit(lambda: publish(channel, data))


class Subscription:
    """One stream's interest in some channels; `wait()` returns when one of them changed."""

    def __init__(self, hub: "Hub", channels: Iterable[str]) -> None:
        self.hub = hub
        self.channels = frozenset(channels)
        self.changed: dict[str, dict] = {}
        self.broken = False
        self._event = asyncio.Event()

    def _notify(self, channel: str, data: dict) -> None:
        self.changed[channel] = data
        self._event.set()

    def _break(self) -> None:
        self.broken = True
        self._event.set()

    async def wait(self, timeout: float) -> dict[str, dict]:
        """{channel: its latest data} for the channels that changed; {} after `timeout` seconds."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return {}
        self._event.clear()
        changed, self.changed = self.changed, {}
        return changed

    def close(self) -> None:
        self.hub.unsubscribe(self)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Hub:
    """The streams of one event loop and what they watch; learns of changes once per channel."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, set[Subscription]] = {}
        self._stamps: dict[str, str | None] = {}
        self._new_channels: set[str] = set()
        self._task: asyncio.Task | None = None
        self.healthy = True

    @property
    def watched(self) -> int:
        return len(self._subscriptions)

    def subscribe(self, channels: Iterable[str]) -> Subscription:
        subscription = Subscription(self, channels)
        for channel in subscription.channels:
            if channel not in self._subscriptions:
                self._subscriptions[channel] = set()
                self._new_channels.add(channel)
            self._subscriptions[channel].add(subscription)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="coolhead-live-hub")
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        for channel in subscription.channels:
            watchers = self._subscriptions.get(channel)
            if watchers is None:
                continue
            watchers.discard(subscription)
            if not watchers:
                del self._subscriptions[channel]
                self._stamps.pop(channel, None)
                self._new_channels.discard(channel)

    def _seen(self, channel: str, data: dict | None, *, wake_if_new: bool) -> None:
        stamp = (data or {}).get("stamp")
        known = channel in self._stamps
        if known and self._stamps[channel] == stamp:
            return
        self._stamps[channel] = stamp
        # A channel first read: its watchers just read the database, so only a change they
        # may have missed (something was published) wakes them.
        if known or (wake_if_new and data):
            for subscription in list(self._subscriptions.get(channel, ())):
                subscription._notify(channel, data or {})

    def _break_all(self) -> None:
        for watchers in list(self._subscriptions.values()):
            for subscription in list(watchers):
                subscription._break()

    async def _run(self) -> None:
        try:
            if settings.REDIS_URL:
                await self._listen_to_redis()
            else:
                await self._check_the_cache()
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug here must not leave streams waiting for ever
            logger.exception("live: the hub stopped")
            self.healthy = False
            self._break_all()

    async def _read_stamps(self, channels: list[str], *, wake_if_new: bool) -> None:
        values = await sync_to_async(_read_many, thread_sensitive=False)(channels)
        for channel in channels:
            if channel in self._subscriptions:
                self._seen(channel, values.get(channel), wake_if_new=wake_if_new)

    async def _check_the_cache(self) -> None:
        interval = settings.LIVE_CACHE_CHECK_MS / 1000
        while True:
            await asyncio.sleep(interval)
            channels = list(self._subscriptions)
            if not channels:
                continue
            # A channel first watched since the last check: its watchers read the
            # database when they opened, and a change may have slipped in between.
            new, self._new_channels = self._new_channels, set()
            try:
                values = await sync_to_async(_read_many, thread_sensitive=False)(channels)
            except Exception:  # noqa: BLE001 - the file cache failing: try again next time
                logger.warning("live: could not read the cache", exc_info=True)
                continue
            for channel in channels:
                if channel in self._subscriptions:
                    self._seen(channel, values.get(channel), wake_if_new=channel in new)

    async def _listen_to_redis(self) -> None:
        backoff = 0.5
        prefix_length = len(pubsub_channel(""))
        while True:
            client = aredis.Redis.from_url(
                settings.REDIS_URL,
                socket_connect_timeout=settings.REDIS_TIMEOUT_MS / 1000,
                socket_timeout=PUBSUB_DEAD_AFTER_SECONDS,
            )
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(_pattern())
                self.healthy = True
                backoff = 0.5
                # What changed while this process was not listening (a reconnect).
                self._new_channels = set()
                await self._read_stamps(list(self._subscriptions), wake_if_new=True)
                last_pong = last_ping = time.monotonic()
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    now = time.monotonic()
                    if message is not None:
                        last_pong = now
                        if message.get("type") == "pmessage":
                            channel = _text(message["channel"])[prefix_length:]
                            if channel in self._subscriptions:
                                self._seen(channel, _json(message["data"]), wake_if_new=True)
                        continue
                    if self._new_channels:
                        new, self._new_channels = self._new_channels, set()
                        await self._read_stamps(list(new), wake_if_new=True)
                    if now - last_ping >= PUBSUB_PING_SECONDS:
                        await pubsub.ping()
                        last_ping = now
                    if now - last_pong > PUBSUB_DEAD_AFTER_SECONDS:
                        raise TimeoutError("Redis stopped answering the pub/sub connection")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis down or frozen
                if self.healthy:
                    logger.warning("live: lost Redis pub/sub (%s); the streams end and pages poll", exc)
                self.healthy = False
                self._stamps.clear()
                self._break_all()
            finally:
                try:
                    await pubsub.aclose()
                    await client.aclose()
                except Exception:  # noqa: BLE001
                    pass
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _json(value: bytes | str) -> dict:
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def latest(channel: str) -> dict:
    """What was last published on `channel` ({} when nothing, or the cache is down). Sync."""
    try:
        return _read_many([channel]).get(channel) or {}
    except Exception:  # noqa: BLE001
        return {}


def _read_many(channels: list[str]) -> dict[str, dict]:
    found = cache.get_many([_key(channel) for channel in channels])
    return {channel: found.get(_key(channel)) for channel in channels}


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """This event loop's hub (one per process under uvicorn)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub()
    return found


# --- What a stream checks on every event ---------------------------------------------------------


def sessions_alive(session_keys: Iterable[str]) -> set[str]:
    """Of these session keys, those still signed in: the cache first, one query for the rest."""
    keys = {key for key in session_keys if key}
    if not keys:
        return set()
    store = import_module(settings.SESSION_ENGINE).SessionStore
    prefix = getattr(store, "cache_key_prefix", None)
    alive: set[str] = set()
    if prefix is not None:
        try:
            cached = cache.get_many([prefix + key for key in keys])
        except Exception:  # noqa: BLE001 - the cache down: the database answers
            cached = {}
        alive = {key for key in keys if prefix + key in cached}
    missing = keys - alive
    if missing:
        model = store.get_model_class()
        alive |= set(
            model.objects.filter(session_key__in=missing, expire_date__gt=timezone.now()).values_list(
                "session_key", flat=True
            )
        )
    return alive


def done_with_database() -> None:
    """Give this thread's connection back (to the pool) after a stream's unit of work."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


def event(name: str, data: str, *, event_id: int | str | None = None) -> str:
    """One server-sent event: every line of `data` gets its own `data:` field."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {name}")
    lines.extend(f"data: {line}" for line in data.splitlines() or [""])
    return "\n".join(lines) + "\n\n"


def comment(text: str = "") -> str:
    return f": {text}\n\n"


# --- Streams ------------------------------------------------------------------------------------


class StreamSlots:
    """How many streams this process holds open; past LIVE_MAX_STREAMS a stream is refused (503)."""

    def __init__(self) -> None:
        self.open = 0

    def take(self) -> Callable[[], None] | None:
        """A slot, as the function that gives it back (once, however often called), or None."""
        if self.open >= settings.LIVE_MAX_STREAMS:
            return None
        self.open += 1
        given_back = False

        def give_back() -> None:
            nonlocal given_back
            if not given_back:
                given_back = True
                self.open = max(0, self.open - 1)

        return give_back


slots = StreamSlots()


def unavailable(reason: str) -> HttpResponse:
    """The stream cannot be served now: the browser polls and tries again later."""
    response = HttpResponse(reason + "\n", status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = "5"
    return response


def stream_response(events: AsyncIterator[str], slot: Callable[[], None]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(events, content_type="text/event-stream; charset=utf-8")
    # Django closes the response when the stream ends or the browser goes, even if the
    # stream never started: the slot is given back then.
    response._resource_closers.append(slot)
    response["Cache-Control"] = "no-cache"
    # nginx and other proxies: pass each event on at once.
    response["X-Accel-Buffering"] = "no"
    return response


def _unit_of_work[T](function: Callable[..., T]) -> Callable[..., T]:
    def run(*args: Any, **kwargs: Any) -> T:
        try:
            return function(*args, **kwargs)
        finally:
            done_with_database()

    return run


async def in_thread[T](function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run sync code (the ORM, templates) for a stream, giving its connection back after."""
    return await sync_to_async(_unit_of_work(function), thread_sensitive=False)(*args, **kwargs)


async def ping_stream(
    *,
    channels: Iterable[str],
    session_key: str,
    name: str,
    still_allowed: Callable[[], bool],
    settle_seconds: float = 1.0,
) -> AsyncIterator[str]:
    """A stream that says only "`name` changed": the page fetches what it shows itself (through
    its view, which applies every rule). `still_allowed` (sync: the session, the person) is asked
    on every event; a session that ended gets "reload" and the stream ends."""
    subscription = hub().subscribe([*channels, session_channel(session_key)])
    try:
        yield "retry: 3000\n\n"
        yield comment(f"watching {name}")
        while True:
            changed = await subscription.wait(settings.LIVE_KEEPALIVE_SECONDS)
            if subscription.broken:
                return
            if not changed:
                yield comment("keepalive")
                continue
            if not await in_thread(still_allowed):
                yield event("reload", "signed out")
                return
            yield event(name, next(iter(changed.values())).get("stamp", ""))
            # A burst of changes (a declare writes several) is one fetch for the page.
            await asyncio.sleep(settle_seconds)
    finally:
        subscription.close()


def session_and_person_ok(session_key: str, user_id: int) -> bool:
    """The session is still signed in and the person still active (one query, and the cache)."""
    if session_key not in sessions_alive([session_key]):
        return False
    user_model = get_user_model()
    return user_model.objects.filter(pk=user_id, is_active=True).exists()
