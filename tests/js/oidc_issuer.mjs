// A standalone OpenID Connect issuer for the Python tests: the npm package oidc-provider with its
// development login and consent pages, on 127.0.0.1. Usage: node oidc_issuer.mjs <port> <client_id>
// Any login name signs in (devInteractions); the account's sub is that name.
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const clientId = process.argv[3] || 'ostiary-app';
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    token_endpoint_auth_method: 'none',
    response_types: ['id_token'],
    grant_types: ['implicit'],
    redirect_uris: ['https://app.example.com/callback'],
  }],
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => false },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
