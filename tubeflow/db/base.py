"""The SQLAlchemy declarative base shared by every table (productions, knowledge, keys...)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
