"""`tollhouse.api.asgi:app`, the app built from the environment, for ASGI servers."""

from tollhouse.api.app import create_app

app = create_app()
