"""Tables of the `chat` schema and the queries on them."""

from sqlmodel import SQLModel

SCHEMA = "chat"

metadata = SQLModel.metadata
