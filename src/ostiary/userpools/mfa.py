"""Pool MFA configuration: GetUserPoolMfaConfig and SetUserPoolMfaConfig (Cognito API Reference).

Stored beside the pool's settings; SetUserPoolMfaConfig also sets the pool's MfaConfiguration,
SmsConfiguration and SmsAuthenticationMessage as DescribeUserPool shows them. User enrolment and
the MFA challenges come with the MFA issue.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.userpools.errors import InvalidParameterException
from ostiary.userpools.lookup import pool_for_caller

FACTORS = ("SmsMfaConfiguration", "SoftwareTokenMfaConfiguration", "EmailMfaConfiguration", "WebAuthnConfiguration")


def _answer(cfg: dict[str, Any]) -> dict[str, Any]:
    settings = cfg.get("MfaSettings") or {}
    out: dict[str, Any] = {"MfaConfiguration": cfg.get("MfaConfiguration", "OFF")}
    for key in FACTORS:
        if settings.get(key) is not None:
            out[key] = settings[key]
    return out


@operation("cognito-idp", "GetUserPoolMfaConfig")
def get_user_pool_mfa_config(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
    return _answer(pool.config)


@operation("cognito-idp", "SetUserPoolMfaConfig")
def set_user_pool_mfa_config(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        cfg = dict(pool.config)
        settings = dict(cfg.get("MfaSettings") or {})
        for key in FACTORS:
            if key in params:
                settings[key] = params[key]
        sms = settings.get("SmsMfaConfiguration") or {}
        if sms.get("SmsConfiguration"):
            cfg["SmsConfiguration"] = sms["SmsConfiguration"]
        if sms.get("SmsAuthenticationMessage"):
            cfg["SmsAuthenticationMessage"] = sms["SmsAuthenticationMessage"]
        mode = params.get("MfaConfiguration") or cfg.get("MfaConfiguration", "OFF")
        if mode in ("ON", "OPTIONAL"):
            enabled = (
                bool(sms.get("SmsConfiguration") or cfg.get("SmsConfiguration"))
                or bool((settings.get("SoftwareTokenMfaConfiguration") or {}).get("Enabled"))
                or settings.get("EmailMfaConfiguration") is not None
            )
            if not enabled:
                raise InvalidParameterException(
                    f"Invalid MFA configuration given: MfaConfiguration {mode} needs at least one of "
                    "SmsMfaConfiguration, SoftwareTokenMfaConfiguration (Enabled) or EmailMfaConfiguration."
                )
        cfg["MfaConfiguration"] = mode
        cfg["MfaSettings"] = settings
        conn.execute(update(t.user_pools).where(t.user_pools.c.id == pool.id).values(config=cfg, updated_at=ctx.now))
    return _answer(cfg)
