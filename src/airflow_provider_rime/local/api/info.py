"""Server info and licence: what rime-sdk's ``Client`` reads at start-up (rime-api.md §3)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter

from airflow_provider_rime.local.api.wire import now, ts
from airflow_provider_rime.local.settings import ENGINE_VERSION, RIME_COMPAT_VERSION

router = APIRouter()
CUSTOMER_NAME = "local"
_STARTED = now()


@router.get("/v1/rime-info")
def rime_info() -> dict[str, Any]:
    far = now() + timedelta(days=3650)
    return {
        "clusterInfoVersion": RIME_COMPAT_VERSION,
        "customerName": CUSTOMER_NAME,
        "expirationTime": ts(far),
        "gracePeriodEndTime": ts(far),
        "riPlan": "RI_PLAN_LOCAL_TRIAL",
        "buildVersion": f"rime-local {ENGINE_VERSION}",
    }


@router.get("/v1/feature-flags/{customer_name}/limits/{limit}")
def limit_status(customer_name: str, limit: str) -> dict[str, Any]:
    return {
        "limitStatus": {"limit": limit, "limitStatus": "STATUS_OK", "limitValue": "0", "currentValue": "0"}
    }
