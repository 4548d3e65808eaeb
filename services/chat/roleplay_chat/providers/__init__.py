"""Adapters to model providers, speaking their real protocols."""
