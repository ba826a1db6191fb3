"""CloudWatch metrics as EMF lines (Powertools). Handlers flush after each invocation.
Phone numbers are never a dimension."""

from __future__ import annotations

from aws_lambda_powertools import Metrics

metrics = Metrics(namespace="Alcance", service="alcance")
