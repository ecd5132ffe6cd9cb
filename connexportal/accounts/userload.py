"""The logged-in user of a request, with its merchant, the merchant's partner and Connex account,
and its own partner, in one prepared query.

Every page needs these five rows (``PortalBackend.get_user``, then ``MerchantMiddleware``). The
ORM's ``select_related`` over four joins gives the same objects, but compiles the same SQL again
on every request, which cost more CPU than the rest of the middleware together (about 1.5 ms a
page, measured by ``bench/bench_portal.py``). Here the statement is written once per database
from the models' own metadata, and each row goes through Django's own value converters and
``Model.from_db``, so the objects are the ones the ORM would build (``tests/accounts/
test_userload.py`` compares them field by field). A partner's logo (a blob) is left deferred: no
page but the logo's own reads it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connections, router

from connexportal.accounts.models import ConnexAccount, Merchant, Partner

# Columns a page never reads: loaded only when something asks for them (deferred, as .only() would).
_DEFERRED = {Partner: frozenset({"logo"})}


@dataclass(frozen=True)
class _Part:
    model: type
    alias: str
    attnames: tuple[str, ...]
    converters: tuple[tuple, ...]  # per column: the converters the ORM would apply
    start: int

    @property
    def stop(self) -> int:
        return self.start + len(self.attnames)

    def build(self, db: str, row, connection):
        values = list(row[self.start : self.stop])
        if values[0] is None:  # the primary key comes first: no row joined
            return None
        for index, (converters, expression) in enumerate(self.converters):
            for converter in converters:
                values[index] = converter(values[index], expression, connection)
        return self.model.from_db(db, self.attnames, values)


@dataclass(frozen=True)
class _Statement:
    sql: str
    user: _Part
    merchant: _Part
    merchant_partner: _Part
    account: _Part
    partner: _Part


def _part(model, alias: str, connection, start: int) -> tuple[_Part, list[str]]:
    quote = connection.ops.quote_name
    deferred = _DEFERRED.get(model, frozenset())
    fields = [model._meta.pk] + [
        field for field in model._meta.concrete_fields if field is not model._meta.pk and field.name not in deferred
    ]
    converters = []
    for field in fields:
        expression = field.get_col(alias)
        converters.append(
            (tuple(connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)), expression)
        )
    columns = [f"{quote(alias)}.{quote(field.column)}" for field in fields]
    return _Part(model, alias, tuple(field.attname for field in fields), tuple(converters), start), columns


@functools.cache
def _statement(alias: str) -> _Statement:
    connection = connections[alias]
    quote = connection.ops.quote_name
    user_model = get_user_model()
    parts, columns = {}, []
    for name, model, table_alias in (
        ("user", user_model, "u"),
        ("merchant", Merchant, "m"),
        ("merchant_partner", Partner, "mp"),
        ("account", ConnexAccount, "a"),
        ("partner", Partner, "p"),
    ):
        parts[name], more = _part(model, table_alias, connection, len(columns))
        columns += more

    def table(model) -> str:
        return quote(model._meta.db_table)

    def column(model, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    pk = quote(Merchant._meta.pk.column)
    # Only table and column names from the models, quoted by the backend; the user id is a parameter.
    sql = " ".join(
        (
            f"SELECT {', '.join(columns)} FROM {table(user_model)} {quote('u')}",  # noqa: S608 - names only
            f"LEFT OUTER JOIN {table(Merchant)} {quote('m')}",
            f"ON {quote('m')}.{pk} = {quote('u')}.{column(user_model, 'merchant')}",
            f"LEFT OUTER JOIN {table(Partner)} {quote('mp')}",
            f"ON {quote('mp')}.{quote(Partner._meta.pk.column)} = {quote('m')}.{column(Merchant, 'partner')}",
            f"LEFT OUTER JOIN {table(ConnexAccount)} {quote('a')}",
            f"ON {quote('a')}.{column(ConnexAccount, 'merchant')} = {quote('m')}.{pk}",
            f"LEFT OUTER JOIN {table(Partner)} {quote('p')}",
            f"ON {quote('p')}.{quote(Partner._meta.pk.column)} = {quote('u')}.{column(user_model, 'partner')}",
            f"WHERE {quote('u')}.{quote(user_model._meta.pk.column)} = %s",
        )
    )
    return _Statement(sql=sql, **parts)


def load_user(user_id):
    """The user with ``user_id`` and its related rows attached (``None`` if there is none), as
    ``select_related("merchant__partner", "merchant__connex_account", "partner")`` would give."""
    user_model = get_user_model()
    try:
        user_id = user_model._meta.pk.to_python(user_id)
    except ValidationError:  # a session holding a malformed id is no user, as in ModelBackend
        return None
    db = router.db_for_read(user_model)
    statement = _statement(db)
    connection = connections[db]
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, [user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    user = statement.user.build(db, row, connection)
    merchant = statement.merchant.build(db, row, connection)
    # Attached as select_related attaches them: into each field's cache, None included (no query later).
    if merchant is not None:
        _cache(merchant, "partner", statement.merchant_partner.build(db, row, connection))
        account = statement.account.build(db, row, connection)
        _cache(merchant, "connex_account", account)
        if account is not None:
            _cache(account, "merchant", merchant)
    _cache(user, "merchant", merchant)
    _cache(user, "partner", statement.partner.build(db, row, connection))
    return user


def _cache(instance, name: str, value) -> None:
    instance._meta.get_field(name).set_cached_value(instance, value)
