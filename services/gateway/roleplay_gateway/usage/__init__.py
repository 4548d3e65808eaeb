"""Usage routes and the quota check, answered by the usage service."""
