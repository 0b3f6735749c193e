"""What a browser would make of a page the grader wrote: for tests that a file's markup is shown as text, never run."""
from html.parser import HTMLParser


class PageParts(HTMLParser):
    """Fed a page: `attrs` the (name, value) of every element's attributes, `scripts` the text of its scripts, `text`
    the rest of its text (what a reader sees)."""

    def __init__(self):
        super().__init__()
        self.attrs, self.scripts, self.text, self.in_script = [], [], "", False

    def handle_starttag(self, tag, attrs):
        self.attrs += attrs
        self.in_script = tag == "script"

    def handle_endtag(self, tag):
        self.in_script = False

    def handle_data(self, data):
        if self.in_script:
            self.scripts.append(data)
        else:
            self.text += data


def page_parts(html):
    """A fed PageParts of `html`."""
    page = PageParts()
    page.feed(html)
    return page
