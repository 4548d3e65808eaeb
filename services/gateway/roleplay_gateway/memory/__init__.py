"""Memory of the three tiers, as the public API shows and edits it (owned by chat)."""
