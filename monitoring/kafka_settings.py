"""Kafka client settings (librdkafka keys) from the environment and the config.

The same settings reach any Kafka-protocol cluster: Apache Kafka, Amazon MSK, Confluent Cloud,
Azure Event Hubs' Kafka endpoint, or the local test broker. Secrets come from the environment
only (never from the YAML, which is committed):

| variable | librdkafka key |
|---|---|
| ``MLOPS_KAFKA_BOOTSTRAP_SERVERS`` (wins over ``monitoring.stream.bootstrap_servers``) | ``bootstrap.servers`` |
| ``MLOPS_KAFKA_SECURITY_PROTOCOL`` (``PLAINTEXT``, ``SSL``, ``SASL_PLAINTEXT``, ``SASL_SSL``) | ``security.protocol`` |
| ``MLOPS_KAFKA_SASL_MECHANISM`` (``PLAIN``, ``SCRAM-SHA-256``, ``SCRAM-SHA-512``) | ``sasl.mechanism`` |
| ``MLOPS_KAFKA_SASL_USERNAME`` / ``MLOPS_KAFKA_SASL_PASSWORD`` | ``sasl.username`` / ``sasl.password`` |
| ``MLOPS_KAFKA_SSL_CA_LOCATION`` | ``ssl.ca.location`` |
| ``MLOPS_KAFKA_CLIENT_CONFIG`` (a JSON object of any other librdkafka keys) | as given |

Standard library only.
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping

_ENV_KEYS = {
    "MLOPS_KAFKA_SECURITY_PROTOCOL": "security.protocol",
    "MLOPS_KAFKA_SASL_MECHANISM": "sasl.mechanism",
    "MLOPS_KAFKA_SASL_USERNAME": "sasl.username",
    "MLOPS_KAFKA_SASL_PASSWORD": "sasl.password",
    "MLOPS_KAFKA_SSL_CA_LOCATION": "ssl.ca.location",
}


class KafkaSettingsError(ValueError):
    """The Kafka settings are incomplete or malformed (a usage error: exit 2)."""


def client_config(bootstrap_servers: str | None = None, environ: Mapping[str, str] | None = None,
                  **overrides: Any) -> dict[str, Any]:
    """librdkafka settings: bootstrap servers and security from ``environ``, then ``overrides``.

    Args:
        bootstrap_servers: From the config or a flag; ``MLOPS_KAFKA_BOOTSTRAP_SERVERS`` wins.
        environ: The environment (``os.environ`` by default).
        **overrides: librdkafka keys with ``_`` for ``.`` (``session_timeout_ms=6000``).

    Raises:
        KafkaSettingsError: No bootstrap servers anywhere, or ``MLOPS_KAFKA_CLIENT_CONFIG`` is
            not a JSON object.
    """
    env = os.environ if environ is None else environ
    servers = env.get("MLOPS_KAFKA_BOOTSTRAP_SERVERS") or bootstrap_servers
    if not servers:
        raise KafkaSettingsError(
            "no Kafka bootstrap servers: set MLOPS_KAFKA_BOOTSTRAP_SERVERS (host:port[,host:port]), "
            "monitoring.stream.bootstrap_servers in the config, or --bootstrap-servers")
    conf: dict[str, Any] = {"bootstrap.servers": servers}
    for var, key in _ENV_KEYS.items():
        if env.get(var):
            conf[key] = env[var]
    extra = env.get("MLOPS_KAFKA_CLIENT_CONFIG")
    if extra:
        try:
            parsed = json.loads(extra)
        except ValueError as exc:
            raise KafkaSettingsError(f"MLOPS_KAFKA_CLIENT_CONFIG is not JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise KafkaSettingsError("MLOPS_KAFKA_CLIENT_CONFIG must be a JSON object of librdkafka settings")
        conf.update(parsed)
    conf.update({k.replace("_", "."): v for k, v in overrides.items() if v is not None})
    return conf


def redacted(conf: Mapping[str, Any]) -> dict[str, Any]:
    """``conf`` with secrets masked, for log lines and error messages."""
    return {k: ("***" if "password" in k or "secret" in k else v) for k, v in conf.items()}
