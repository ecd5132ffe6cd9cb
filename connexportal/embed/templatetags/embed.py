from django import template
from django.template.loader import render_to_string
from django.urls import reverse

from connexportal.embed.views import TICKET_PARAM

register = template.Library()


@register.simple_tag(takes_context=True)
def embed_frame(context) -> str:
    """On embedded pages: what the frame script needs (see static/js/embed-frame.js), and the script.

    A refusal that names no partner (an unknown token, a page reopened without its session) still
    tells the host page what happened: it holds no data, so the host may be any page (no origins).
    """
    request = context.get("request")
    partner = getattr(request, "embed_partner", None)
    event = context.get("embed_event")
    if partner is None and event is None:
        return ""  # not embedded: most pages, so no template is rendered for nothing
    frame = {
        "config": {
            "origins": partner.origins if partner is not None else [],
            "token": getattr(request, "embed_token", None),
            "event": event,
            "tickets": reverse("embed:navigation-ticket"),
            "ticket_param": TICKET_PARAM,
        },
        "csp_nonce": context.get("csp_nonce"),
    }
    return render_to_string("embed/_frame.html", frame)
