"""Field types of the form engine, as a registry: each maps a definition field to a WTForms
field with its validators, and converts between the form's data and the stored JSON answer."""

from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from procedures import validators
from procedures.display import format_address
from registry import Registry

TYPES = Registry("field type")
register = TYPES.register


@cache
def get(type_id):
    """The field type `type_id`, one shared instance (field types hold no state)."""
    return TYPES.get(type_id)()


def exists(type_id):
    return type_id in TYPES


def ids():
    return TYPES.ids()


def choices(field, options):
    return [SelectChoice(o["value"], o["label"]) for o in options]


class FieldType:
    id = None
    label = ""  # the type as an administrator reads it (definition preview): set by register
    has_input = True

    def wtforms_field(self, field, options):
        raise NotImplementedError

    def validators(self, field):
        return [Optional()]

    def to_answer(self, data):
        """The JSON value stored for the form's data (None when empty)."""
        return None if data in (None, "", []) else data

    def to_form(self, value):
        return value

    def is_empty(self, value):
        return value in (None, "", [], {})

    def display(self, value, field, options):
        """The answer as people read it ("" when unanswered)."""
        return "" if self.is_empty(value) else str(value)


@register("text", label=_l("Texte (une ligne)"))
class Text(FieldType):
    def wtforms_field(self, field, options):
        length = [Length(max=field.max_length)] if field.max_length else [Length(max=500)]
        return StringField(field.label, [*self.validators(field), *length])

    def to_answer(self, data):
        return (data or "").strip() or None


@register("textarea", label=_l("Texte long"))
class TextArea(Text):
    def wtforms_field(self, field, options):
        return TextAreaField(field.label, [Optional(), Length(max=field.max_length or 10_000)])


def with_unit(text, field):
    """« 12 travailleurs », « 25 % »: the number and the unit the definition gives, if any."""
    unit = getattr(field, "unit", "")
    return f"{text} {unit}" if text and unit else text


def number_range(field):
    if field.min is None and field.max is None:
        return []
    return [NumberRange(min=field.min, max=field.max)]


@register("integer", label=_l("Nombre entier"))
class Integer(FieldType):
    def wtforms_field(self, field, options):
        return IntegerField(field.label, [Optional(), *number_range(field)])

    def display(self, value, field, options):
        return "" if self.is_empty(value) else with_unit(format_decimal(value), field)


@register("number", label=_l("Nombre"))
class Number(FieldType):
    def wtforms_field(self, field, options):
        return DecimalField(field.label, [Optional(), *number_range(field)])

    def to_answer(self, data):
        return None if data is None else str(data)

    def to_form(self, value):
        try:
            return None if value is None else Decimal(str(value))
        except InvalidOperation:
            return None

    def display(self, value, field, options):
        if self.is_empty(value):
            return ""
        return with_unit(format_decimal(Decimal(str(value))), field)


@register("amount", label=_l("Montant (EUR)"))
class Amount(Number):
    def wtforms_field(self, field, options):
        low = field.min if field.min is not None else 0
        return DecimalField(
            field.label, [Optional(), NumberRange(min=low, max=field.max)], places=2
        )

    def to_answer(self, data):
        return None if data is None else str(Decimal(data).quantize(Decimal("0.01")))

    def display(self, value, field, options):
        return "" if self.is_empty(value) else f"{format_decimal(Decimal(value), '#,##0.00')} €"


@register("date", label=_l("Date"))
class DateType(FieldType):
    def wtforms_field(self, field, options):
        return DateField(field.label, [Optional()])

    def to_answer(self, data):
        return data.isoformat() if data else None

    def to_form(self, value):
        return date.fromisoformat(value) if value else None

    def display(self, value, field, options):
        return "" if not value else date.fromisoformat(str(value)).strftime("%d/%m/%Y")


@register("email", label=_l("Adresse e-mail"))
class Email(Text):
    def wtforms_field(self, field, options):
        return EmailField(field.label, [Optional(), validators.EmailAddress()])


@register("phone", label=_l("Téléphone"))
class Phone(Text):
    def wtforms_field(self, field, options):
        return TelField(field.label, [Optional(), validators.Phone()])


@register("enterprise_number", label=_l("Numéro d'entreprise"))
class EnterpriseNumber(Text):
    def wtforms_field(self, field, options):
        return StringField(field.label, [Optional(), validators.enterprise_number()])

    def display(self, value, field, options):
        v = str(value or "")
        return f"{v[:4]}.{v[4:7]}.{v[7:]}" if len(v) == 10 else v


@register("national_number", label=_l("Numéro de registre national"))
class NationalNumber(Text):
    def wtforms_field(self, field, options):
        return StringField(field.label, [Optional(), validators.national_number()])

    def display(self, value, field, options):
        v = str(value or "")
        return f"{v[:2]}.{v[2:4]}.{v[4:6]}-{v[6:9]}.{v[9:]}" if len(v) == 11 else v


@register("iban", label=_l("Compte bancaire (IBAN)"))
class Iban(Text):
    def wtforms_field(self, field, options):
        return StringField(field.label, [Optional(), validators.iban_number()])

    def display(self, value, field, options):
        v = str(value or "")
        return " ".join(v[i : i + 4] for i in range(0, len(v), 4))


YES_NO = [SelectChoice("true", _l("Oui")), SelectChoice("false", _l("Non"))]


@register("yesno", label=_l("Oui / Non"))
class YesNo(FieldType):
    def wtforms_field(self, field, options):
        return RadioField(field.label, [Optional()], choices=YES_NO)

    def to_answer(self, data):
        return {"true": True, "false": False}.get(data)

    def to_form(self, value):
        return None if value is None else ("true" if value else "false")

    def display(self, value, field, options):
        return "" if value is None else str(_l("Oui") if value else _l("Non"))


@register("declaration", label=_l("Déclaration (case à cocher)"))
class Declaration(FieldType):
    def wtforms_field(self, field, options):
        return BooleanField(field.label, [Optional()])

    def to_answer(self, data):
        return True if data else None

    def display(self, value, field, options):
        return str(_l("Oui, je le déclare")) if value else ""


def label_of(value, options):
    return next((o["label"] for o in options if o["value"] == value), value)


@register("choice", label=_l("Choix unique"))
class Choice(FieldType):
    def wtforms_field(self, field, options):
        kind = SelectField if len(options) > 7 else RadioField
        return kind(
            field.label, [Optional()], choices=choices(field, options), validate_choice=True
        )

    def display(self, value, field, options):
        return "" if self.is_empty(value) else str(label_of(value, options))


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


@register("multichoice", label=_l("Choix multiple"))
class MultiChoice(FieldType):
    def wtforms_field(self, field, options):
        return CheckboxesField(field.label, [Optional()], choices=choices(field, options))

    def to_answer(self, data):
        return list(data or []) or None

    def to_form(self, value):
        return list(value or [])

    def display(self, value, field, options):
        return "\n".join(str(label_of(v, options)) for v in value or [])


class AddressForm(Form):
    street = StringField(_l("Rue"), [Optional(), Length(max=200)])
    number = StringField(_l("Numéro"), [Optional(), Length(max=20)])
    box = StringField(_l("Boîte"), [Optional(), Length(max=20)])
    postcode = StringField(_l("Code postal"), [Optional(), Length(max=20)])
    municipality = StringField(_l("Commune"), [Optional(), Length(max=120)])
    country = StringField(_l("Pays"), [Optional(), Length(max=80)], default="Belgique")


ADDRESS_PARTS = ("street", "number", "box", "postcode", "municipality", "country")


@register("address", label=_l("Adresse"))
class Address(FieldType):
    def wtforms_field(self, field, options):
        return FormField(AddressForm, label=field.label)

    def to_answer(self, data):
        cleaned = {k: (data or {}).get(k, "").strip() for k in ADDRESS_PARTS}
        return cleaned if any(cleaned[k] for k in ADDRESS_PARTS[:-1]) else None

    def to_form(self, value):
        return value or {}

    def is_empty(self, value):
        return not value or not (value.get("street") and value.get("municipality"))

    def display(self, value, field, options):
        if not value:
            return ""
        return format_address(**{k: value.get(k) for k in ADDRESS_PARTS})


@register("display", label=_l("Affichage (lecture seule)"))
class Display(FieldType):
    """A read-only value (normally pre-filled from an authentic source)."""

    has_input = False

    def wtforms_field(self, field, options):
        return None

    def display(self, value, field, options):
        if isinstance(value, bool):
            return str(_l("Oui") if value else _l("Non"))
        if isinstance(value, list):
            return "\n".join(
                str(v.get("label", v)) if isinstance(v, dict) else str(v) for v in value
            )
        return "" if value is None else str(value)


@register("group", label=_l("Bloc répétable"))
class Group(FieldType):
    """A repeatable block; its rows are built by the engine from the sub-fields."""

    def wtforms_field(self, field, options):
        return None

    def is_empty(self, value):
        return not value
