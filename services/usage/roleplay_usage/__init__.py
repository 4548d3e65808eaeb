"""Usage service: records every provider call exactly once; aggregates, balances and quotas."""
