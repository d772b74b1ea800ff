"""The Helm values work with the official Weaviate chart (vendored at the version named in
deploy/helm/vendor/weaviate/Chart.yaml and rendered by Helm's own engine), and one Weaviate release
is named everywhere."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.support.deploy import (
    CHART,
    HELM_VALUES,
    KUSTOMIZE,
    REPO,
    chart_metadata,
    find,
    helm_template,
    kustomize,
    schema_errors,
)


def _key_paths(tree: dict[str, Any], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    paths = set()
    for key, value in tree.items():
        paths.add((*prefix, key))
        if isinstance(value, dict) and value:
            paths |= _key_paths(value, (*prefix, key))
    return paths


@pytest.mark.parametrize("variant", sorted(HELM_VALUES))
def test_every_key_is_one_the_chart_defines(variant: str) -> None:
    # Helm ignores an unknown key silently, so a typo would deploy the stock module instead.
    chart_values = yaml.safe_load((CHART / "values.yaml").read_text())
    ours = yaml.safe_load(HELM_VALUES[variant].read_text())
    known = _key_paths(chart_values)
    free_form = {("modules", "multi2vec-clip", k) for k in ("resources", "securityContext")}
    # Weaviate's own env vars and the pod's resources are free-form maps in the chart.
    free_form |= {("env",), ("resources",)}
    unknown = {p for p in _key_paths(ours) if p not in known and not any(p[: len(f)] == f for f in free_form)}
    assert unknown == set()


@pytest.mark.parametrize("variant", sorted(HELM_VALUES))
def test_the_chart_renders_valid_objects(variant: str) -> None:
    manifests = helm_template(HELM_VALUES[variant])
    errors = {f"{d['kind']}/{d['metadata']['name']}": schema_errors(d) for d in manifests}
    assert not {k: v for k, v in errors.items() if v}


def test_the_module_variant_swaps_in_our_image() -> None:
    manifests = helm_template(HELM_VALUES["module"])
    values = yaml.safe_load(HELM_VALUES["module"].read_text())["modules"]["multi2vec-clip"]
    container = find(manifests, "Deployment", "clip-inference")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"{values['registry']}/{values['repo']}:{values['tag']}"
    weaviate = find(manifests, "StatefulSet", "weaviate")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in weaviate["env"]}
    assert env["CLIP_INFERENCE_API"] == "http://clip-inference.weaviate.svc.cluster.local.:8080"
    assert "multi2vec-clip" in env["ENABLE_MODULES"].split(",")


def test_the_external_variant_points_weaviate_at_the_kustomize_service() -> None:
    manifests = helm_template(HELM_VALUES["external"])
    assert not [d for d in manifests if d["metadata"]["name"] == "clip-inference"]
    weaviate = find(manifests, "StatefulSet", "weaviate")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in weaviate["env"]}
    assert "multi2vec-clip" in env["ENABLE_MODULES"].split(",")
    ours = kustomize(KUSTOMIZE / "overlays" / "cpu")
    service = find(ours, "Service", "grounded-vectorizer")
    http = next(p["port"] for p in service["spec"]["ports"] if p["name"] == "http")
    assert env["CLIP_INFERENCE_API"] == (
        f"http://grounded-vectorizer.{service['metadata']['namespace']}.svc.cluster.local:{http}"
    )
    # The NetworkPolicy admits the pods this chart renders, from the namespace it is installed in.
    pods = find(manifests, "StatefulSet", "weaviate")["spec"]["template"]["metadata"]["labels"]
    policy = find(ours, "NetworkPolicy", "grounded-vectorizer")["spec"]["ingress"][0]["from"][0]
    assert policy["podSelector"]["matchLabels"].items() <= pods.items()


def test_one_weaviate_release_everywhere() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    compose_tag = compose["services"]["weaviate"]["image"].rsplit(":", 1)[1]
    helm_tags = {yaml.safe_load(p.read_text())["image"]["tag"] for p in HELM_VALUES.values()}
    assert helm_tags == {compose_tag}
    assert chart_metadata()["appVersion"] == compose_tag, "the chart vendored is the one that defaults to it"
    pyproject = (REPO / "pyproject.toml").read_text()
    assert re.search(rf"weaviate-client[^\n]*# .*Weaviate {re.escape(compose_tag)}\b", pyproject)


def test_the_cluster_variant_runs_three_nodes_with_async_indexing() -> None:
    manifests = helm_template(HELM_VALUES["cluster"])
    statefulset = find(manifests, "StatefulSet", "weaviate")
    assert statefulset["spec"]["replicas"] == 3  # replication factor 3 needs 3 nodes
    env = {e["name"]: e.get("value") for e in statefulset["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["ASYNC_INDEXING"] == "true"  # a dynamic index needs it
    assert env["RAFT_BOOTSTRAP_EXPECT"] == "3"
