SECRET_KEY = "test-fixture-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = []

MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "mysite.urls"
# As `django-admin startproject` writes it: the project has both a wsgi.py and an asgi.py, and
# only uvicorn (no gunicorn) is installed, so the default web process serves it over ASGI.
WSGI_APPLICATION = "mysite.wsgi.application"

DATABASES = {}
