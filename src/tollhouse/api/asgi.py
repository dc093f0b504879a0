"""`tollhouse.api.asgi:app`, the app built from the environment, for ASGI servers."""

import gc

from tollhouse.api.app import create_app

app = create_app()
# What start-up built (modules, routes, compiled SQL, plans) lives as long as the process: take it
# out of the cyclic collector's sight, so that its full collections scan only what requests left.
gc.freeze()
