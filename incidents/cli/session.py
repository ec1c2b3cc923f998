"""A database session for one command."""
from contextlib import contextmanager

from incidents.db import make_engine, make_sessionmaker


@contextmanager
def command_session(config):
    engine = make_engine(config.database_url)
    session = make_sessionmaker(engine)()
    try:
        yield session
    finally:
        session.close()
        engine.dispose()
