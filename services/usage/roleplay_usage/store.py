"""Tables of the `usage` schema and the queries on them."""

from sqlmodel import SQLModel

SCHEMA = "usage"

metadata = SQLModel.metadata
