"""Starting turns and relaying their streams to clients as Server-Sent Events."""
