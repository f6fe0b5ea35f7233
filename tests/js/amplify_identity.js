// Amplify v6 (aws-amplify) as an app uses it: signIn (SRP), then fetchAuthSession(), which gets an
// identity and AWS credentials from the identity pool with Logins keyed by the ID token's issuer
// without its scheme. Prints one JSON line; exits non-zero on failure.
// usage: node amplify_identity.js <endpoint> <userPoolId> <clientId> <identityPoolId> <username> <password>
const { Amplify } = require("aws-amplify");
const { signIn, fetchAuthSession } = require("aws-amplify/auth");
const { cognitoUserPoolsTokenProvider } = require("aws-amplify/auth/cognito");
const { sharedInMemoryStorage } = require("aws-amplify/utils");

const [endpoint, userPoolId, userPoolClientId, identityPoolId, username, password] = process.argv.slice(2);

async function main() {
  Amplify.configure({
    Auth: {
      Cognito: {
        userPoolId,
        userPoolClientId,
        identityPoolId,
        userPoolEndpoint: endpoint,
        identityPoolEndpoint: endpoint,
        loginWith: { username: true },
      },
    },
  });
  cognitoUserPoolsTokenProvider.setKeyValueStorage(sharedInMemoryStorage);
  const result = await signIn({ username, password });
  const session = await fetchAuthSession();
  const creds = session.credentials;
  console.log(JSON.stringify({
    ok: true,
    signedIn: result.isSignedIn,
    identityId: session.identityId,
    idToken: session.tokens && session.tokens.idToken ? session.tokens.idToken.toString() : null,
    credentials: creds ? {
      accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey,
      sessionToken: creds.sessionToken,
    } : null,
  }));
}

main().then(() => process.exit(0)).catch((err) => {
  console.log(JSON.stringify({ ok: false, code: err.name, message: err.message, underlying: err.underlyingError ? String(err.underlyingError) : null }));
  process.exit(1);
});
