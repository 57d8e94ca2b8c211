"""Suite ``model``: a state machine (``machine``) over a plain model of one organization (``state``)."""
