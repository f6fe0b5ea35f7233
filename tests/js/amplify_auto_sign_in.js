// Amplify v6 (aws-amplify) sign-up with automatic sign-in over USER_AUTH: signUp with
// options.autoSignIn {authFlowType: "USER_AUTH"}, confirmSignUp with the code read from Ostiary's
// development outbox, then autoSignIn(), which sends ConfirmSignUp's Session to InitiateAuth.
// Prints one JSON line; exits non-zero on failure.
// usage: node amplify_auto_sign_in.js <endpoint> <userPoolId> <clientId> <username> <password> <email>
const { Amplify } = require("aws-amplify");
// autoSignIn is a live binding (set by confirmSignUp): call it through the module, as an ES import would
const auth = require("aws-amplify/auth");
const { cognitoUserPoolsTokenProvider } = require("aws-amplify/auth/cognito");
const { sharedInMemoryStorage } = require("aws-amplify/utils");

const [endpoint, userPoolId, userPoolClientId, username, password, email] = process.argv.slice(2);

async function outboxCode(destination) {
  const url = `${endpoint}/_ostiary/outbox?destination=${encodeURIComponent(destination)}&limit=1`;
  const response = await fetch(url);
  const { messages } = await response.json();
  const match = messages.length ? /\b(\d{6})\b/.exec(messages[0].body) : null;
  if (!match) throw new Error(`no code sent to ${destination}`);
  return match[1];
}

async function main() {
  Amplify.configure({
    Auth: {
      Cognito: { userPoolId, userPoolClientId, userPoolEndpoint: endpoint, loginWith: { email: true } },
    },
  });
  cognitoUserPoolsTokenProvider.setKeyValueStorage(sharedInMemoryStorage);
  const up = await auth.signUp({
    username,
    password,
    options: { userAttributes: { email }, autoSignIn: { authFlowType: "USER_AUTH" } },
  });
  const confirmed = await auth.confirmSignUp({ username, confirmationCode: await outboxCode(email) });
  const signedIn = await auth.autoSignIn();
  const session = await auth.fetchAuthSession();
  console.log(JSON.stringify({
    ok: true,
    signUpStep: up.nextStep.signUpStep,
    confirmStep: confirmed.nextStep.signUpStep,
    signedIn: signedIn.isSignedIn,
    signInStep: signedIn.nextStep.signInStep,
    idToken: session.tokens && session.tokens.idToken ? session.tokens.idToken.toString() : null,
    accessToken: session.tokens && session.tokens.accessToken ? session.tokens.accessToken.toString() : null,
  }));
}

main().then(() => process.exit(0)).catch((err) => {
  console.log(JSON.stringify({ ok: false, code: err.name, message: err.message }));
  process.exit(1);
});
