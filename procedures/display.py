"""Answers as people read them: the one way an address is written."""


def format_address(
    street=None, number=None, box=None, postcode=None, municipality=None, country=None
):
    """« Rue de Fer 1 bte 2, 5000 Namur, Belgique »: the parts that are given, whichever source
    they come from (an address answer, the register's record)."""
    line = " ".join(p for p in (street, number) if p)
    if box:
        line = f"{line} bte {box}" if line else f"bte {box}"
    place = " ".join(p for p in (postcode, municipality) if p)
    return ", ".join(p for p in (line, place, country) if p)
