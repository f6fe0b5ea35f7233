// Signs in with amazon-cognito-identity-js (USER_SRP_AUTH) the way a browser app does, keeping the
// SDK's storage (tokens, device key, device group and secret) in a JSON file between runs, so that a
// second run signs in as the same remembered device (DEVICE_SRP_AUTH, done by the SDK itself).
// Answers a SOFTWARE_TOKEN_MFA challenge with the code given. Prints one JSON line.
// usage: node device_sign_in.js <endpoint> <userPoolId> <clientId> <username> <password> <storageFile> <totpCode>
const fs = require("fs");
const { CognitoUserPool, CognitoUser, AuthenticationDetails } = require("amazon-cognito-identity-js");

const [endpoint, UserPoolId, ClientId, Username, Password, storageFile, totpCode] = process.argv.slice(2);

class FileStorage {
  constructor(path) {
    this.path = path;
    this.data = fs.existsSync(path) ? JSON.parse(fs.readFileSync(path, "utf8")) : {};
  }
  save() { fs.writeFileSync(this.path, JSON.stringify(this.data)); }
  setItem(k, v) { this.data[k] = String(v); this.save(); return this.data[k]; }
  getItem(k) { return Object.prototype.hasOwnProperty.call(this.data, k) ? this.data[k] : null; }
  removeItem(k) { delete this.data[k]; this.save(); return true; }
  clear() { this.data = {}; this.save(); return this.data; }
}

const Storage = new FileStorage(storageFile);
const pool = new CognitoUserPool({ UserPoolId, ClientId, endpoint, Storage });
const user = new CognitoUser({ Username, Pool: pool, Storage });
let mfaAsked = false;

function fail(err) {
  console.log(JSON.stringify({ ok: false, code: err.code || err.name, message: err.message, mfaAsked }));
  process.exit(1);
}

const callbacks = {
  onSuccess(session, userConfirmationNecessary) {
    const prefix = `CognitoIdentityServiceProvider.${ClientId}.${user.getUsername()}`;
    user.refreshSession(session.getRefreshToken(), (err, renewed) => {
      if (err) return fail(err);
      console.log(JSON.stringify({
        ok: true,
        mfaAsked,
        userConfirmationNecessary: Boolean(userConfirmationNecessary),
        deviceKey: Storage.getItem(`${prefix}.deviceKey`),
        accessToken: session.getAccessToken().getJwtToken(),
        renewedAccessToken: renewed.getAccessToken().getJwtToken(),
      }));
    });
  },
  onFailure: fail,
  totpRequired() {
    mfaAsked = true;
    user.sendMFACode(totpCode, callbacks, "SOFTWARE_TOKEN_MFA");
  },
  mfaRequired() { fail({ code: "UnexpectedSmsMfa", message: "SMS MFA was not expected" }); },
  newPasswordRequired() { fail({ code: "NewPasswordRequired", message: "unexpected NEW_PASSWORD_REQUIRED" }); },
};

user.authenticateUser(new AuthenticationDetails({ Username, Password }), callbacks);
