"""What keeps a run safe on a real deployment: the guard, the ledger, its journal on disk, the cleanup."""
