"""What a page shows, read the way a browser reads it: elements with their attributes, not substrings of the HTML.

    page = parse(response)
    assert page.one("input", name="auto_apply").has("checked")
    assert page.one(id="select-7").has("checked")
    row = page.row(id="credits", containing="Amy Parent")  # {column heading: cell text} of a table's row

A substring check passes when the word appears anywhere (a "checked" in another box, the logged-in user's
name in the page header); these fail unless the very element says it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements that never have content or an end tag.
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# An open element of the same kind that a new start tag closes (the end tags HTML lets a page leave out).
CLOSED_BY = {
    "li": {"li"},
    "option": {"option"},
    "p": {"p"},
    "tr": {"tr", "td", "th"},
    "td": {"td", "th"},
    "th": {"td", "th"},
    "dt": {"dt", "dd"},
    "dd": {"dt", "dd"},
}


class Element:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Element | None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Element | str] = []

    def __repr__(self) -> str:
        attrs = "".join(f" {name}" if value is None else f' {name}="{value}"' for name, value in self.attrs.items())
        return f"<{self.tag}{attrs}> {self.text[:80]!r}"

    def has(self, attribute: str) -> bool:
        """The attribute is there (`checked`, `selected`, `disabled` are there or not, whatever their value)."""
        return attribute in self.attrs

    def __getitem__(self, attribute: str) -> str | None:
        return self.attrs[attribute]

    @property
    def text(self) -> str:
        """What a person reads: the text inside, entities decoded, runs of white space as one space."""
        parts: list[str] = []

        def collect(element: Element) -> None:
            for child in element.children:
                if isinstance(child, str):
                    parts.append(child)
                elif child.tag == "br":
                    parts.append(" ")
                elif child.tag not in {"script", "style", "template"}:
                    collect(child)

        collect(self)
        return re.sub(r"\s+", " ", "".join(parts)).strip()

    def iter(self):
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.iter()

    def find_all(
        self, tag: str | None = None, /, *, containing: str | None = None, **attrs: str | bool
    ) -> list[Element]:
        """Every element inside with this tag (any, if None) and these attributes.

        An attribute name is written as a keyword: `aria_current` for aria-current, `for_` for for, `class_`
        for class (which matches one of the element's classes). True means "is there", False "is not".
        `containing` keeps the elements whose text contains it.
        """
        wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
        return [
            element
            for element in self.iter()
            if (tag is None or element.tag == tag)
            and all(_matches(element, name, value) for name, value in wanted.items())
            and (containing is None or containing in element.text)
        ]

    def one(self, tag: str | None = None, /, **attrs) -> Element:
        """The one element that matches (see find_all); fails when there is none, or more than one."""
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag or '*'} {attrs}>, found {len(found)}: {found[:5]}"
        return found[0]

    def rows(self) -> list[dict[str, str]]:
        """The body rows of this table (or of every table inside this element), each as {column heading: cell text}."""
        if self.tag != "table":
            return [row for table in self.find_all("table") for row in table.rows()]
        head = _head_rows(self)
        headings = [cell.text for row in head for cell in _cells(row)]
        return [
            dict(zip(headings, [cell.text for cell in _cells(row)], strict=False))
            for row in self.find_all("tr")
            if row not in head
        ]

    def row(self, *, containing: str, **attrs) -> dict[str, str]:
        """The one body row containing this text, of the table found by `attrs` (or of this table)."""
        table = self.one(**attrs) if attrs else self
        found = [row for row in table.rows() if any(containing in cell for cell in row.values())]
        assert len(found) == 1, f"expected one row containing {containing!r}, found {len(found)}: {table.rows()}"
        return found[0]


def _matches(element: Element, name: str, value: str | bool) -> bool:
    if value is True:
        return name in element.attrs
    if value is False:
        return name not in element.attrs
    if name == "class":
        return value in (element.attrs.get("class") or "").split()
    return element.attrs.get(name) == str(value)


def _head_rows(table: Element) -> list[Element]:
    return [row for head in table.find_all("thead") for row in head.find_all("tr")]


def _cells(row: Element) -> list[Element]:
    return [child for child in row.children if isinstance(child, Element) and child.tag in {"td", "th"}]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, None)
        self.open = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        while self.open.tag in CLOSED_BY.get(tag, ()) and self.open.parent is not None:
            self.open = self.open.parent
        element = Element(tag, dict(attrs), self.open)
        self.open.children.append(element)
        if tag not in VOID:
            self.open = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open.children.append(Element(tag, dict(attrs), self.open))

    def handle_endtag(self, tag: str) -> None:
        element: Element | None = self.open
        while element is not None and element.tag != tag:
            element = element.parent
        if element is not None and element.parent is not None:  # an end tag with no start tag is ignored
            self.open = element.parent

    def handle_data(self, data: str) -> None:
        self.open.children.append(data)


def parse(page) -> Element:
    """The document of a response (or of HTML text)."""
    html = page if isinstance(page, str) else page.content.decode()
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root
