from django.core.management.commands.runserver import Command as RunserverCommand

from connexportal.sandbox.standalone import SandboxWSGIHandler


class Command(RunserverCommand):
    help = (
        "Serve the Connex sandbox on its own, at the root of its own origin (default 127.0.0.1:8100), "
        "so the portal can use it like the real API: CONNEX_SANDBOX_URL=http://127.0.0.1:8100"
    )
    default_port = "8100"

    def get_handler(self, *args, **options):
        return SandboxWSGIHandler()

    def on_bind(self, server_port):
        super().on_bind(server_port)
        host = f"[{self.addr}]" if ":" in self.addr else self.addr
        base = f"{self.protocol}://{host}:{server_port}"
        self.stdout.write(f"Connex sandbox at {base}/ (log in: POST {base}/api/account/login)")
        self.stdout.flush()
