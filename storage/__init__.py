"""The store: SQLAlchemy models, Alembic migrations and the `bot.ports.Store` implementation."""
