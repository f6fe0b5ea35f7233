"""cloudtrail errors (LookupEvents): one class per exception shape of the botocore model (code = shape name)."""

from __future__ import annotations

from ostiary.protocol.errors import ServiceError


class InvalidLookupAttributesException(ServiceError):
    code = "InvalidLookupAttributesException"


class InvalidTimeRangeException(ServiceError):
    code = "InvalidTimeRangeException"


class InvalidNextTokenException(ServiceError):
    code = "InvalidNextTokenException"


class InvalidEventCategoryException(ServiceError):
    code = "InvalidEventCategoryException"
