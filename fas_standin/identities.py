"""The stand-in's test identities, read from identities.yaml."""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

IDENTITIES_FILE = Path(__file__).resolve().parent / "identities.yaml"


@dataclass(frozen=True)
class Identity:
    national_number: str
    surname: str
    given_name: str
    email: str
    phone: str
    language: str
    card: str
    pin: str

    @property
    def full_name(self):
        return f"{self.given_name} {self.surname}"


@cache
def all_identities():
    rows = yaml.safe_load(IDENTITIES_FILE.read_text(encoding="utf-8"))
    return tuple(
        Identity(
            national_number=r["national_number"],
            surname=r["surname"],
            given_name=r["given_name"],
            email=r["email"],
            phone=r["phone"],
            language=r.get("language", "fr"),
            card=r["eid"]["card"],
            pin=str(r["eid"]["pin"]),
        )
        for r in rows
    )


def by_national_number(number):
    return next((i for i in all_identities() if i.national_number == number), None)


def by_card(card):
    return next((i for i in all_identities() if i.card == card), None)


def by_phone(phone):
    return next((i for i in all_identities() if i.phone == phone), None)
