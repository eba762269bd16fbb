"""PostgreSQL: the single source of truth. Models, engine and migrations."""
