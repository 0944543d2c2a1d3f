"""The WSGI entry point for gunicorn: `gunicorn -c gunicorn.conf.py wsgi:app`.

gunicorn.conf.py has checked the settings before any worker started; reading them again here
covers a server started without it. A bad value then exits with gunicorn's "worker failed to
boot" status, so the master stops instead of booting one failing worker after another.
"""

from app import create_app
from webchat.logs import configure_logging
from webchat.settings import load_or_exit

WORKER_BOOT_ERROR = 3  # gunicorn's Arbiter.WORKER_BOOT_ERROR: the master halts on it

settings = load_or_exit(status=WORKER_BOOT_ERROR)
configure_logging(settings.log_format, settings.log_level)
app = create_app({"SETTINGS": settings})
