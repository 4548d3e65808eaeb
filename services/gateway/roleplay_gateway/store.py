"""The gateway's schemas: `identity` (users, roles, profiles) and `catalog` (characters,
personas, scene and prompt templates, providers, models, system config).

The gateway's connection has `search_path` = `identity`; catalog tables name their schema.
"""

from sqlmodel import SQLModel

SCHEMA = "identity"
CATALOG_SCHEMA = "catalog"

metadata = SQLModel.metadata
