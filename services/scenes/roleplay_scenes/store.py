"""Tables of the `scenes` schema and the queries on them."""

from sqlmodel import SQLModel

SCHEMA = "scenes"

metadata = SQLModel.metadata
