"""JSON rendering with orjson: the same JSON as DRF's renderer, several times faster."""

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_DRF_ENCODER = JSONEncoder()


class ORJSONRenderer(JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        # Anything orjson does not know natively (lazy strings, decimals...) goes to DRF's encoder.
        return orjson.dumps(data, default=_DRF_ENCODER.default, option=orjson.OPT_NON_STR_KEYS)
