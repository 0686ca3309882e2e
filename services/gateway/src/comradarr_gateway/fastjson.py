"""JSON responses for the hot read paths (content browse, queue list).

Returning a pydantic model makes FastAPI validate it a second time against the response
model and then dump it: under load that was a third of the gateway's CPU per request. So
the queue list builds plain dicts serialized once by orjson, and the content browser goes
further: PostgreSQL writes each item's JSON and the gateway only joins the texts. The
response_model stays on each route for the OpenAPI document, and tests check these bodies
against the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from starlette.responses import Response


class FastJSONResponse(Response):
    """application/json from orjson; aware UTC datetimes end in Z, as pydantic writes them."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_UTC_Z)


def page_response(head: dict[str, Any], key: str, items_json: Sequence[str]) -> Response:
    """head as JSON with key set to the array of already-serialized items."""
    encoded = orjson.dumps(head, option=orjson.OPT_UTC_Z)
    array = ",".join(items_json).encode()
    body = b"".join((encoded[:-1], b',"', key.encode(), b'":[', array, b"]}"))
    return Response(body, media_type="application/json")
