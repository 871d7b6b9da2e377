"""Settings for the benchmark server: the project's own, plus a hello-world view (bench.urls)."""

from intranet.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
