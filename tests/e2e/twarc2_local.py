"""Runs the real `twarc2` command with one change: requests sessions send their
`https://api.twitter.com` requests to the local server (the LocalTwitter adapter of
tests/e2e/conftest.py). Everything else — the upload and download URLs the server hands out,
which twarc2 fetches with module-level `requests` and no Authorization — goes where it says.

    python -m tests.e2e.twarc2_local BASE_URL [twarc2 arguments…]
"""

from __future__ import annotations

import sys

import requests

from tests.e2e.conftest import X_API, LocalTwitter


def main() -> None:
    base_url = sys.argv[1]
    original = requests.Session.__init__

    def init(self: requests.Session) -> None:
        original(self)
        self.mount(X_API, LocalTwitter(base_url))

    requests.Session.__init__ = init  # type: ignore[method-assign]
    from twarc.command2 import twarc2

    sys.argv = ["twarc2", *sys.argv[2:]]
    twarc2()


if __name__ == "__main__":
    main()
