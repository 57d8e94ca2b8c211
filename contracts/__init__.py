"""The conformance suite: checks any SIP trunks API target against the spec over HTTP."""
