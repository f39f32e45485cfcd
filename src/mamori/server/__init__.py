"""The mamori API server and console (FastAPI, SQLAlchemy, Alembic)."""
