"""Liveness and database check for load balancers and monitoring."""

from flask import Blueprint, current_app, jsonify
from peewee import DatabaseError

from models import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.connect(reuse_if_open=True)
        db.execute_sql("SELECT 1")
    except DatabaseError as exc:
        current_app.logger.error("Health check: database unreachable: %s", exc)
        return jsonify(status="error", database=f"unreachable: {type(exc).__name__}"), 503
    return jsonify(status="ok", database="ok")
