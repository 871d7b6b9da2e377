"""Live updates, delivering side: one hub per server process (per event loop).

Sockets do not hold channels of their own. The hub holds ONE channel-layer channel for the
whole process and joins the group of every stream at least one local socket listens to; so a
message published to a stream reaches each process once, already serialized, and the hub
writes its pre-encoded text straight to every local socket that wants it: one serialization
per message and a local fan-out, no coroutine hop and no channel-layer round trip per socket
(docs/BENCHMARKS.md has the measurements that chose this).

Messages (built by feeds.realtime, the only sender):
- `live.event`  {stream, meta, text: {language: json}}: a post, comment or reaction change;
  `meta` says which sockets want it (`LiveConsumer.wants`, no query).
- `live.state`  {stream: "user-<id>", state}: that person's streams and home-feed sets
  changed (membership, follow, profile, deactivation): applied at once, in order with the
  events around it; no streams at all closes their sockets.
- `live.sync`   {stream: "everyone"}: the layer was down; every socket should catch up.

If the channel layer fails, the hub logs once, retries with backoff, re-joins its groups
when it answers (a restarted Redis has forgotten them) and tells every socket to catch up.
Before a page is told to catch up (`sync_all`, here or on `live.sync`), its person's state is
read again: a `live.state` lost in the outage (someone removed from a group, deactivated)
must not leave a socket on streams its person may no longer read.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import TYPE_CHECKING

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from . import selectors
from .realtime import SYNC, group_name
from .selectors import LiveState

if TYPE_CHECKING:
    from .consumers import LiveConsumer

logger = logging.getLogger(__name__)

JOIN_BATCH = 64  # group joins in flight at once (the Redis pool must allow more than this)
GROUP_REFRESH_SECONDS = 3600  # re-join groups well before the layer's group expiry
MAX_BACKOFF = 10.0
YIELD_EVERY = 100  # sockets written between two turns of the event loop


class Hub:
    def __init__(self, layer) -> None:
        self.layer = layer
        self.channel: str | None = None
        self.by_stream: dict[str, set[LiveConsumer]] = {}
        self.by_user: dict[int, set[LiveConsumer]] = {}
        self.joined: set[str] = set()
        self._waiting: dict[str, asyncio.Future] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._starting: asyncio.Future | None = None
        self._background: set[asyncio.Task] = set()
        self.down = False
        self.closed = False

    # --- sockets -----------------------------------------------------------------------------

    async def attach(self, socket: LiveConsumer) -> None:
        """Deliver to `socket` from now on; returns once its streams' groups are joined.

        Raises if the channel layer cannot be reached (the consumer closes; the page retries).
        """
        self.by_user.setdefault(socket.user_id, set()).add(socket)
        for stream in socket.streams:
            self.by_stream.setdefault(stream, set()).add(socket)
        await self._start()
        await self._join(socket.streams)

    async def detach(self, socket: LiveConsumer) -> None:
        users = self.by_user.get(socket.user_id)
        if users is not None:
            users.discard(socket)
            if not users:
                del self.by_user[socket.user_id]
        for stream in socket.streams:
            self._unlisten(stream, socket)
        if not self.by_user:
            await self.close()
        else:
            self._wake.set()

    def _unlisten(self, stream: str, socket: LiveConsumer) -> None:
        sockets = self.by_stream.get(stream)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self.by_stream[stream]

    def restream(self, socket: LiveConsumer, state: LiveState) -> set[str]:
        """Apply a new state at once; returns the streams that still need joining."""
        old = socket.streams
        socket.set_state(state)
        for stream in old - state.streams:
            self._unlisten(stream, socket)
        for stream in state.streams - old:
            self.by_stream.setdefault(stream, set()).add(socket)
        self._wake.set()
        return set(state.streams - self.joined)

    # --- the process's channel and groups ---------------------------------------------------

    async def _start(self) -> None:
        if self.channel is not None:
            return
        if self._starting is None:
            self._starting = asyncio.ensure_future(self.layer.new_channel(prefix="live-hub"))
        channel = await asyncio.shield(self._starting)
        if self.channel is None and not self.closed:
            self.channel = channel
            self._tasks = [
                asyncio.ensure_future(self._receive_loop()),
                asyncio.ensure_future(self._membership_loop()),
                asyncio.ensure_future(self._refresh_loop()),
            ]

    async def _join(self, streams) -> None:
        futures = []
        for stream in streams:
            if stream in self.joined:
                continue
            future = self._waiting.get(stream)
            if future is None:
                future = self._waiting[stream] = asyncio.get_running_loop().create_future()
            futures.append(future)
        if not futures:
            return
        self._wake.set()
        results = await asyncio.gather(*futures, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _membership_loop(self) -> None:
        """Join the groups local sockets need, leave the ones nobody needs any more."""
        while not self.closed:
            await self._wake.wait()
            self._wake.clear()
            wanted = set(self.by_stream) | set(self._waiting)
            to_join = sorted(wanted - self.joined)
            for start in range(0, len(to_join), JOIN_BATCH):
                batch = to_join[start : start + JOIN_BATCH]
                results = await asyncio.gather(
                    *(self.layer.group_add(group_name(s), self.channel) for s in batch),
                    return_exceptions=True,
                )
                for stream, result in zip(batch, results, strict=True):
                    future = self._waiting.pop(stream, None)
                    if isinstance(result, BaseException):
                        self._layer_failed(result)
                        if future is not None and not future.done():
                            future.set_exception(result)
                    else:
                        self.joined.add(stream)
                        if future is not None and not future.done():
                            future.set_result(None)
            to_leave = sorted(self.joined - set(self.by_stream) - set(self._waiting))
            for stream in to_leave:
                self.joined.discard(stream)
            await self._leave(to_leave)

    async def _leave(self, streams) -> None:
        for start in range(0, len(streams), JOIN_BATCH):
            batch = streams[start : start + JOIN_BATCH]
            await asyncio.gather(
                *(self.layer.group_discard(group_name(s), self.channel) for s in batch),
                return_exceptions=True,  # a group left behind only costs a dropped message
            )

    async def _rejoin_all(self) -> None:
        streams = sorted(self.joined)
        for start in range(0, len(streams), JOIN_BATCH):
            batch = streams[start : start + JOIN_BATCH]
            results = await asyncio.gather(
                *(self.layer.group_add(group_name(s), self.channel) for s in batch),
                return_exceptions=True,
            )
            for result in results:
                if isinstance(result, BaseException):
                    raise result

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(GROUP_REFRESH_SECONDS)
            try:
                await self._rejoin_all()
            except Exception as exc:  # noqa: BLE001 (the receive loop recovers)
                self._layer_failed(exc)

    async def _drop_connections(self) -> None:
        """After a failure, pooled connections may be dead (a restarted Redis): start afresh."""
        close_pools = getattr(self.layer, "close_pools", None)
        if close_pools is not None:
            try:
                await close_pools()
            except Exception:  # noqa: BLE001, S110 (nothing to save in a broken pool)
                pass

    def _layer_failed(self, exc: BaseException) -> None:
        if not self.down:
            self.down = True
            logger.warning(
                "Live updates: the channel layer is unreachable (%s); retrying. Logged once "
                "per outage.",
                exc.__class__.__name__,
            )

    async def _receive_loop(self) -> None:
        backoff = 0.25
        while not self.closed:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                self._layer_failed(exc)
                await self._drop_connections()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                await self._recover()
                continue
            backoff = 0.25
            try:
                await self.dispatch(message)
            except Exception:
                logger.exception("Live updates: a message could not be delivered")

    async def _recover(self) -> None:
        """After a failure: re-join every group; if that works, everyone catches up."""
        try:
            await self._rejoin_all()
        except Exception:  # noqa: BLE001 (still down)
            return
        if self.down:
            self.down = False
            logger.warning("Live updates: the channel layer answers again; pages catch up.")
            await self.sync_all()

    async def close(self) -> None:
        """The last socket left: stop receiving and leave every group (best effort)."""
        self.closed = True
        if _hubs.get(asyncio.get_running_loop()) is self:
            del _hubs[asyncio.get_running_loop()]
        current = asyncio.current_task()
        for task in (*self._tasks, *self._background):
            if task is not current:  # the receive loop may be the one closing: it just ends
                task.cancel()
        self._tasks = []
        for future in self._waiting.values():
            if not future.done():
                future.cancel()
        if self.channel is not None:
            await self._leave(sorted(self.joined))
        self.joined.clear()

    # --- delivery ------------------------------------------------------------------------------

    async def dispatch(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "live.event":
            sockets = self.by_stream.get(message["stream"])
            if not sockets:
                return
            meta, texts = message["meta"], message["text"]
            for n, socket in enumerate(tuple(sockets), 1):
                if socket.wants(meta):
                    await socket.push(texts)
                if n % YIELD_EVERY == 0:
                    # Let the server flush what it buffered (daphne writes on the next turn
                    # of the loop) and keep handshakes and pings going during a big fan-out.
                    await asyncio.sleep(0)
        elif kind == "live.state":
            await self.apply_state(LiveState.from_message(message["state"]))
        elif kind == "live.sync":
            await self.sync_all()

    async def apply_state(self, state: LiveState) -> set[LiveConsumer]:
        """A person's new state, at once, to each of their local sockets: none left, closed;
        grown, told to catch up once the new streams are joined. Returns those sockets (closed
        or to be told); the others' pages need nothing."""
        handled = set()
        for socket in tuple(self.by_user.get(state.user_id, ())):
            if not state.streams:
                await socket.shut()
                handled.add(socket)
                continue
            grew = (
                state.streams - socket.streams
                or state.follows - socket.followed_ids
                or state.groups - socket.group_ids
            )
            missing = self.restream(socket, state)
            if grew:  # what the page shows may have missed something: it catches up
                self._spawn(self._joined_then_sync(socket, missing))
                handled.add(socket)
        return handled

    def _spawn(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _joined_then_sync(self, socket: LiveConsumer, streams: set[str]) -> None:
        """Tell a socket whose streams grew to catch up, once it hears the new ones."""
        try:
            await self._join(streams)
        except Exception:  # noqa: BLE001 (the receive loop recovers and syncs everyone)
            return
        await socket.push_text(SYNC)

    async def sync_all(self) -> None:
        """After the layer was down (here or for a publisher): every page catches up. A state
        message may have been lost meanwhile (someone removed from a group, deactivated), so
        each local person's state is first read afresh and applied, and only then are their
        pages told. In the background, person by person: the receive loop goes on."""
        self._spawn(self._resync(tuple(self.by_user)))

    async def _resync(self, user_ids: tuple[int, ...]) -> None:
        for user_id in user_ids:
            handled: set[LiveConsumer] = set()
            try:
                state = await database_sync_to_async(selectors.live_state_of)(user_id)
            except Exception:  # noqa: BLE001 (the database is away too: the pages still catch up)
                logger.warning("Live updates: a state could not be read again", exc_info=True)
            else:
                handled = await self.apply_state(state)
            for socket in tuple(self.by_user.get(user_id, ())):
                if socket not in handled:
                    await socket.push_text(SYNC)

    @property
    def socket_count(self) -> int:
        return sum(len(sockets) for sockets in self.by_user.values())


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """This event loop's hub (one per server process; tests run one loop per test)."""
    loop = asyncio.get_running_loop()
    current = _hubs.get(loop)
    if current is None:
        current = _hubs[loop] = Hub(get_channel_layer())
    return current
