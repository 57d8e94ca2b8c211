"""ASGI middleware of the app, one module each: body limit, media types, slashes, access log, admin auth."""
