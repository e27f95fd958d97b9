"""Training judges and policies with TRL (the `[train]` extra)."""
