"""Worker entry point, like wsgi.py for the web: `celery -A workers.main worker --beat`."""
from incidents.app import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
