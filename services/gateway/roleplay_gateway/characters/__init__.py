"""AI characters and user personas: CRUD, visibility, nsfw gating, card import/export."""
