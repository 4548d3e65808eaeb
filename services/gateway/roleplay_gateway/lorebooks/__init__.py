"""Lorebooks (world info): standalone books, a character's embedded book, and attachments."""
