"""Trigger handlers written the way the AWS Lambda documentation writes them: ``handler(event,
context)`` returning the event. The tests run them unchanged in Ostiary's worker processes.
(TRIGGER_LOG and LEGACY_USERS come from the server's environment, as Lambda environment variables.)"""

import json
import os
import time


def _log(event):
    with open(os.environ["TRIGGER_LOG"], "a") as fh:
        fh.write(json.dumps(event) + "\n")


# Pre sign-up: auto-confirm users from example.com (AWS's example)
def pre_signup(event, context):
    email = event["request"]["userAttributes"].get("email", "")
    if email.endswith("@example.com"):
        event["response"]["autoConfirmUser"] = True
        event["response"]["autoVerifyEmail"] = True
    if email.endswith("@blocked.test"):
        raise Exception("Sign-ups from this domain are not allowed")
    _log(event)
    return event


# Post confirmation: provision the user somewhere else
def post_confirmation(event, context):
    if event["request"]["userAttributes"].get("email", "").startswith("fail"):
        raise Exception("Provisioning failed")
    _log(event)
    return event


# User migration from a legacy user table (AWS's example, with a JSON file as the legacy store)
def user_migration(event, context):
    with open(os.environ["LEGACY_USERS"]) as fh:
        legacy = json.load(fh)
    user = legacy.get(event["userName"])
    if event["triggerSource"] == "UserMigration_Authentication":
        if user is None or user["password"] != event["request"]["password"]:
            raise Exception("Bad password")
        event["response"]["userAttributes"] = {"email": user["email"], "email_verified": "true"}
        event["response"]["finalUserStatus"] = "CONFIRMED"
        event["response"]["messageAction"] = "SUPPRESS"
    elif event["triggerSource"] == "UserMigration_ForgotPassword":
        if user is None:
            raise Exception("Bad username")
        event["response"]["userAttributes"] = {"email": user["email"], "email_verified": "true"}
        event["response"]["messageAction"] = "SUPPRESS"
    return event


# Pre/post authentication
def pre_authentication(event, context):
    if event["request"]["userAttributes"].get("custom:blocked") == "yes":
        raise Exception("This account is blocked")
    _log(event)
    return event


def post_authentication(event, context):
    _log(event)
    return event


# Pre token generation V2: a claim in both tokens, a scope in the access token, a claim suppressed
def pre_token_generation_v2(event, context):
    event["response"] = {
        "claimsAndScopeOverrideDetails": {
            "idTokenGeneration": {"claimsToAddOrOverride": {"tenant": "acme"}, "claimsToSuppress": ["email"]},
            "accessTokenGeneration": {
                "claimsToAddOrOverride": {"tenant": "acme", "plan": {"tier": "gold", "seats": 5}},
                "scopesToAdd": ["orders/read"],
            },
            "groupOverrideDetails": {"groupsToOverride": ["from-trigger"]},
        }
    }
    return event


# Pre token generation V1: ID token claims only
def pre_token_generation_v1(event, context):
    _log(event)
    event["response"]["claimsOverrideDetails"] = {"claimsToAddOrOverride": {"department": "research"}}
    return event


# Custom message for sign-up codes
def custom_message(event, context):
    _log(event)
    code = event["request"]["codeParameter"]
    if event["userName"].startswith("broken"):
        event["response"]["emailMessage"] = "A message without the code"
    elif event["triggerSource"] == "CustomMessage_SignUp":
        event["response"]["emailSubject"] = "Welcome to Acme"
        event["response"]["emailMessage"] = f"Hello {event['userName']}, your code is {code}"
    elif event["triggerSource"] == "CustomMessage_AdminCreateUser":
        event["response"]["emailSubject"] = "You are invited"
        event["response"]["emailMessage"] = (
            f"Sign in as {event['request']['usernameParameter']} with the password {code}"
        )
    elif event["triggerSource"] == "CustomMessage_ForgotPassword":
        event["response"]["emailSubject"] = "Reset your password"
        event["response"]["emailMessage"] = f"Your reset code: {code}"
    return event


# Misbehaving functions
def slow(event, context):
    _log(event)
    time.sleep(10)
    return event


def not_an_event(event, context):
    return "nothing useful"


def crash(event, context):
    os._exit(3)  # the worker process dies mid-invocation


def context_probe(event, context):
    event["response"]["autoConfirmUser"] = False
    _log(
        {
            "function_name": context.function_name,
            "remaining": context.get_remaining_time_in_millis(),
            "request_id": context.aws_request_id,
        }
    )
    return event


# Custom authentication: a one-time code sent out of band (AWS's "custom challenge" example)
def define_auth_challenge(event, context):
    session = event["request"]["session"]
    if session and session[-1]["challengeName"] == "CUSTOM_CHALLENGE" and session[-1]["challengeResult"]:
        event["response"].update(issueTokens=True, failAuthentication=False)
    elif len(session) >= 3:
        event["response"].update(issueTokens=False, failAuthentication=True)
    else:
        event["response"].update(issueTokens=False, failAuthentication=False, challengeName="CUSTOM_CHALLENGE")
    return event


def create_auth_challenge(event, context):
    code = "424242"
    event["response"]["publicChallengeParameters"] = {"hint": "the answer"}
    event["response"]["privateChallengeParameters"] = {"answer": code}
    event["response"]["challengeMetadata"] = "CODE-CHALLENGE"
    return event


def verify_auth_challenge(event, context):
    _log(event)
    expected = event["request"]["privateChallengeParameters"]["answer"]
    event["response"]["answerCorrect"] = event["request"]["challengeAnswer"] == expected
    return event


# Custom auth that starts with SRP (the password), then asks the one-time code (AWS's example)
def define_auth_challenge_srp_first(event, context):
    session = event["request"]["session"]
    if len(session) == 1 and session[0]["challengeName"] == "SRP_A":
        event["response"].update(issueTokens=False, failAuthentication=False, challengeName="PASSWORD_VERIFIER")
    elif len(session) == 2 and session[1]["challengeName"] == "PASSWORD_VERIFIER" and session[1]["challengeResult"]:
        event["response"].update(issueTokens=False, failAuthentication=False, challengeName="CUSTOM_CHALLENGE")
    elif len(session) == 3 and session[2]["challengeName"] == "CUSTOM_CHALLENGE" and session[2]["challengeResult"]:
        event["response"].update(issueTokens=True, failAuthentication=False)
    else:
        event["response"].update(issueTokens=False, failAuthentication=True)
    return event


# Custom email sender: the function delivers the message itself
def custom_email_sender(event, context):
    _log(event)
    return event


# Pre token generation V3: machine-to-machine tokens get a tenant claim from the client metadata
def pre_token_generation_v3(event, context):
    _log(event)
    if event["triggerSource"] == "TokenGeneration_ClientCredentials":
        tenant = (event["request"].get("clientMetadata") or {}).get("tenant", "none")
        event["response"]["claimsAndScopeOverrideDetails"] = {
            "accessTokenGeneration": {
                "claimsToAddOrOverride": {"tenant": tenant, "tier": 3},
                "scopesToSuppress": ["https://api.example.com/orders.write"],
            }
        }
    return event


# Inbound federation: a user from the provider gets a nickname; others keep the attribute mapping
def inbound_federation(event, context):
    _log(event)
    id_token = event["request"]["attributes"].get("idToken") or {}
    if id_token.get("sub") == "kim":
        event["response"]["userAttributesToMap"] = {
            "email": id_token["email"],
            "nickname": "kim-from-" + event["request"]["providerName"],
        }
    else:
        event["response"]["userAttributesToMap"] = {}
    return event
