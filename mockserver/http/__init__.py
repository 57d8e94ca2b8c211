"""The HTTP layer: the app factory, middleware, the fast path, handlers, problems and validation."""
