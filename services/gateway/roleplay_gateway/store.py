"""Tables of the `identity` schema and the queries on them."""

from sqlmodel import SQLModel

SCHEMA = "identity"

metadata = SQLModel.metadata
