"""HTTP and WebSocket routes, OpenAPI: the only layer that sees an aiohttp request."""
