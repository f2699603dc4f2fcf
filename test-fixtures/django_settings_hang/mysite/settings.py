import sys
import time

# Stands for a database connection made when the settings load, to a host the build can't reach.
print("Connecting to the database at db.internal:5432 ...", file=sys.stderr, flush=True)
time.sleep(3600)

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "test-fixture-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"

# No database: collectstatic must not need one. A real app would read DATABASE_URL here, which is
# only set when the app runs.
DATABASES = {}

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Shows, in the build output, which env collectstatic sees.
print(f"settings loaded, DATABASE_URL is {'set' if 'DATABASE_URL' in os.environ else 'not set'}")
