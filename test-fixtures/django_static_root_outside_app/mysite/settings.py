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
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"

# No database: collectstatic must not need one. A real app would read DATABASE_URL here, which is
# only set when the app runs.
DATABASES = {}

STATIC_URL = "static/"
# Outside the app (the test gives a temporary directory), as with a shared volume.
STATIC_ROOT = os.environ["STATIC_ROOT"]
STATICFILES_DIRS = [BASE_DIR / "static"]

# Shows, in the build output, which env collectstatic sees.
print(f"settings loaded, DATABASE_URL is {'set' if 'DATABASE_URL' in os.environ else 'not set'}")
