"""The sandbox's imaginary merchandise and shoppers, shared by the seed and the simulated channels.

Everything is a pure function of its arguments, so the seed and every download produce
the same data on every machine (``random.Random`` seeded with a string is stable across
processes and Python versions).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

SKU_PREFIXES = {1: "AMZ", 2: "SHP", 3: "EBY", 4: "QBO", 5: "WOO", 6: "BGC", 7: "ETS", 8: "WMT", 99: "CUS"}

# Channel orders reference this many catalogue items per connection; seeds with fewer
# products leave some of those SKUs unknown to Connex, as in real life.
CHANNEL_CATALOG_SIZE = 60

# productType is an undocumented integer (the spec only shows 0); the seed spreads 0..2.
PRODUCT_TYPE_WEIGHTS = ((0, 70), (1, 20), (2, 10))

_ADJECTIVES = (
    "Classic", "Organic", "Vintage", "Premium", "Everyday", "Compact", "Deluxe", "Rugged", "Slim",
    "Eco", "Pro", "Essential", "Heritage", "Urban", "Coastal", "Alpine", "Studio", "Travel",
)  # fmt: skip
_ITEMS = (
    ("T-Shirt", "Apparel"), ("Hoodie", "Apparel"), ("Canvas Tote", "Bags"), ("Water Bottle", "Kitchen"),
    ("Coffee Mug", "Kitchen"), ("Phone Case", "Electronics"), ("USB-C Cable", "Electronics"),
    ("Desk Lamp", "Home"), ("Throw Pillow", "Home"), ("Notebook", "Stationery"), ("Gel Pen Set", "Stationery"),
    ("Yoga Mat", "Fitness"), ("Resistance Band", "Fitness"), ("Candle", "Home"), ("Backpack", "Bags"),
    ("Beanie", "Apparel"), ("Sunglasses", "Accessories"), ("Wallet", "Accessories"), ("Dog Leash", "Pets"),
    ("Plant Pot", "Garden"), ("Cutting Board", "Kitchen"), ("Headphones", "Electronics"),
)  # fmt: skip
_VARIANTS = ("Black", "White", "Navy", "Red", "Green", "S", "M", "L", "XL", "Large", "Small", "Two-Pack")

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas", "Mia",
    "Mason", "Amelia", "Ethan", "Harper", "Logan", "Evelyn", "Aiden", "Abigail", "Jackson", "Priya",
    "Wei", "Fatima", "Mateo", "Yuki", "Kwame", "Ingrid", "Diego", "Aisha", "Tomasz",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
    "Martin", "Lee", "Nguyen", "Patel", "Kim", "Okafor", "Kowalski", "Schmidt", "Rossi", "Tanaka",
)  # fmt: skip
REGIONS = (("MA", "US"), ("NY", "US"), ("CA", "US"), ("TX", "US"), ("WA", "US"), ("ON", "CA"), ("IL", "US"))
SHIPPING_METHODS = ("UPS", "USPS Priority", "FedEx Ground", "Standard")
PAYMENT_METHODS = ("Credit Card", "PayPal", "Gift Card")

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class CatalogItem:
    sku: str
    name: str
    category: str
    sales_price: Decimal
    unit_cost: Decimal
    product_type: int


def sku(prefix: str, index: int) -> str:
    return f"{prefix}-{index:06d}"


def item(prefix: str, index: int) -> CatalogItem:
    """Catalogue item ``index`` of the connection whose SKUs start with ``prefix``."""
    rng = random.Random(f"item:{prefix}:{index}")
    noun, category = rng.choice(_ITEMS)
    name = f"{rng.choice(_ADJECTIVES)} {noun} - {rng.choice(_VARIANTS)}"
    price = Decimal(rng.randrange(399, 12999)) / 100
    cost = (price * Decimal(rng.uniform(0.3, 0.65))).quantize(CENT)
    product_type = rng.choices([t for t, _ in PRODUCT_TYPE_WEIGHTS], [w for _, w in PRODUCT_TYPE_WEIGHTS])[0]
    return CatalogItem(sku(prefix, index), name, category, price, cost, product_type)


def customer_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
