"""Operator tools on the event log: dead letters, replay, event lookup (CLI and admin API)."""
