SECRET_KEY = "test-fixture-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]

# An API-only project: no django.contrib.staticfiles, so there is no collectstatic command.
INSTALLED_APPS = []

ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"
DATABASES = {}
