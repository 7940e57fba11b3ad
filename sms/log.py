"""Development gateway: the SMS is kept in the database and shown on the development mail page."""

import logging

from models import SmsMessage
from sms import SmsGateway, register

log = logging.getLogger(__name__)


@register("log")
class LogGateway(SmsGateway):
    stand_in = True

    def send(self, to_phone, text):
        SmsMessage.create(to_phone=to_phone, body=text, gateway=self.id)
        log.info("SMS to %s kept by the development gateway", to_phone)
