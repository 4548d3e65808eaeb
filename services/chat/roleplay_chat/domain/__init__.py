"""Business rules of this service, with no I/O."""
