"""Helpers of the example DAGs ``RIME_Stress_Testing`` and ``RIME_Firewall``.

Only constants live here: the DAG file imports this package at parse time, so pandas,
scikit-learn, CatBoost and MLflow are imported inside the helper functions, which run
in tasks.
"""

from __future__ import annotations

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
STRESS_TEST_CATEGORIES: tuple[str, ...] = (
    "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE",
    "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE",
    "TEST_CATEGORY_TYPE_TRANSFORMATIONS",
    "TEST_CATEGORY_TYPE_ADVERSARIAL",
    "TEST_CATEGORY_TYPE_DRIFT",
    "TEST_CATEGORY_TYPE_ABNORMAL_INPUTS",
    "TEST_CATEGORY_TYPE_DATA_CLEANLINESS",
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
