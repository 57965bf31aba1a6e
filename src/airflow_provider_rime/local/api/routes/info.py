"""Server info and licence: what rime-sdk's ``Client`` reads when it starts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from airflow_provider_rime.local import render
from airflow_provider_rime.rime_api.naming import utc_now

router = APIRouter(tags=["info"])


@router.get("/v1/rime-info")
def rime_info() -> dict[str, Any]:
    return render.rime_info(utc_now())


@router.get("/v1/feature-flags/{customer_name}/limits/{limit}")
def limit_status(customer_name: str, limit: str) -> dict[str, Any]:
    return render.limit_status(limit)
