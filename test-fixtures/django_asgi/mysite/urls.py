from django.http import HttpResponse
from django.urls import path


async def index(request):
    # ASGIRequest when Django is served over ASGI, WSGIRequest over WSGI.
    return HttpResponse(f"Hello from Django over ASGI! ({type(request).__name__})\n")


urlpatterns = [
    path("", index),
]
