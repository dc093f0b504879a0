"""Fast JSON responses: orjson, no re-encoding, no pretty-printing."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSONResponse(Response):
    """A JSON response serialised once with orjson (ints stay ints, datetimes ISO-8601)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
