"""Development gateway: the SMS is kept in the database and shown on the development mail page."""

import logging

from flask_babel import lazy_gettext as _l

from models import SmsMessage
from sms import SmsGateway, register

log = logging.getLogger(__name__)


@register("log", label=_l("SMS gardés en base (développement)"), stand_in=True)
class LogGateway(SmsGateway):
    def send(self, to_phone, text):
        SmsMessage.create(to_phone=to_phone, body=text, gateway=self.id)
        log.info("SMS to %s kept by the development gateway", to_phone)
