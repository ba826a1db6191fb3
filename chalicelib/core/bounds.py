"""Bounded numbers for request and query models: every number a client sends that
reaches DynamoDB or arithmetic is `Annotated[float | int, Bounded(lo, hi)]`, so an
out-of-range value (5e-324, 1e300, NaN, inf) is a 422 whose message names the allowed
range, never a `decimal.Underflow` or an overflow deep in a store (DynamoDB numbers
hold 38 digits, magnitudes 1E-130 to 9.9E+125).

Rules: a float must be finite and within [lo, hi]; it is then rounded to `places`
decimals (a stored value carries no binary noise) and -0.0 becomes 0.0. An int must be
within [lo, hi]. A lower bound that excludes zero is stated as the smallest meaningful
value (0.001 requests per second), never as `gt=0`: every positive float passes
`gt=0`, 5e-324 included. The bounds appear in the OpenAPI schema (minimum / maximum)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationError
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema


@dataclass(frozen=True)
class Bounded:
    lo: float
    hi: float
    places: int = 4

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_wrap_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        out.update(minimum=self.lo, maximum=self.hi)
        return out

    def _error(self, what: str) -> PydanticCustomError:
        return PydanticCustomError(
            "out_of_range",
            "must be {what} from {min} to {max}",
            {"what": what, "min": self.lo, "max": self.hi},
        )

    def _check(self, value: Any, handler: core_schema.ValidatorFunctionWrapHandler) -> Any:
        try:
            v = handler(value)
        except ValidationError:
            raise self._error("a number") from None
        if isinstance(v, float):
            if not math.isfinite(v) or not self.lo <= v <= self.hi:
                raise self._error("a finite number")
            return round(v, self.places) + 0.0  # + 0.0: -0.0 -> 0.0
        if not self.lo <= v <= self.hi:
            raise self._error("an integer")
        return v


# A lead score bound: 0..100, to 1/10,000 of a point.
Score = Annotated[float, Bounded(0, 100)]
# Seeds of reproducible samples: what a JSON number holds exactly (JavaScript clients).
Seed = Annotated[int, Bounded(0, 2**53 - 1)]
