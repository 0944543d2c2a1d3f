"""The WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

import logging
import sys

from app import create_app
from webchat.settings import SettingsError

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

try:
    app = create_app()
except SettingsError as error:
    print(f"webchat: configuration error: {error}", file=sys.stderr)
    sys.exit(2)
