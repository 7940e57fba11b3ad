"""A bare Flask "hello" app, the yardstick of `bench/portal_pages.py`: served by gunicorn with the
project's `gunicorn.conf.py`, as the portal is (`gunicorn -c gunicorn.conf.py
'bench.hello_app:create_app()'`)."""

from flask import Flask


def create_app():
    app = Flask(__name__)

    @app.get("/")
    def hello():
        return "hello"

    return app
