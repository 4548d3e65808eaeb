"""Identity: registration, login, JWTs (own and external), roles, the profile."""
