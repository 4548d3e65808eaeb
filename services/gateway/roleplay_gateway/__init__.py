"""Gateway: the public HTTP entry: auth, validation, commands, SSE relays, web client."""
