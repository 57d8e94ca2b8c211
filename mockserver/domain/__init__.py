"""The domain: organizations, trunks, phone numbers and the vault; the standard library only, no HTTP."""
