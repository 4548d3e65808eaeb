"""Adapters to image providers and to the chat model that writes scene narratives."""
