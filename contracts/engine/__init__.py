"""The run: its configuration, the context suites get, the events it yields, and the loop (``core``)."""
