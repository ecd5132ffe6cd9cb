"""One page of a list as the API answers it: the items, their pagination and the links between pages."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import HttpRequest

from connexportal.partner_api.schemas import PageLinks, Pagination


@dataclass(frozen=True)
class Page:
    items: list[Any]
    pagination: Pagination
    links: PageLinks


def page_of(request: HttpRequest, queryset: QuerySet, *, page: int, page_size: int) -> Page:
    total = queryset.count()
    total_pages = max(1, math.ceil(total / page_size))
    start = (page - 1) * page_size
    # Past the last page there is nothing to fetch (and a huge page would overflow the database's OFFSET).
    items = list(queryset[start : start + page_size]) if page <= total_pages else []

    def link(number: int) -> str:
        return request.build_absolute_uri(f"{request.path}?{urlencode({'page': number, 'page_size': page_size})}")

    return Page(
        items=items,
        pagination=Pagination(page=page, page_size=page_size, total_items=total, total_pages=total_pages),
        links=PageLinks(
            self=link(page),
            first=link(1),
            last=link(total_pages),
            prev=link(min(page - 1, total_pages)) if page > 1 else None,
            next=link(page + 1) if page < total_pages else None,
        ),
    )
