"""Webhooks: the administration's systems told of every event by HTTP, signed after the
Standard Webhooks specification (https://www.standardwebhooks.com), and never losing one.

An event is written with its change (`models.Event.record`) and nothing else happens in that
transaction: the change is never held back by a receiver. The worker then, for each
subscription, makes one delivery per event it wants, in feed order (`delivery.fan_out`), and
sends the due ones (`delivery.send_due`), each subscription in its own thread so that a slow
or broken receiver delays no other; a failed attempt is tried again after the back-off delays
(more than 48 hours in all), then lands in the dead letters, from which an administrator
replays it. The subscriptions are managed by administrators (`subscriptions`), audited.
"""


class WebhookRefused(Exception):
    """A change of a subscription that is not allowed; `str()` is the message for the user,
    already translated, and `field` the form field it is about, when there is one."""

    def __init__(self, message, field=None):
        super().__init__(str(message))
        self.field = field
