// The AWS SDK for JavaScript v3's own SSO credential provider resolving an `sso_session` profile
// against Ostiary: the token from the SSO cache (as the AWS CLI writes it), credentials from the
// portal API (GetRoleCredentials), then STS GetCallerIdentity signed with them.
// Env: AWS_CONFIG_FILE, HOME (for ~/.aws/sso/cache), AWS_PROFILE, AWS_ENDPOINT_URL_SSO,
// AWS_ENDPOINT_URL_SSO_OIDC, OSTIARY_URL (the STS endpoint). Prints {"Arn", "Account", "Expiration"}.
import { fromSSO } from "@aws-sdk/credential-provider-sso";
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";

const credentials = fromSSO({ profile: process.env.AWS_PROFILE });
const resolved = await credentials();
const sts = new STSClient({ region: "us-east-1", endpoint: process.env.OSTIARY_URL, credentials: resolved });
const me = await sts.send(new GetCallerIdentityCommand({}));
console.log(JSON.stringify({ Arn: me.Arn, Account: me.Account, Expiration: resolved.expiration?.toISOString() }));
