"""The Belgian province (or Brussels) of an address, from its postal code: the ranges bpost
gives each province. A procedure's routing rules name provinces in French (`province: Liège`),
whatever the case and accents."""

from models import fold

BRUXELLES = "Bruxelles"
# (first, last postal code, province), in order; 1000-1299 is the Brussels-Capital Region.
RANGES = (
    (1000, 1299, BRUXELLES),
    (1300, 1499, "Brabant wallon"),
    (1500, 1999, "Brabant flamand"),
    (2000, 2999, "Anvers"),
    (3000, 3499, "Brabant flamand"),
    (3500, 3999, "Limbourg"),
    (4000, 4999, "Liège"),
    (5000, 5999, "Namur"),
    (6000, 6599, "Hainaut"),
    (6600, 6999, "Luxembourg"),
    (7000, 7999, "Hainaut"),
    (8000, 8999, "Flandre occidentale"),
    (9000, 9999, "Flandre orientale"),
)
PROVINCES = tuple(dict.fromkeys(name for _first, _last, name in RANGES))
WALLONIA = frozenset(("Brabant wallon", "Hainaut", "Liège", "Luxembourg", "Namur"))
# How the register writes Belgium when it writes a country at all (its Belgian addresses
# usually have none).
BELGIUM = {"", "belgique", "belgie", "belgien", "belgium", "be"}


def province_of_postcode(postcode):
    """The province of a Belgian postal code (4 digits), or None."""
    text = str(postcode or "").strip()
    if len(text) != 4 or not text.isdigit():
        return None
    number = int(text)
    return next((name for first, last, name in RANGES if first <= number <= last), None)


def province_of_address(address):
    """The province of an address as the register keeps it (`sources.Address` as a dict), or
    None for an address abroad or without a postal code."""
    if not address or fold(address.get("country") or "") not in BELGIUM:
        return None
    return province_of_postcode(address.get("zipcode"))


def in_wallonia(address):
    """Whether an address of the register is in the Walloon Region (one of its five
    provinces)."""
    return province_of_address(address) in WALLONIA


def known_province(name):
    """The province `name` designates (any case, with or without accents), or None."""
    wanted = fold(name or "").strip()
    return next((p for p in PROVINCES if fold(p) == wanted), None)
