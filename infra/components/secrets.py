"""TradingSecrets: the webhook passphrases and the Alpaca keys, one Secrets Manager secret per spec."""

from __future__ import annotations

import json

from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.components.conventions import acknowledge, removal_policy
from infra.config import StageConfig
from tradepipe import resources

# Alpaca issues keys in its dashboard; deploy creates the secret with this shape and an operator puts the
# real values with `aws secretsmanager put-secret-value`. Until then api_key reads SET_ME, which the
# executor should treat as "no credentials" (BrokerFactory.for_mode -> None).
ALPACA_KEY_PLACEHOLDER = "SET_ME"  # noqa: S105 - a marker for "not configured yet", not a credential

ROTATION_REASON = {
    resources.WEBHOOK_SECRET.logical_id: (
        "The passphrase is pasted into TradingView alert messages, which no API can update; it is rotated "
        "by adding a new named passphrase, updating the alerts, then removing the old name."
    ),
    resources.ALPACA_PAPER_SECRET.logical_id: (
        "Alpaca API keys are issued and revoked in the Alpaca dashboard only; there is no API a rotation "
        "Lambda could call."
    ),
    resources.ALPACA_LIVE_SECRET.logical_id: (
        "Alpaca API keys are issued and revoked in the Alpaca dashboard only; there is no API a rotation "
        "Lambda could call."
    ),
}


class TradingSecrets(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.by_spec: dict[str, secretsmanager.Secret] = {}
        for spec in resources.SECRETS:
            if spec is resources.WEBHOOK_SECRET:
                # {"default": <generated>}: more named passphrases (one per strategy) can be added later.
                generator = secretsmanager.SecretStringGenerator(
                    secret_string_template=json.dumps({}),
                    generate_string_key="default",
                    password_length=40,
                    exclude_punctuation=True,
                )
            else:
                generator = secretsmanager.SecretStringGenerator(
                    secret_string_template=json.dumps({"api_key": ALPACA_KEY_PLACEHOLDER}),
                    generate_string_key="secret_key",
                    exclude_punctuation=True,
                )
            secret = secretsmanager.Secret(
                self,
                spec.logical_id,
                secret_name=spec.name(config.stage),
                description=spec.description,
                generate_secret_string=generator,
                removal_policy=removal_policy(config),
            )
            acknowledge(secret, "AwsSolutions-SMG4", ROTATION_REASON[spec.logical_id])
            self.by_spec[spec.logical_id] = secret
        self.webhook = self.by_spec[resources.WEBHOOK_SECRET.logical_id]
        self.alpaca_paper = self.by_spec[resources.ALPACA_PAPER_SECRET.logical_id]
        self.alpaca_live = self.by_spec[resources.ALPACA_LIVE_SECRET.logical_id]
