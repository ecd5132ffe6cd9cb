from connexportal.accounts.branding import DEFAULT_BRAND


def branding(request):
    return {"brand": getattr(request, "brand", DEFAULT_BRAND)}
