"""Development-only page: the outbox and the SMS kept by the development gateway.
Registered only when DEV_MAIL_PAGE is set, never in production."""

from flask import Blueprint, abort, render_template

import notifications
from models import OutboxMessage, SmsMessage

bp = Blueprint("dev", __name__, url_prefix="/dev")


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
