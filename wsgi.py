"""WSGI entry point: gunicorn wsgi:app."""
import sys

from config import ConfigError
from incidents.app import create_app

try:
    app = create_app()
except ConfigError as exc:  # one line naming the setting, not a traceback
    sys.exit(f"vigil: configuration error: {exc}")
