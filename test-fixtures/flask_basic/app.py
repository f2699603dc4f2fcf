import os

from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return f"Hello from Flask! WEB_CONCURRENCY={os.environ.get('WEB_CONCURRENCY')}\n"
