"""Conversation and message routes, answered by the chat service that owns them."""
