// Signs in with amazon-cognito-identity-js (AWS's own SDK; USER_SRP_AUTH by default), then refreshes
// the session and reads the user's attributes. Prints one JSON line; exits non-zero on failure.
// usage: node srp_sign_in.js <endpoint> <userPoolId> <clientId> <username> <password>
const { CognitoUserPool, CognitoUser, AuthenticationDetails } = require("amazon-cognito-identity-js");

const [endpoint, UserPoolId, ClientId, Username, Password] = process.argv.slice(2);
const pool = new CognitoUserPool({ UserPoolId, ClientId, endpoint });
const user = new CognitoUser({ Username, Pool: pool });
const details = new AuthenticationDetails({ Username, Password });

function fail(err) {
  console.log(JSON.stringify({ ok: false, code: err.code || err.name, message: err.message }));
  process.exit(1);
}

user.authenticateUser(details, {
  onSuccess(session) {
    const refresh = session.getRefreshToken();
    user.refreshSession(refresh, (err, renewed) => {
      if (err) return fail(err);
      user.getUserAttributes((err2, attributes) => {
        if (err2) return fail(err2);
        console.log(JSON.stringify({
          ok: true,
          idToken: session.getIdToken().getJwtToken(),
          accessToken: session.getAccessToken().getJwtToken(),
          renewedIdToken: renewed.getIdToken().getJwtToken(),
          username: session.getIdToken().payload["cognito:username"],
          attributes: attributes.map((a) => [a.getName(), a.getValue()]),
        }));
      });
    });
  },
  onFailure: fail,
  newPasswordRequired() {
    fail({ code: "NewPasswordRequired", message: "unexpected NEW_PASSWORD_REQUIRED" });
  },
});
