"""The helpers must be able to fail: a broken scan or console capture would make every page look clean."""

from playwright.sync_api import Browser

from tests.e2e.browser import ConsoleLog, axe_scan


def test_axe_scan_reports_serious_and_critical_violations_only(browser: Browser):
    page = browser.new_page()
    try:
        page.set_content(
            "<!doctype html><html><head><title>Broken</title></head><body>"
            "<p>Outside every landmark: a moderate violation, to be left out.</p>"
            '<main><h1>Broken</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><button></button></main>'
            "</body></html>"
        )
        impacts = {violation["id"]: violation["impact"] for violation in axe_scan(page)}
    finally:
        page.context.close()
    assert impacts == {"html-has-lang": "serious", "image-alt": "critical", "button-name": "critical"}


def test_console_log_catches_errors_and_csp_violations(browser: Browser):
    page = browser.new_page()
    console = ConsoleLog.attach(page)
    try:
        with page.expect_console_message(lambda message: "Content Security Policy" in message.text):
            page.set_content(
                "<!doctype html><html><head>"
                '<meta http-equiv="Content-Security-Policy" content="script-src \'none\'">'
                "</head><body><script>document.title = 'ran'</script></body></html>"
            )
        with page.expect_event("pageerror"):
            page.evaluate("setTimeout(() => { throw new TypeError('boom') })")
    finally:
        page.context.close()
    assert len(console.csp_violations) == 1
    assert console.errors == [*console.csp_violations, "TypeError: boom"]
