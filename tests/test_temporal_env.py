"""The dev server the tests use is the pinned binary with tubeflow's search attributes registered."""

from __future__ import annotations

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from tubeflow.contracts import SA_CHANNEL, SA_NICHE, SA_STAGE


async def test_search_attributes_registered(temporal_env: WorkflowEnvironment) -> None:
    resp = await temporal_env.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=temporal_env.client.namespace)
    )
    for name in (SA_CHANNEL, SA_NICHE, SA_STAGE):
        assert name in resp.custom_attributes, f"{name} missing from {list(resp.custom_attributes)}"
