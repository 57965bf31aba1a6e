"""Helpers of the example DAGs ``RIME_Stress_Testing`` and ``RIME_Firewall``.

Only constants live here (built on the light enums of ``airflow_provider_rime.rime_api``):
the DAG file imports this package at parse time, so pandas, scikit-learn, CatBoost and MLflow
are imported inside the helper functions, which run in tasks.
"""

from __future__ import annotations

from airflow_provider_rime.rime_api.enums import STRESS_TEST_DEFAULT_CATEGORIES, TestCategory

#: The walkthrough's DAGs, and the Airflow connection (type ``rime``) they reach RIME through.
DAG_ID = "RIME_Stress_Testing"
FIREWALL_DAG_ID = "RIME_Firewall"
RIME_CONN_ID = "rime"

#: The production database (any common-sql connection; a SQLite file in the demo) and its table.
PRODUCTION_CONN_ID = "rime_production_db"
PRODUCTION_TABLE = "fraud_production"

#: The three model types the walkthrough trains, in the order of its task indices.
MODEL_TYPES: tuple[str, ...] = (
    "catboost-classifier",
    "sgd-classifier",
    "logistic-regression-classifier",
)

#: The stress test's categories: RIME's defaults (Model and Subset Performance,
#: Transformations and Attacks, which call the uploaded model directory's ``predict_df``)
#: plus the data tests the walkthrough talks about.
STRESS_TEST_CATEGORIES: tuple[str, ...] = tuple(
    category.value
    for category in (
        *STRESS_TEST_DEFAULT_CATEGORIES,
        TestCategory.DRIFT,
        TestCategory.ABNORMAL_INPUTS,
        TestCategory.DATA_CLEANLINESS,
    )
)

LABEL_COL = "label"
PRED_COL = "pred"
TIMESTAMP_COL = "timestamp"

#: The MLflow experiment of the walkthrough, and the registered model all three model
#: types are versions of (the alias ``production`` points at the chosen one).
MLFLOW_EXPERIMENT = "airflow_demo"
REGISTERED_MODEL = "rime-fraud-detection"
PRODUCTION_ALIAS = "production"

#: The RIME project of the walkthrough.
RIME_PROJECT = "Airflow Demo"
RIME_PROJECT_DESCRIPTION = "Fraud detection models trained and stress tested by the RIME_Stress_Testing DAG"
