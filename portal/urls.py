"""Redirect targets that stay on this site."""

from urllib.parse import urlsplit


def safe_next(target):
    """`target` if it is a path of this site (no scheme, no host, no `//`), else None."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return None
    return target
