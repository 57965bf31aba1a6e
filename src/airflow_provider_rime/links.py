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


class RimeStressTestLink(BaseOperatorLink):
    """Opens the stress test run's page in RIME (the URL the operator pushed to XCom)."""

    name = "RIME Stress Test"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey, **kwargs: Any) -> str:
        """The test run URL of this task instance, or ``""`` before the test has started."""
        url = XCom.get_value(key=XCOM_TEST_RUN_URL, ti_key=ti_key)
        return str(url) if url else ""


#: XCom keys the firewall operators push before they wait.
XCOM_FIREWALL_ID = "firewall_id"
XCOM_FIREWALL_URL = "firewall_url"


class RimeFirewallLink(BaseOperatorLink):
    """Opens the project's firewall page in RIME (the URL the firewall operators pushed to XCom)."""

    name = "RIME Firewall"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey, **kwargs: Any) -> str:
        """The firewall page of this task instance, or ``""`` before the operator has found it."""
        url = XCom.get_value(key=XCOM_FIREWALL_URL, ti_key=ti_key)
        return str(url) if url else ""
