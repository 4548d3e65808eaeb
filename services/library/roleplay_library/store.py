"""Tables of the `library` schema and the queries on them."""

from sqlmodel import SQLModel

SCHEMA = "library"

metadata = SQLModel.metadata
