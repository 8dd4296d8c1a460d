"""`{% url %}` as Django's, with a link that takes no arguments reversed once per process instead of on every render.

Every page draws ~20 such links (the header, the menu, the page's own buttons) and Django reverses each one every time
(~30 µs: namespaces, converters, a regex check), ~0.6 ms a page for the same few strings. What a reversal depends on
besides the name is in the key: the current app (namespaced instances), the URLconf (a request's own, or the settings'
after a change in tests: a new resolver), the script prefix and the language.
"""

from __future__ import annotations

from django import template
from django.template.defaulttags import URLNode, url
from django.urls import NoReverseMatch, get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape
from django.utils.translation import get_language

register = template.Library()

_reversed: dict[tuple, str] = {}


class _OnceURLNode(URLNode):
    def render(self, context) -> str:
        if self.args or self.kwargs:
            return super().render(context)
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        key = (view_name, current_app, get_resolver(get_urlconf()), get_script_prefix(), get_language())
        link = _reversed.get(key)
        if link is None:
            try:
                link = _reversed[key] = reverse(view_name, current_app=current_app)
            except NoReverseMatch:
                if self.asvar is None:
                    raise
                link = ""
        if self.asvar:
            context[self.asvar] = link
            return ""
        return conditional_escape(link) if context.autoescape else link


@register.tag("url")
def url_once(parser, token) -> URLNode:
    node = url(parser, token)
    return _OnceURLNode(node.view_name, node.args, node.kwargs, node.asvar)
