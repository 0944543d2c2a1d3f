"""The WSGI entry point for gunicorn: `gunicorn -c gunicorn.conf.py wsgi:app`."""

import os
import sys

from app import create_app
from webchat.logs import configure_logging
from webchat.settings import SettingsError

configure_logging(os.environ.get("LOG_FORMAT", "json"), os.environ.get("LOG_LEVEL", "INFO"))

try:
    app = create_app()
except SettingsError as error:
    print(f"webchat: configuration error: {error}", file=sys.stderr)
    sys.exit(2)
