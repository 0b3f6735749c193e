"""The images of a course differentiation notebook's cells: a derivation photographed or scanned and pasted into a
markdown cell (Jupyter keeps it as the cell's attachment, base64), or shown by a code cell (its output). The judge
cannot read them; the TA's review page shows them beside what the student typed, and answers that are only images
are told apart by their content (Jupyter names every pasted image `image.png`: by the markdown alone, two
students' different photos were one answer, marked once for both).

Only raster images travel (PNG, JPEG, GIF: the page shows them as `data:` URLs; SVG can carry script), checked by
their first bytes, at most MAX_IMAGES per question and MAX_IMAGE_CHARS of base64 each.
"""
import base64
import hashlib
import re

MIMES = ("image/png", "image/jpeg", "image/gif")
MAGIC = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpeg", b"GIF87a": "gif", b"GIF89a": "gif"}
MAX_IMAGES = 4                 # per question
MAX_IMAGE_CHARS = 2_000_000    # base64 characters (a 1.5 MB photo): the page holds every student's
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+=*$")


def kind(data):
    """'png', 'jpeg' or 'gif' for base64 text whose first bytes are such an image, else None."""
    if not isinstance(data, str) or not _BASE64.match(data[:64] or "-"):
        return None
    try:
        head = base64.b64decode(data[:64] + "=" * (-len(data[:64]) % 4))
    except ValueError:
        return None
    return next((name for magic, name in MAGIC.items() if head.startswith(magic)), None)


def _text(value):
    return "".join(value) if isinstance(value, list) else value if isinstance(value, str) else ""


def cell_images(cell):
    """The base64 images of one notebook cell (a dict): its attachments', then its outputs' (in order)."""
    bundles = list((cell.get("attachments") or {}).values()) if isinstance(cell.get("attachments"), dict) else []
    bundles += [output.get("data") or {} for output in cell.get("outputs") or [] if isinstance(output, dict)]
    found = []
    for bundle in bundles:
        if not isinstance(bundle, dict):
            continue
        for mime in MIMES:
            data = "".join(_text(bundle.get(mime)).split())
            if data and kind(data):
                found.append(data)
                break
    return found


def shown(images):
    """(the images the page shows, how many were left out: past MAX_IMAGES or larger than MAX_IMAGE_CHARS)."""
    small = [image for image in images if len(image) <= MAX_IMAGE_CHARS]
    return tuple(small[:MAX_IMAGES]), len(images) - len(small[:MAX_IMAGES])


def digest(images):
    """A short digest of images' content: answers that are images are equal only when their images are."""
    return hashlib.sha256("\n".join(images).encode("ascii", "replace")).hexdigest()[:16] if images else ""
