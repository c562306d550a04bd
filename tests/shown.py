"""What a reader sees of a Markdown text the app sends: values from links, uploads and file names are
escaped (`ui.i18n.literal`), and AppTest reports the text as sent."""

import re

ESCAPE = re.compile(r"\\(.)")


def shown(markdown: str) -> str:
    """The text with its backslash escapes read and its invisible word joiners dropped."""
    return ESCAPE.sub(r"\1", markdown).replace("\u2060", "")
