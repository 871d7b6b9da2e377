"""bench/live.py's `pubsub` variant: the project's settings on RedisPubSubChannelLayer."""

from intranet.settings import *  # noqa: F403

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": CHANNEL_LAYERS["default"]["CONFIG"]["hosts"],  # noqa: F405
            "prefix": CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],  # noqa: F405
        },
    }
}
