"""A generic HTTP SMS gateway: POST {"to": ..., "text": ...} with a bearer token."""

import requests
from flask_babel import lazy_gettext as _l

from sms import SmsError, SmsGateway, register


@register("http", label=_l("Passerelle SMS HTTP"))
class HttpGateway(SmsGateway):
    def send(self, to_phone, text):
        url = self.config.get("SMS_HTTP_URL")
        if not url:
            raise SmsError("SMS_HTTP_URL is not set.")
        headers = {}
        if self.config.get("SMS_HTTP_TOKEN"):
            headers["Authorization"] = f"Bearer {self.config['SMS_HTTP_TOKEN']}"
        try:
            # bandit does not see the timeout= below.
            response = requests.post(  # nosec B113
                url,
                json={"to": to_phone, "text": text, "sender": self.config.get("SMS_SENDER")},
                headers=headers,
                timeout=self.config.get("SMS_HTTP_TIMEOUT", 10),
            )
        except requests.RequestException as exc:
            raise SmsError(f"SMS gateway unreachable: {exc}") from exc
        if response.status_code >= 300:
            raise SmsError(f"SMS gateway answered {response.status_code}: {response.text[:200]}")
