"""The target over HTTP: our client that records every exchange, and curl reproductions."""
