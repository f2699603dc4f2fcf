SECRET_KEY = "test-fixture-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.staticfiles",
]

ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"
DATABASES = {}

# STATIC_ROOT is missing, so collectstatic has nowhere to put the files.
STATIC_URL = "static/"
STATICFILES_DIRS = ["static"]
