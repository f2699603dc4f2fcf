from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return "Hello from an app with its own email.py and csv.py\n"
