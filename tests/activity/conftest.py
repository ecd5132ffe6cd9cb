"""The activity tests record through the real pages and API, so they share those suites' fixtures."""

from tests.embed.conftest import api, fresh_cache, partner, partner_a  # noqa: F401
from tests.portal.conftest import merchant_client, other_client, sandbox  # noqa: F401
