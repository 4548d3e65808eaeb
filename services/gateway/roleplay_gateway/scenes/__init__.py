"""Scene routes: generating images in a conversation, jobs, keeping a scene."""
