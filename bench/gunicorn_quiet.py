"""The project's gunicorn.conf.py with its access log off (a bench measures the app, not the
log): `gunicorn -c bench/gunicorn_quiet.py 'run:create_app()'`."""

import runpy
from pathlib import Path

_settings = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
globals().update({k: v for k, v in _settings.items() if not k.startswith("_")})
accesslog = None
