import { FAKE_SERVICE_ACCOUNT, FakeLeaseApi } from "../../support/fake-lease-api";
import { leaseApiContract } from "../../support/lease-contract";

/**
 * The FAKE Lease API (test/support/fake-lease-api) against the contract the real API server also
 * passes (test/e2e/lease-api.e2e.test.ts): what the fast tests assume about Kubernetes holds there.
 */
describe("fake Lease API on loopback", () => {
  const TOKEN = "sa-token-for-tests";
  const READER = "system:serviceaccount:sync:no-lease-rights";
  let fake: FakeLeaseApi;

  before(async () => {
    fake = await new FakeLeaseApi(TOKEN).addServiceAccount("token-without-rights", READER, []).start();
  });
  after(async () => fake.close());

  leaseApiContract(async () => ({
    url: fake.url,
    namespace: "sync",
    token: TOKEN,
    user: FAKE_SERVICE_ACCOUNT,
    tokenWithoutRights: "token-without-rights",
    userWithoutRights: READER,
  }));
});
