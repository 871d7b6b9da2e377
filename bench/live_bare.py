"""The baseline for bench/live.py: a bare websocket broadcast server in about 60 lines.

The `websockets` library holds the sockets; one Redis pub/sub subscription brings messages;
each message is decoded and JSON-encoded once, then written to every socket. No Django, no
authentication, no permission, no database: the floor a live-update server can reach.

    python bench/live_bare.py --port 8901 --redis redis://127.0.0.1:6379/0 --channel bare
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource

import redis.asyncio as redis
from websockets.asyncio.server import broadcast, serve

CONNECTIONS: set = set()


async def handler(connection) -> None:
    CONNECTIONS.add(connection)
    try:
        await connection.send('{"kind":"ready"}')
        async for _message in connection:  # the page may talk; the baseline ignores it
            pass
    finally:
        CONNECTIONS.discard(connection)


async def relay(url: str, channel: str) -> None:
    client = redis.Redis.from_url(url)
    pubsub = client.pubsub()
    await pubsub.subscribe(channel)
    async for message in pubsub.listen():
        if message["type"] != "message":
            continue
        event = json.loads(message["data"])
        broadcast(CONNECTIONS, json.dumps(event, separators=(",", ":")))  # one encode


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--channel", default="bare")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    async with serve(handler, "127.0.0.1", args.port, compression=None, backlog=4096):
        print("ready", flush=True)
        await relay(args.redis, args.channel)


if __name__ == "__main__":
    asyncio.run(main())
