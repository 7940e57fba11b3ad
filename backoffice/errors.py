"""Error pages of the back-office: inside the back-office's own layout and menu."""

from flask import current_app


def error_page(code, title, message):
    index = current_app.extensions["admin"][0].index_view
    page = index.render("backoffice/error.html", title=title, message=message, code=code)
    return page, code
