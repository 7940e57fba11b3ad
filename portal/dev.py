"""Development-only page: the outbox and the SMS kept by the development gateway.
Registered only when DEV_MAIL_PAGE is set (production refuses it), and answered only to a
browser on this machine: every email of every person is on it."""

import ipaddress

from flask import Blueprint, abort, render_template, request

import notifications
from models import OutboxMessage, SmsMessage

bp = Blueprint("dev", __name__, url_prefix="/dev")

# Headers a reverse proxy adds: a request that carries one came from elsewhere through the proxy,
# even though its TCP peer (the proxy) is on this machine.
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP", "X-Forwarded-Host")


def peer_address():
    """The address of the TCP peer itself, not the one ProxyFix takes from X-Forwarded-For."""
    original = request.environ.get("werkzeug.proxy_fix.orig") or {}
    return original.get("REMOTE_ADDR") or request.environ.get("REMOTE_ADDR") or ""


def from_loopback():
    if any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address(peer_address().split("%")[0]).is_loopback
    except ValueError:
        return False


@bp.before_request
def loopback_only():
    """Anyone else gets the 404 of a page that does not exist."""
    if not from_loopback():
        abort(404)


@bp.get("/mail")
def mail_index():
    messages = OutboxMessage.select().order_by(OutboxMessage.id.desc()).limit(200)
    texts = SmsMessage.select().order_by(SmsMessage.id.desc()).limit(50)
    return render_template("dev/mail.html", messages=messages, texts=texts)


@bp.get("/mail/<int:message_id>")
def mail_show(message_id):
    message = OutboxMessage.get_or_none(OutboxMessage.id == message_id) or abort(404)
    if message.subject is None:
        message.subject, message.body_text, message.body_html = notifications.render(message)
    return render_template("dev/mail_detail.html", message=message)
