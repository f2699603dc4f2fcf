import dj_database_url  # Not in requirements.txt.

SECRET_KEY = "test-fixture-not-secret"
INSTALLED_APPS = [
    "django.contrib.staticfiles",
]
DATABASES = {"default": dj_database_url.config()}
STATIC_URL = "static/"
STATIC_ROOT = "staticfiles"
