"""The conversation event stream: everything a chat screen shows live, resumable."""
