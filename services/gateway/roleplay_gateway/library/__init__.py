"""Library routes: the user's kept images, answered by the library service."""
