"""Operator extra links: buttons in the Airflow UI that open RIME's web pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import BaseOperator, TaskInstanceKey

#: XCom keys the stress-test operator pushes before it waits (the firewall operator: job and project).
XCOM_JOB_ID = "job_id"
XCOM_TEST_RUN_ID = "test_run_id"
XCOM_TEST_RUN_URL = "test_run_url"
XCOM_PROJECT_ID = "project_id"


class _XComUrlLink(BaseOperatorLink):
    """A button that opens the URL an operator pushed to XCom under ``url_xcom_key``.

    Not ``xcom_key``: Airflow's ``BaseOperatorLink.xcom_key`` names the XCom in which the task
    runner stores the resolved link, and overriding it would overwrite the operator's own URL.
    """

    url_xcom_key: str

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey, **kwargs: Any) -> str:
        """The URL this task instance pushed, or ``""`` before the operator has pushed it."""
        url = XCom.get_value(key=self.url_xcom_key, ti_key=ti_key)
        return str(url) if url else ""


class RimeStressTestLink(_XComUrlLink):
    """Opens the stress test run's page in RIME (the URL the operator pushed to XCom)."""

    name = "RIME Stress Test"
    url_xcom_key = XCOM_TEST_RUN_URL


#: XCom keys the firewall operators push before they wait.
XCOM_FIREWALL_ID = "firewall_id"
XCOM_FIREWALL_URL = "firewall_url"


class RimeFirewallLink(_XComUrlLink):
    """Opens the project's firewall page in RIME (the URL the firewall operators pushed to XCom)."""

    name = "RIME Firewall"
    url_xcom_key = XCOM_FIREWALL_URL
