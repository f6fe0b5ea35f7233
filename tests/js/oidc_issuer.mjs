// A standalone OpenID Connect issuer for the Python tests: the npm package oidc-provider with its
// development login and consent pages, on 127.0.0.1. Usage: node oidc_issuer.mjs <port> <client_id>
// Any login name signs in (devInteractions); the account's sub is that name.
//
// Two clients:
// - <client_id> (default ostiary-app): public, implicit flow (response_type id_token), redirect URI
//   https://app.example.com/callback — the web identity / STS tests.
// - ostiary-pool (secret ostiary-pool-secret): confidential, authorization-code flow, as a Cognito
//   user pool federating to an OIDC IdP. Registered with client_secret_basic; oidc-provider 8 accepts
//   client_secret_post too for a client registered with either. Its redirect URI may be any
//   http://127.0.0.1:<port>/…/oauth2/idpresponse or http://localhost:<port>/…/oauth2/idpresponse
//   (Ostiary's port is only known at test time: Client.prototype.redirectUriAllowed is overridden for
//   this client), plus any exact URI listed in OIDC_REDIRECT_URIS (comma-separated).
//   Consent is skipped for it: loadExistingGrant grants `openid email profile` on the fly, so only the
//   login page is shown.
//
// Claims of account <login>: sub=<login>, email=<login>@example.com, email_verified=true,
// given_name=<login>, family_name=Example, name="<login> Example". conformIdTokenClaims is off, so
// the claims of the requested scopes (openid email profile) are in the ID token as well as userinfo.
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const clientId = process.argv[3] || 'ostiary-app';
const issuer = `http://127.0.0.1:${port}`;
const POOL_CLIENT_ID = 'ostiary-pool';
const POOL_SCOPE = 'openid email profile';
const IDP_RESPONSE = /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\/([^?#]*\/)?oauth2\/idpresponse$/;
const extraRedirectUris = (process.env.OIDC_REDIRECT_URIS || '').split(',').map((s) => s.trim()).filter(Boolean);

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      token_endpoint_auth_method: 'none',
      response_types: ['id_token'],
      grant_types: ['implicit'],
      redirect_uris: ['https://app.example.com/callback'],
    },
    {
      client_id: POOL_CLIENT_ID,
      client_secret: 'ostiary-pool-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      response_types: ['code'],
      grant_types: ['authorization_code'],
      // A placeholder: the real check is the redirectUriAllowed override below.
      redirect_uris: ['http://127.0.0.1/_domain/placeholder/oauth2/idpresponse', ...extraRedirectUris],
    },
  ],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
  },
  conformIdTokenClaims: false,
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({
      sub: id,
      email: `${id}@example.com`,
      email_verified: true,
      given_name: id,
      family_name: 'Example',
      name: `${id} Example`,
    }),
  }),
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    if (ctx.oidc.client.clientId !== POOL_CLIENT_ID) return undefined;
    const grant = new ctx.oidc.provider.Grant({ clientId: POOL_CLIENT_ID, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(POOL_SCOPE);
    await grant.save();
    return grant;
  },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => false },
});

const redirectUriAllowed = provider.Client.prototype.redirectUriAllowed;
provider.Client.prototype.redirectUriAllowed = function allowed(value) {
  if (this.clientId === POOL_CLIENT_ID && IDP_RESPONSE.test(value)) return true;
  return redirectUriAllowed.call(this, value);
};

provider.proxy = false;
provider.listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
