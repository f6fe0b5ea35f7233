"""Persistence: SQLAlchemy Core tables, small repositories and Alembic migrations."""
