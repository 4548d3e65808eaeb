"""Shared plumbing of the roleplay services: settings, events, broker, database, storage, logs."""
