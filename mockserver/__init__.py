"""The stateful in-memory mock server of the SIP trunks API."""
