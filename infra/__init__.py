"""The CDK app for tradepipe: `infra/app.py` is the entry point, `stacks/` composes, `constructs/` builds."""
