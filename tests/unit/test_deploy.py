"""The Kubernetes manifests (deploy/k8s) against Kubernetes' own schema, offline, and against each other.

kubernetes-validate bundles the JSON schemas of each Kubernetes release; strict mode rejects fields the schema does
not know, so a misspelt key fails here rather than on a lecturer's cluster.
"""

from __future__ import annotations

import copy
import socket
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))
KUBERNETES = "1.33"  # the version the manifests are written for (docs/deploy.md)
HEALTH = "/_stcore/health"


def documents() -> list[dict]:
    """Every YAML document of every manifest."""
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind() -> dict[str, dict]:
    return {doc["kind"]: doc for doc in documents()}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No network: the schemas must come from the package."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("kubernetes-validate tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_every_manifest_is_valid_for_the_stated_kubernetes_version():
    assert {doc["kind"] for doc in documents()} == {"Deployment", "Service", "Ingress", "HorizontalPodAutoscaler"}
    for doc in documents():
        assert kubernetes_validate.validate(doc, KUBERNETES, strict=True) == KUBERNETES, doc["kind"]


@pytest.mark.parametrize(("kind", "path", "typo"), [
    ("Deployment", ["spec", "template", "spec"], ("containers", "container")),
    ("Ingress", ["spec"], ("ingressClassName", "ingressClass")),
    ("HorizontalPodAutoscaler", ["spec"], ("maxReplicas", "maxReplica")),
])
def test_a_misspelt_key_fails_validation(kind, path, typo):
    doc = copy.deepcopy(by_kind()[kind])
    node = doc
    for key in path:
        node = node[key]
    node[typo[1]] = node.pop(typo[0])
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_probes_use_streamlits_health_endpoint_on_the_served_port():
    container = by_kind()["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    port = next(p for p in container["ports"] if p["name"] == "http")
    assert f"--server.port={port['containerPort']}" in container["command"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": HEALTH, "port": "http"}, probe


def test_service_ingress_and_autoscaler_point_at_the_deployment():
    kinds = by_kind()
    deployment, service, ingress, hpa = (kinds[k] for k in ("Deployment", "Service", "Ingress",
                                                              "HorizontalPodAutoscaler"))
    assert service["spec"]["selector"] == deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": service["metadata"]["name"], "port": {"name": service["spec"]["ports"][0]["name"]}}
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]  # HPA needs it


def test_the_ingress_pins_a_browser_to_one_pod_and_keeps_idle_websockets():
    notes = by_kind()["Ingress"]["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    assert notes[prefix + "affinity"] == "cookie"
    assert notes[prefix + "affinity-mode"] == "persistent"
    assert int(notes[prefix + "proxy-read-timeout"]) >= 3600  # a lecture; nginx's default 60 s cuts idle sockets
    assert int(notes[prefix + "proxy-send-timeout"]) >= 3600
