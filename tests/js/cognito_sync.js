// The Cognito Sync Manager (amazon-cognito-js over the AWS SDK for JavaScript v2) against Ostiary:
// one user signed in on two "devices" (two credential providers, two Sync Managers with their own
// in-memory stores) syncs a dataset; both change the same record, and the second device's sync hits
// the conflict, which its onConflict callback resolves with a merged value.
// Env: OSTIARY_URL, IDENTITY_POOL_ID, PROVIDER (the user pool's provider name), ID_TOKEN.
// Prints one JSON object with what each device saw.
const AWS = require("aws-sdk");
global.AWS = AWS;
require("amazon-cognito-js");

const url = process.env.OSTIARY_URL;
AWS.config.update({ region: "us-east-1", maxRetries: 0 });
AWS.config.cognitoidentity = { endpoint: url };
AWS.config.cognitosync = { endpoint: url };

function p(fn) {
  return new Promise((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data))));
}

async function signIn() {
  const credentials = new AWS.CognitoIdentityCredentials(
    { IdentityPoolId: process.env.IDENTITY_POOL_ID, Logins: { [process.env.PROVIDER]: process.env.ID_TOKEN } },
    { endpoint: url, region: "us-east-1" },
  );
  await credentials.getPromise();
  AWS.config.credentials = credentials; // the Sync Manager reads the global credentials when made
  const manager = new AWS.CognitoSyncManager({ DataStore: AWS.CognitoSyncManager.StoreInMemory });
  return { credentials, manager };
}

function sync(dataset, onConflict) {
  return new Promise((resolve, reject) => {
    dataset.synchronize({
      onSuccess: (ds, updates) => resolve(updates ? updates.length : 0),
      onFailure: reject,
      onConflict:
        onConflict ||
        ((ds, conflicts, callback) => reject(new Error("unexpected conflict on " + conflicts.length + " records"))),
      onDatasetDeleted: (ds, name, callback) => callback(true),
      onDatasetsMerged: (ds, names, callback) => callback(false),
    });
  });
}

(async () => {
  const phone = await signIn();
  const tablet = await signIn();
  const phoneSet = await p((cb) => phone.manager.openOrCreateDataset("game", cb));
  const tabletSet = await p((cb) => tablet.manager.openOrCreateDataset("game", cb));

  await p((cb) => phoneSet.put("score", "10", cb));
  await p((cb) => phoneSet.put("level", "1", cb));
  await sync(phoneSet);
  await sync(tabletSet);
  const pulled = { score: await p((cb) => tabletSet.get("score", cb)), level: await p((cb) => tabletSet.get("level", cb)) };

  // both devices change the score; the phone syncs first
  await p((cb) => phoneSet.put("score", "20", cb));
  await p((cb) => tabletSet.put("score", "15", cb));
  await sync(phoneSet);
  const seen = [];
  await sync(tabletSet, (ds, conflicts, callback) => {
    const resolved = conflicts.map((c) => {
      seen.push({ key: c.getKey(), local: c.getLocalRecord().getValue(), remote: c.getRemoteRecord().getValue() });
      return c.resolveWithValue(String(Number(c.getLocalRecord().getValue()) + Number(c.getRemoteRecord().getValue())));
    });
    ds.resolve(resolved, () => callback(true));
  });
  await sync(phoneSet);

  console.log(
    JSON.stringify({
      phoneIdentity: phone.credentials.identityId,
      tabletIdentity: tablet.credentials.identityId,
      pulled,
      conflicts: seen,
      phone: { score: await p((cb) => phoneSet.get("score", cb)), level: await p((cb) => phoneSet.get("level", cb)) },
      tablet: { score: await p((cb) => tabletSet.get("score", cb)), level: await p((cb) => tabletSet.get("level", cb)) },
    }),
  );
})().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
