from django import template

register = template.Library()


@register.inclusion_tag("embed/_frame.html", takes_context=True)
def embed_frame(context) -> dict:
    """On embedded pages: what the frame script needs (see static/js/embed-frame.js), and the script."""
    request = context.get("request")
    partner = getattr(request, "embed_partner", None)
    if partner is None:
        return {"config": None}
    return {
        "config": {
            "origins": partner.origins,
            "token": request.embed_token,
            "event": context.get("embed_event"),
        },
        "csp_nonce": context.get("csp_nonce"),
    }
