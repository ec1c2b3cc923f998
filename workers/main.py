"""Worker entry point, like wsgi.py for the web: `celery -A workers.main worker --beat`."""
import sys

from config import ConfigError
from incidents.app import create_app

try:
    flask_app = create_app()
except ConfigError as exc:  # one line naming the setting, not a traceback
    sys.exit(f"vigil: configuration error: {exc}")
celery = flask_app.extensions["celery"]
