// The AWS SDK for JavaScript v3's own SSO OIDC and SSO clients (the ones its SSO credential and token
// providers use, @aws-sdk/nested-clients) speaking rest-json to Ostiary: CreateToken (POST /token, JSON
// body, an OAuth-style error) and GetRoleCredentials (GET /federation/credentials, query members and
// the x-amz-sso_bearer_token header). Argument: the Ostiary URL. Prints one JSON line of the answers.
import oidcPkg from "@aws-sdk/nested-clients/sso-oidc";
import ssoPkg from "@aws-sdk/nested-clients/sso";

const { SSOOIDCClient, CreateTokenCommand } = oidcPkg;
const { SSOClient, GetRoleCredentialsCommand } = ssoPkg;
const endpoint = process.argv[2];

function outcome(e) {
  return { name: e.name, status: e.$metadata?.httpStatusCode, error: e.error ?? null, message: e.message ?? null };
}

const result = { ok: true };
const oidc = new SSOOIDCClient({ region: "us-east-1", endpoint });
try {
  await oidc.send(
    new CreateTokenCommand({ clientId: "no-such-client", clientSecret: "x", grantType: "refresh_token", refreshToken: "x" }),
  );
  result.createToken = { name: "success" };
} catch (e) {
  result.createToken = outcome(e);
}
const sso = new SSOClient({ region: "us-east-1", endpoint });
try {
  await sso.send(new GetRoleCredentialsCommand({ accessToken: "not-a-token", roleName: "r", accountId: "123456789012" }));
  result.getRoleCredentials = { name: "success" };
} catch (e) {
  result.getRoleCredentials = outcome(e);
}
console.log(JSON.stringify(result));
