"""Providers, models, prompt templates and system config as data; model routing; seed data."""
