from pathlib import Path

from django.http import HttpResponse
from django.urls import path


def index(request):
    # gunicorn's --chdir: the server runs in the project's directory.
    return HttpResponse(f"Hello from Django in {Path.cwd().name}/!\n")


urlpatterns = [
    path("", index),
]
