"""The public statistics (`/statistiques`, no login), as Démarches Simplifiées publishes them:
per procedure, the dossiers closed over the last twelve months and their processing time
(median and 90th percentile, in days). Counts only, read from the kept monthly rows: nothing
personal, no company. The page is the same for every anonymous visitor in a language, so
shared caches may keep it a few minutes."""

from flask import Blueprint, make_response, render_template, session

import security_headers
from auth import current_person, current_staff
from dossiers import statistics

bp = Blueprint("statistics", __name__)
CACHE_SECONDS = 300


@bp.get("/statistiques")
def index():
    months = statistics.last_months()
    response = make_response(
        render_template(
            "statistics/index.html",
            procedures=statistics.by_procedure(months),
            first=months[0],
            last=months[-1],
        )
    )
    # A logged-in visitor's page carries their name, a first visit with ?lang= sets the cookie
    # of its choice: neither is for a shared cache.
    if current_person() is None and current_staff() is None and not session.modified:
        security_headers.cacheable(response, CACHE_SECONDS)
    return response
