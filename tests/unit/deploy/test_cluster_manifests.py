"""deploy/cluster (issue 15 item 5): the compose file and the Kubernetes manifests parse, name
only settings that exist, pin their images, and describe the same cluster: 3 Kafka brokers,
3 ClickHouse Keeper nodes, ClickHouse 2 shards x 2 replicas (internal replication on), the
cluster name the migrations are rendered for, and every OpenEMC process kind."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[3] / "deploy" / "cluster"
SETTINGS = {f"EMC_{name.upper()}" for name in Settings.model_fields}
_IMAGE = re.compile(r"^[\w./-]+:(?:\$\{\w+:-)?v?\d+(?:\.\d+)+\}?(?:-[a-z]+)?$")


def _docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def _compose() -> dict[str, Any]:
    docs = _docs(ROOT / "compose.yaml")
    assert len(docs) == 1
    return docs[0]


def _k8s() -> list[dict[str, Any]]:
    return [doc for path in sorted((ROOT / "k8s").glob("*.yaml")) for doc in _docs(path)]


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    template = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get("template")
    return list(template["spec"]["containers"]) if template else []


def _cluster_layout(xml_text: str) -> tuple[str, list[list[str]], list[str], bool]:
    root = ET.fromstring(xml_text)
    servers = root.find("remote_servers")
    assert servers is not None
    (cluster,) = list(servers)
    shards = [[r.findtext("host", "") for r in s.findall("replica")] for s in cluster]
    internal = all(s.findtext("internal_replication") == "true" for s in cluster)
    keepers = [n.findtext("host", "") for n in root.iter("node")]
    return cluster.tag, shards, keepers, internal


def test_every_file_parses() -> None:
    files = sorted(ROOT.rglob("*.yaml")) + sorted(ROOT.rglob("*.yml"))
    assert len(files) >= 7
    for path in files:
        assert _docs(path), path
    for path in sorted(ROOT.rglob("*.xml")):
        ET.parse(path)


def test_kubernetes_objects_are_complete() -> None:
    for doc in _k8s():
        assert {"apiVersion", "kind", "metadata"} <= set(doc), doc
        assert doc["metadata"]["name"]
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "openemc", doc["metadata"]


def test_only_existing_settings_are_passed_to_openemc() -> None:
    """Every EMC_ variable handed to an OpenEMC process is a field of core/settings.py."""
    passed: set[str] = set()
    for service in _compose()["services"].values():
        if str(service.get("image", "")).startswith("openemc:"):
            passed |= {k for k in service["environment"] if k.startswith("EMC_")}
    for doc in _k8s():
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "emc-env":
            passed |= set(doc["data"])
        for container in _containers(doc):
            passed |= {e["name"] for e in container.get("env", []) if e["name"].startswith("EMC_")}
    assert passed, "no EMC_ variable found"
    assert passed - SETTINGS == set()
    assert {"EMC_CLICKHOUSE_CLUSTER", "EMC_CLICKHOUSE_URL", "EMC_KAFKA_BOOTSTRAP"} <= passed


def test_images_name_their_versions() -> None:
    images = [str(s["image"]) for s in _compose()["services"].values()]
    images += [c["image"] for doc in _k8s() for c in _containers(doc)]
    assert len(images) > 15
    for image in images:
        assert _IMAGE.match(image), f"{image}: name a version (no latest)"


def test_compose_runs_every_piece_and_its_config_files_exist() -> None:
    services = _compose()["services"]
    for name in (
        *(f"kafka-{i}" for i in (1, 2, 3)),
        *(f"keeper-{i}" for i in (1, 2, 3)),
        *(f"clickhouse-s{s}r{r}" for s in (1, 2) for r in (1, 2)),
        "collector", "streams", "sink", "api", "prometheus", "migrate", "topics",
    ):  # fmt: skip
        assert name in services, name
    assert [services[n]["command"] for n in ("collector", "streams", "sink", "api")] == [
        ["collector"], ["streams"], ["sink"], ["api"],
    ]  # fmt: skip
    for service in services.values():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("./") or source.startswith("../"):
                assert (ROOT / source).exists(), source
    for s in (1, 2):
        for r in (1, 2):
            env = services[f"clickhouse-s{s}r{r}"]["environment"]
            assert (env["CH_SHARD"], env["CH_REPLICA"]) == (f"0{s}", f"clickhouse-s{s}r{r}")


@pytest.mark.parametrize("where", ["compose", "k8s"])
def test_two_shards_of_two_replicas_three_keepers_and_the_migrations_cluster_name(
    where: str,
) -> None:
    if where == "compose":
        xml_text = (ROOT / "clickhouse" / "cluster.xml").read_text()
        env = _compose()["services"]["migrate"]["environment"]
        replica_hosts = set(_compose()["services"])
    else:
        (config,) = [d for d in _k8s() if d["metadata"]["name"] == "clickhouse-config"]
        xml_text = config["data"]["emc-cluster.xml"]
        (env,) = [d["data"] for d in _k8s() if d["metadata"]["name"] == "emc-env"]
        sets = {d["metadata"]["name"]: d for d in _k8s() if d["kind"] == "StatefulSet"}
        replica_hosts = {
            f"{name}-{i}.{name}" for name, d in sets.items() for i in range(d["spec"]["replicas"])
        }
        assert {n: d["spec"]["replicas"] for n, d in sets.items()} == {
            "kafka": 3, "keeper": 3, "clickhouse-s1": 2, "clickhouse-s2": 2,
        }  # fmt: skip
    name, shards, keepers, internal = _cluster_layout(xml_text)
    assert name == env["EMC_CLICKHOUSE_CLUSTER"] == "emc"
    assert [len(s) for s in shards] == [2, 2]
    assert internal, "internal_replication must be true with Replicated* tables"
    assert len(keepers) == 3
    assert {h for s in shards for h in s} | set(keepers) <= replica_hosts


def test_kubernetes_runs_every_openemc_process_kind() -> None:
    deployments = {
        d["metadata"]["name"]: _containers(d)[0]["args"]
        for d in _k8s()
        if d["kind"] == "Deployment"
    }
    for kind in ("collector", "streams", "sink", "api"):
        assert deployments[kind] == [kind]
    assert "prometheus" in deployments
    jobs = {d["metadata"]["name"]: _containers(d)[0]["args"] for d in _k8s() if d["kind"] == "Job"}
    assert jobs == {"emc-topics": ["topics"], "emc-migrate": ["migrate"]}
