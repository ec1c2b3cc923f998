"""WSGI entry point: gunicorn wsgi:app."""
from incidents.app import create_app

app = create_app()
