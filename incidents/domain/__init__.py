"""Pure rules: no Flask, SQLAlchemy or Celery here (DESIGN rule 4)."""
