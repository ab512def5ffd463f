import { expect } from "chai";
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { decodeToken as decodeJwt, TokenFormatError as JwtError } from "../tools/doctor/token";
import { discoveryUrl } from "../tools/doctor/discovery";
import { parseStackExport } from "../tools/state/stack-export";
import { DoctorCheck, DoctorInput, DoctorReport, diagnoseToken, examineToken, formatReport, verifySignature } from "../tools/doctor/doctor";
import { toStackExport } from "../tools/state/from-run";
import { parseArguments, runDoctor, UsageError } from "../tools/cli/doctor";
import { runTwoStacks } from "../tools/engine/two-stacks";
import { clusterA, clusterB, registry } from "./support/fixtures";
import { doctorStates, DoctorStates, newSigningKey, serviceAccountClaims, startOidcIssuer, TestIssuer } from "./support/oidc-issuer";

const PULL_CI = "arn:aws:iam::111122223333:role/ecr-pull-ci-builders";
const PULL_ML = "arn:aws:iam::111122223333:role/ecr-pull-ml";
const CHAIN_B = "arn:aws:iam::777788889999:role/ecr-chain-payments-b3a35c";
const AUDIENCE_FIX =
    "Give the pod a token whose audience is sts.amazonaws.com: the IRSA webhook (amazon-eks-pod-identity-webhook) projects one into pods whose ServiceAccount has the " +
    "eks.amazonaws.com/role-arn annotation (pods created before the annotation keep their old token: restart them); `kubectl create token` needs --audience sts.amazonaws.com.";
const FRESH =
    "copy a fresh token from the pod (kubectl exec <pod> -- cat /var/run/secrets/eks.amazonaws.com/serviceaccount/token); " +
    "the kubelet renews a running pod's projected token, so if the pod's own token is expired, check that node's clock and kubelet";

/** The one check of that name: token-level, or of the first role. */
function check(report: DoctorReport, name: string, role = 0): DoctorCheck {
    const found = [...report.checks, ...(report.roles[role]?.checks ?? [])].filter((c) => c.check === name);
    expect(found, `check ${name} in\n${formatReport(report)}`).to.have.length(1);
    return found[0];
}

function verdicts(report: DoctorReport, role = 0): Record<string, string> {
    return Object.fromEntries([...report.checks, ...(report.roles[role]?.checks ?? [])].map((c) => [c.check, c.verdict]));
}

describe("doctor", function () {
    this.timeout(60000);
    let issuer: TestIssuer;
    let states: DoctorStates;
    let now: Date;

    before(async function () {
        issuer = await startOidcIssuer();
        states = await doctorStates(issuer.issuerUrl, issuer.thumbprint);
        now = new Date();
    });

    after(async function () {
        await issuer?.close();
    });

    const claims = (namespace: string, name: string, extra: Record<string, unknown> = {}) => ({
        ...serviceAccountClaims(issuer.issuerUrl, namespace, name, now),
        ...extra,
    });
    const examine = (token: string, extra: Partial<DoctorInput> = {}, offline = false) =>
        examineToken(
            { token, ecr: states.ecr, eks: [states.eksB], now, ...extra },
            { caPems: [issuer.caPem], connectTo: { host: "127.0.0.1", port: issuer.port }, timeoutMs: 5000, offline },
        );

    describe("against a real issuer on 127.0.0.1", function () {
        it("lets in a valid token of a federated service account, and says which documents agree", async function () {
            const before = issuer.requests.length;
            const report = await examine(issuer.sign(claims("ci", "image-builder")));
            expect(report.admitted, formatReport(report)).to.equal(true);
            expect(report.roles.map((r) => r.roleArn)).to.deep.equal([PULL_CI]);
            expect(report.roles[0].reason).to.equal("eks-b.json output workloads[0] (federation)");
            expect(verdicts(report)).to.deep.equal({
                token: "pass",
                expiry: "pass",
                signature: "pass",
                issuer: "pass",
                thumbprint: "pass",
                trust: "pass",
                audience: "pass",
                subject: "pass",
            });
            expect(check(report, "signature").evidence).to.equal(`RS256 signature verifies with key "doctor-key-1" from ${issuer.issuerUrl}/keys`);
            expect(check(report, "thumbprint").evidence).to.equal(
                `the issuer's top CA certificate has thumbprint ${issuer.thumbprint}, which the provider lists.`,
            );
            expect(check(report, "issuer").evidence).to.equal(
                `iss ${issuer.issuerUrl} is the OIDC provider arn:aws:iam::111122223333:oidc-provider/127.0.0.1/id/D0C70R5EC0DE0123456789ABCDEF0123 (ecr.json)`,
            );
            expect(report.summary).to.equal(`STS would let this token assume ${PULL_CI}.`);
            // It really asked the issuer: discovery document, then the key set.
            expect(issuer.requests.slice(before)).to.include.members([
                "/id/D0C70R5EC0DE0123456789ABCDEF0123/.well-known/openid-configuration",
                "/id/D0C70R5EC0DE0123456789ABCDEF0123/keys",
            ]);
        });

        it("refuses an expired token and says to fetch a fresh one", async function () {
            const t = Math.floor(now.getTime() / 1000);
            const report = await examine(issuer.sign(claims("ci", "image-builder", { iat: t - 7200, nbf: t - 7200, exp: t - 3600 })));
            expect(report.admitted).to.equal(false);
            const c = check(report, "expiry");
            expect(c.verdict).to.equal("fail");
            expect(c.evidence).to.equal(`expired at ${new Date((t - 3600) * 1000).toISOString().replace(".000Z", "Z")}, 60 min before ${now.toISOString()}`);
            expect(c.fix).to.equal(`The token is stale: ${FRESH}.`);
            expect(c.sts).to.equal("ExpiredTokenException: Token expired");
            expect(check(report, "signature").verdict).to.equal("pass");
            expect(report.summary).to.match(/^STS would refuse this token: expiry: expired at /);
        });

        it("refuses a token that is not valid yet (clocks disagree)", async function () {
            const t = Math.floor(now.getTime() / 1000);
            const report = await examine(issuer.sign(claims("ci", "image-builder", { nbf: t + 600, iat: t + 600 })));
            const c = check(report, "expiry");
            expect(c.verdict).to.equal("fail");
            expect(c.evidence).to.match(/^not valid before .*, 10 min after /);
            expect(c.fix).to.equal("The clocks of the issuer and of this machine disagree: fix the clock that is wrong (NTP), then try again.");
        });

        it("refuses a token for another audience: not a client ID of the provider, nor what the trust pins", async function () {
            const report = await examine(issuer.sign(claims("ci", "image-builder", { aud: ["https://kubernetes.default.svc"] })));
            expect(report.admitted).to.equal(false);
            const audience = report.roles[0].checks.filter((c) => c.check === "audience");
            expect(audience.map((c) => c.verdict)).to.deep.equal(["fail", "fail"]);
            expect(audience[0].evidence).to.equal(
                'aud "https://kubernetes.default.svc" is not among the client IDs of arn:aws:iam::111122223333:oidc-provider/127.0.0.1/id/D0C70R5EC0DE0123456789ABCDEF0123 ("sts.amazonaws.com")',
            );
            expect(audience[0].sts).to.equal("InvalidIdentityToken: Incorrect token audience");
            expect(audience[1].evidence).to.equal(
                'aud "https://kubernetes.default.svc" does not satisfy StringEquals 127.0.0.1/id/D0C70R5EC0DE0123456789ABCDEF0123:aud "sts.amazonaws.com" (statement Irsa431FB7593F)',
            );
            expect(audience.map((c) => c.fix)).to.deep.equal([AUDIENCE_FIX, AUDIENCE_FIX]);
            expect(report.summary).to.match(/^STS would refuse this token: audience: aud "https:\/\/kubernetes.default.svc" is not among the client IDs/);
        });

        it("refuses another service account and names the one the role admits", async function () {
            const report = await examine(issuer.sign(claims("ci", "other")), { role: "ecr-pull-ci-builders" });
            expect(report.roles[0].reason).to.equal("named with --role");
            const c = check(report, "subject");
            expect(c.verdict).to.equal("fail");
            expect(c.evidence).to.equal(
                'sub "system:serviceaccount:ci:other" matches none of StringEquals 127.0.0.1/id/D0C70R5EC0DE0123456789ABCDEF0123:sub "system:serviceaccount:ci:image-builder" (statement Irsa431FB7593F)',
            );
            expect(c.fix).to.equal(
                'Run the pod as ci/image-builder, or add { namespace: ci, name: other } to the serviceAccounts of grant "ci-builders" (ecrpull:grants) and run `pulumi up` on the ECR stack.',
            );
            expect(c.sts).to.equal("AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity");
            expect(verdicts(report)).to.include({ signature: "pass", issuer: "pass", trust: "pass", audience: "pass" });
        });

        it("without --role or EKS state, checks every role whose trust names the issuer", async function () {
            const report = await examine(issuer.sign(claims("ci", "other")), { eks: [] });
            expect(report.roles.map((r) => [r.roleArn, r.reason])).to.deep.equal([[PULL_CI, "its trust names the token's issuer"]]);
            expect(check(report, "subject").verdict).to.equal("fail");
            expect(report.admitted).to.equal(false);
        });

        it("refuses a token signed by another key under the published kid", async function () {
            const report = await examine(issuer.sign(claims("ci", "image-builder"), { key: newSigningKey("forged"), kid: "doctor-key-1" }));
            expect(report.admitted).to.equal(false);
            const c = check(report, "signature");
            expect(c.verdict).to.equal("fail");
            expect(c.evidence).to.equal(`the signature does not verify with the published key "doctor-key-1" from ${issuer.issuerUrl}/keys`);
            expect(c.fix).to.equal(
                `The token was altered or signed by another key than the one ${issuer.issuerUrl} publishes under that kid: it was not issued by this cluster. Use the token from the pod's projected volume.`,
            );
            // Every document agrees; only the signature is wrong.
            expect(verdicts(report)).to.include({ issuer: "pass", audience: "pass", subject: "pass" });
        });

        it("refuses a token whose kid the issuer does not publish (a rotated key)", async function () {
            const report = await examine(issuer.sign(claims("ci", "image-builder"), { key: newSigningKey("rotated-away") }));
            const c = check(report, "signature");
            expect(c.verdict).to.equal("fail");
            expect(c.evidence).to.equal(`the issuer publishes no key with kid "rotated-away" at ${issuer.issuerUrl}/keys (it publishes "doctor-key-1")`);
            expect(c.fix).to.equal(
                `The token was signed by a key the issuer does not publish: if the token is old, the cluster's signing key has rotated since, so ${FRESH}; if a fresh token fails too, it was not issued by ${issuer.issuerUrl}.`,
            );
        });

        it("refuses a token of an issuer the registry does not federate", async function () {
            const other = "https://127.0.0.1/id/OTHER";
            const token = issuer.sign(claims("ci", "image-builder", { iss: other }));
            const report = await examine(token);
            expect(report.roles).to.have.length(0);
            const roles = check(report, "roles");
            expect(roles.verdict).to.equal("fail");
            expect(roles.evidence).to.equal(
                `no role in the states given trusts the issuer ${other} (OIDC providers: ${issuer.issuerUrl}, https://oidc.eks.eu-west-1.amazonaws.com/id/BECFCA5AD30409493DE7162F14E1DD78); eks-b.json is for ${issuer.issuerUrl}`,
            );
            expect(roles.sts).to.equal(`InvalidIdentityToken: No OpenIDConnect provider found in your account for ${other}`);
            expect(check(report, "signature").evidence).to.equal(
                `could not fetch the issuer's keys: GET ${other}/.well-known/openid-configuration failed: HTTP 404`,
            );
            expect(report.summary).to.match(/^STS would refuse this token: roles: no role in the states given trusts the issuer/);

            const named = await examine(token, { role: PULL_CI });
            const c = check(named, "issuer");
            expect(c.verdict).to.equal("fail");
            expect(c.evidence).to.equal(
                `no OIDC provider for ${other} in account 111122223333 (it has ${issuer.issuerUrl}, https://oidc.eks.eu-west-1.amazonaws.com/id/BECFCA5AD30409493DE7162F14E1DD78)`,
            );
            expect(c.fix).to.equal(
                'This token comes from a cluster whose issuer the registry account does not federate: if it is the right cluster, add its EKS stack to ecrpull:clusterStacks and to the clusters of grant "ci-builders" (ecrpull:grants), then run `pulumi up` on the ECR stack; otherwise use a token of the cluster the role serves.',
            );
        });

        it("names a trailing slash as the difference IAM will not forgive", async function () {
            const report = await examine(issuer.sign(claims("ci", "image-builder", { iss: `${issuer.issuerUrl}/` })), { role: PULL_CI }, true);
            const c = check(report, "issuer");
            expect(c.verdict).to.equal("fail");
            expect(c.fix).to.equal(
                `The token's iss "${issuer.issuerUrl}/" and the provider URL "${issuer.issuerUrl}" differ only in a trailing slash, and IAM compares them exactly: set the cluster's issuer output (oidcIssuerUrl) to exactly the token's iss and run \`pulumi up\` on the EKS stack, then on the ECR stack.`,
            );
        });

        it("refuses unsigned and HMAC-signed tokens without asking the issuer for a key", async function () {
            const unsigned = await examine(issuer.sign(claims("ci", "image-builder"), { alg: "none" }));
            expect(check(unsigned, "token")).to.deep.include({
                verdict: "fail",
                evidence: 'the token is not signed (alg "none")',
                fix: "STS accepts only tokens signed by the issuer's private key (EKS signs with RS256): use the token the pod's projected volume holds, not a hand-made one.",
            });
            expect(check(unsigned, "signature").verdict).to.equal("skip");
            expect(unsigned.admitted).to.equal(false);
            const hmac = await examine(issuer.sign(claims("ci", "image-builder"), { alg: "HS256" }));
            expect(check(hmac, "token")).to.deep.include({
                verdict: "fail",
                evidence: "the token is signed with HS256, a shared-secret algorithm STS never accepts; EKS issuers sign with RS256",
            });
            expect(hmac.summary).to.match(/^STS would refuse this token: token: /);
        });

        it("refuses when the discovery document names another issuer than the token", async function () {
            issuer.discoveryIssuer = `${issuer.issuerUrl}/`;
            try {
                const report = await examine(issuer.sign(claims("ci", "image-builder")));
                const c = check(report, "signature");
                expect(c.verdict).to.equal("fail");
                expect(c.evidence).to.equal(
                    `the discovery document ${discoveryUrl(issuer.issuerUrl)} names the issuer "${issuer.issuerUrl}/", but the token's iss is "${issuer.issuerUrl}"`,
                );
            } finally {
                issuer.discoveryIssuer = undefined;
            }
        });

        it("a chained workload: checks the web-identity hop into the cluster-account role, then that role's way into the pull role", async function () {
            const report = await examine(issuer.sign(claims("payments", "deployer")));
            expect(report.admitted, formatReport(report)).to.equal(true);
            expect(report.roles.map((r) => [r.roleArn, r.path, r.grant])).to.deep.equal([[CHAIN_B, "chaining", "payments"]]);
            expect(check(report, "chain").evidence).to.equal(`then ecr-pull-payments trusts ${CHAIN_B} for sts:AssumeRole (statement ChainFromClusterRoles)`);
            // The cluster account's provider was adopted, so the state has only its ARN.
            expect(check(report, "issuer").verdict).to.equal("skip");
            expect(verdicts(report)).to.include({ trust: "pass", audience: "pass", subject: "pass", chain: "pass" });
        });

        it("a chained pull role named directly: points at the cluster-account hop", async function () {
            const report = await examine(issuer.sign(claims("payments", "deployer")), { role: "ecr-pull-payments", eks: [] });
            const c = check(report, "trust");
            expect(c.verdict).to.equal("fail");
            expect(c.fix).to.equal(
                "This role is reached by role chaining: the token is for the cluster-account role, which then assumes ecr-pull-payments; give that EKS stack's export with --eks-state to check that hop.",
            );
        });

        it("a Pod Identity service account: says there is no token to check, and what to check instead", async function () {
            const report = await examine(issuer.sign(claims("ml", "trainer")));
            expect(report.admitted).to.equal(false);
            expect(report.roles.map((r) => [r.roleArn, r.path])).to.deep.equal([[PULL_ML, "podIdentity"]]);
            const c = check(report, "path");
            expect(c.verdict).to.equal("fail");
            expect(c.evidence).to.equal(
                'ml/trainer reaches grant "ml" by EKS Pod Identity: its pods get credentials from the Pod Identity agent, never by sts:AssumeRoleWithWebIdentity with this token, so there is no token to check',
            );
            expect(c.fix).to.equal(
                `Check the association instead: \`aws eks list-pod-identity-associations --cluster-name apps-b --namespace ml --service-account trainer\` must show target role ${PULL_ML}, ` +
                    "and the eks-pod-identity-agent add-on must run on the pod's node; the pull role's trust checks the session tags, not this token.",
            );
            // Without the EKS state, the pull role's Pod Identity trust tells the same.
            const alone = await examine(issuer.sign(claims("ml", "trainer")), { eks: [] });
            expect(alone.roles.map((r) => [r.roleArn, r.reason])).to.deep.equal([[PULL_ML, "its Pod Identity trust names the token's service account"]]);
            expect(check(alone, "path").verdict).to.equal("fail");
        });

        it("offline: reports signature and thumbprint as skipped and asks the issuer nothing", async function () {
            const before = issuer.requests.length;
            const report = await examine(issuer.sign(claims("ci", "image-builder")), {}, true);
            expect(issuer.requests.length).to.equal(before);
            expect(verdicts(report)).to.include({ signature: "skip", thumbprint: "skip", subject: "pass" });
            expect(report.admitted).to.equal(true);
        });

        it("a stale thumbprint in the provider: fails for an issuer AWS does not verify itself, with the thumbprint to list", async function () {
            const stale = await doctorStates(issuer.issuerUrl, "ab".repeat(20));
            const report = await examineToken(
                { token: issuer.sign(claims("ci", "image-builder")), ecr: stale.ecr, eks: [stale.eksB], now },
                { caPems: [issuer.caPem], connectTo: { host: "127.0.0.1", port: issuer.port } },
            );
            const c = check(report, "thumbprint");
            expect(c.verdict).to.equal("fail");
            expect(c.evidence).to.equal(
                `the issuer's top CA certificate has thumbprint ${issuer.thumbprint}, but the provider lists ${"ab".repeat(20)}. The EKS stack's oidcThumbprint output (${"ab".repeat(20)}) is stale too.`,
            );
            expect(c.fix).to.equal(
                'Run `pulumi up` on the EKS stack (ecrpull:oidcThumbprint fetch) and then on the ECR stack, so the provider lists the current thumbprint; or set ecrpull:oidcThumbprint to "omit" if the issuer\'s certificate chains to a CA AWS trusts.',
            );
            expect(c.sts).to.equal("InvalidIdentityToken: OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint");
            expect(report.admitted).to.equal(false);
        });

        it("network failures become failed checks that say what failed", async function () {
            const closed = await new Promise<number>((resolve) => {
                const s = net.createServer().listen(0, "127.0.0.1", () => {
                    const port = (s.address() as net.AddressInfo).port;
                    s.close(() => resolve(port));
                });
            });
            const token = issuer.sign(claims("ci", "image-builder"));
            const refused = await examineToken(
                { token, ecr: states.ecr, eks: [states.eksB], now },
                { caPems: [issuer.caPem], connectTo: { host: "127.0.0.1", port: closed }, timeoutMs: 2000 },
            );
            expect(check(refused, "signature").evidence).to.equal(
                `could not fetch the issuer's keys: GET ${discoveryUrl(issuer.issuerUrl)} failed: connection to 127.0.0.1:${closed} refused (ECONNREFUSED)`,
            );
            expect(check(refused, "thumbprint").evidence).to.equal("could not read the issuer's TLS chain: connection refused (ECONNREFUSED)");
            expect(refused.admitted).to.equal(false);

            // Without the test CA, the issuer's chain is not trusted: the message points at --ca.
            const untrusted = await examineToken(
                { token, ecr: states.ecr, eks: [states.eksB], now },
                { connectTo: { host: "127.0.0.1", port: issuer.port }, timeoutMs: 2000 },
            );
            expect(check(untrusted, "signature").evidence).to.equal(
                `could not fetch the issuer's keys: GET ${discoveryUrl(issuer.issuerUrl)} failed: the server's certificate chain is not trusted (SELF_SIGNED_CERT_IN_CHAIN); give the issuer's CA with --ca if it is a private one`,
            );
        });

        it("an unknown --role is named with the roles there are", async function () {
            const report = await examine(issuer.sign(claims("ci", "image-builder")), { role: "ecr-pull-nope" }, true);
            const c = check(report, "roles");
            expect(c.verdict).to.equal("fail");
            expect(c.evidence).to.match(/^no role "ecr-pull-nope" in the states given \(they hold .*ecr-pull-ci-builders.*\)$/);
            expect(c.fix).to.equal("Name a role of those states by ARN or name with --role, or give the state of the stack that owns it.");
        });
    });

    describe("EKS issuers (pure, with the issuer's answers given)", function () {
        it("a thumbprint mismatch is only a warning: AWS verifies EKS issuers' chains itself", async function () {
            const run = await runTwoStacks(
                [clusterA({ "ecrpull:oidcThumbprint": "fetch" }), clusterB()].map((s) => ({ ...s, fetchThumbprint: async () => "cd".repeat(20) })),
                registry(),
            );
            const ecr = parseStackExport(JSON.stringify(toStackExport(run.ecr, { stack: "ecr" })), "ecr.json");
            const eksA = parseStackExport(JSON.stringify(toStackExport(run.eks[0], { stack: "eks-a" })), "eks-a.json");
            const iss = String(eksA.outputs.oidcIssuerUrl);
            const token = issuer.sign(serviceAccountClaims(iss, "ci", "image-builder", now));
            const report = diagnoseToken(
                { token, ecr, eks: [eksA], now },
                {
                    keys: { ok: true, value: { discoveryUrl: discoveryUrl(iss), issuer: iss, jwksUri: `${iss}/keys`, keys: [issuer.key.publicJwk] } },
                    thumbprint: { ok: true, value: "ef".repeat(20) },
                },
            );
            const c = check(report, "thumbprint");
            expect(c.verdict).to.equal("warn");
            expect(c.evidence).to.equal(
                `the issuer's top CA certificate has thumbprint ${"ef".repeat(20)}, but the provider lists ${"cd".repeat(20)}. The EKS stack's oidcThumbprint output (${"cd".repeat(20)}) is stale too. AWS ignores thumbprints for EKS issuers, whose chain it verifies itself.`,
            );
            expect(report.admitted, formatReport(report)).to.equal(true);
        });
    });

    describe("signature, as jose checks it and as diagnoseToken checks it alone", function () {
        const b64 = (data: Buffer | string) => Buffer.from(data).toString("base64url");
        /** A token with this header (object, or its part as written), signed RS256 by `key`. */
        const signed = (header: Record<string, unknown> | string, payload: Record<string, unknown>, key: crypto.KeyObject) => {
            const input = `${typeof header === "string" ? header : b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}`;
            return `${input}.${b64(crypto.sign("RSA-SHA256", Buffer.from(input), key))}`;
        };
        /**
         * The signature check for a token and the keys the issuer publishes:
         * with jose's outcomes (as examineToken gathers them) and without
         * (diagnoseToken alone, synchronously). Both must say the same.
         */
        async function signatureCheck(token: string, keys: Record<string, unknown>[]): Promise<DoctorCheck> {
            const value = { discoveryUrl: discoveryUrl(issuer.issuerUrl), issuer: issuer.issuerUrl, jwksUri: `${issuer.issuerUrl}/keys`, keys };
            const input = { token, ecr: states.ecr, eks: [states.eksB], now };
            const signature = await verifySignature(token, value);
            const withJose = check(diagnoseToken(input, { keys: { ok: true, value }, signature }), "signature");
            const alone = check(diagnoseToken(input, { keys: { ok: true, value } }), "signature");
            expect(alone).to.deep.equal(withJose);
            return withJose;
        }
        const pass = (kid: string) => ({ verdict: "pass", evidence: `RS256 signature verifies with key "${kid}" from ${issuer.issuerUrl}/keys` });
        const notVerified = (kid: string) => ({
            verdict: "fail",
            evidence: `the signature does not verify with the published key ${kid} from ${issuer.issuerUrl}/keys`,
        });

        it("an RSA key shorter than 2048 bits, which jose refuses for RS256: says whether the signature verifies, as before", async function () {
            const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 1024 });
            const short = { ...publicKey.export({ format: "jwk" }), kid: "short-key", alg: "RS256", use: "sig" };
            const header = { alg: "RS256", typ: "JWT", kid: "short-key" };
            expect(await signatureCheck(signed(header, claims("ci", "image-builder"), privateKey), [short])).to.deep.include(pass("short-key"));
            expect(await signatureCheck(signed(header, claims("ci", "image-builder"), issuer.key.privateKey), [short])).to.deep.include(
                notVerified('"short-key"'),
            );
        });

        it("a published key whose alg, use or key_ops jose would refuse, or without alg: checked with its n and e, as before", async function () {
            const { kty, n, e } = issuer.key.publicJwk;
            const token = issuer.sign(claims("ci", "image-builder"));
            for (const key of [
                { kty, n, e, kid: "doctor-key-1" },
                { kty, n, e, kid: "doctor-key-1", alg: "RS512", use: "enc", key_ops: ["encrypt"] },
            ]) {
                expect(await signatureCheck(token, [key])).to.deep.include(pass("doctor-key-1"));
            }
        });

        it("a token without kid: tries every published key (jose's key set would refuse several matches)", async function () {
            const token = signed({ alg: "RS256", typ: "JWT" }, claims("ci", "image-builder"), issuer.key.privateKey);
            const others = [newSigningKey("other-1").publicJwk, newSigningKey("other-2").publicJwk];
            expect(await signatureCheck(token, [...others, issuer.key.publicJwk])).to.deep.include(pass("doctor-key-1"));
            expect(await signatureCheck(token, others)).to.deep.include(notVerified('(tried "other-1", "other-2")'));
        });

        it("a key under the token's kid that is not an RSA key: a broken key set, not a missing kid (as jose's key set would have it)", async function () {
            const ec = { ...crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "jwk" }), kid: "doctor-key-1" };
            expect(await signatureCheck(issuer.sign(claims("ci", "image-builder")), [ec])).to.deep.include({
                verdict: "fail",
                evidence:
                    'the published key cannot check the signature: key "doctor-key-1" is not an RSA public key (kty "EC"; RS256 needs kty "RSA" with n and e)',
                fix: "The issuer's key set is broken: publish the RSA public key of the service-account signing key (kty RSA, n, e) under the kid the tokens carry.",
            });
        });

        it("a header jose will not verify (a crit it does not implement, a part its strict base64url refuses): checked as before", async function () {
            const payload = claims("ci", "image-builder");
            const crit = signed({ alg: "RS256", kid: "doctor-key-1", crit: ["exp"], exp: 1 }, payload, issuer.key.privateKey);
            expect(await signatureCheck(crit, [issuer.key.publicJwk])).to.deep.include(pass("doctor-key-1"));
            // A lone trailing character (length % 4 == 1): Node's reading drops it, jose's refuses the part.
            const loose = signed(`${b64(JSON.stringify({ alg: "RS256", kid: "doctor-key-1" }))}A`, payload, issuer.key.privateKey);
            expect(decodeJwt(loose).header).to.deep.equal({ alg: "RS256", kid: "doctor-key-1" });
            expect(await signatureCheck(loose, [issuer.key.publicJwk])).to.deep.include(pass("doctor-key-1"));
            expect(await signatureCheck(`${crit}A`, [issuer.key.publicJwk])).to.deep.include(notVerified('"doctor-key-1"'));
        });

        it("claims that are not UTF-8 are read as Node reads them (U+FFFD), where jose refuses them", function () {
            const header = b64(JSON.stringify({ alg: "RS256", kid: "doctor-key-1" }));
            const payload = b64(Buffer.concat([Buffer.from('{"sub":"'), Buffer.from([0xff]), Buffer.from('"}')]));
            expect(decodeJwt(`${header}.${payload}.`).payload).to.deep.equal({ sub: "\uFFFD" });
        });
    });

    describe("token format", function () {
        const bad: Array<[string, string, string]> = [
            ["empty", "  \n", "The token is empty"],
            ["two parts", "abc.def", "The token has 2 parts, not 3"],
            ["header not JSON", "bm90IGpzb24.e30.", "The token's header does not decode to JSON"],
            [
                "payload an array",
                `${Buffer.from('{"alg":"RS256"}').toString("base64url")}.${Buffer.from("[1]").toString("base64url")}.`,
                "The token's payload decodes to [1], not a JSON object",
            ],
            ["bad characters", "a+b.e30.", "The token's header is not base64url text"],
            // jose's decoding would drop the byte order mark and read the JSON after it; JSON.parse, and so the doctor, does not.
            [
                "header with a byte order mark",
                `${Buffer.from('\uFEFF{"alg":"RS256"}').toString("base64url")}.e30.`,
                "The token's header does not decode to JSON",
            ],
        ];
        for (const [name, token, message] of bad) {
            it(`says what is wrong with a token that is ${name}`, function () {
                expect(() => decodeJwt(token)).to.throw(JwtError, message);
                const report = diagnoseToken({ token, ecr: states.ecr, now }, {});
                expect(check(report, "token").evidence).to.equal(
                    `${message}: a service-account token is three base64url parts separated by dots (header.payload.signature), as in the file /var/run/secrets/eks.amazonaws.com/serviceaccount/token.`,
                );
                expect(report.admitted).to.equal(false);
            });
        }
    });

    describe("CLI", function () {
        const bad: Array<[string[], string]> = [
            [["--ecr-state", "e.json"], "--token is required."],
            [["--token", "t"], "--ecr-state is required."],
            [["--token", "t", "--ecr-state"], "--ecr-state needs a value."],
            [
                ["--token", "t", "--ecr-state", "e", "--verbose"],
                'unknown argument "--verbose"; the options are --token, --ecr-state, --eks-state, --role, --json, --now, --ca, --connect-to, --timeout, --offline, --help.',
            ],
            [["--token", "t", "--token", "u", "--ecr-state", "e"], "--token is given 2 times; give it once."],
        ];
        for (const [argv, message] of bad) {
            it(`refuses ${argv.join(" ")}`, function () {
                expect(() => parseArguments(argv)).to.throw(UsageError, message);
            });
        }

        it("refuses a bad --now, --connect-to and --timeout by name", async function () {
            const base = parseArguments(["--token", "t", "--ecr-state", "e"]);
            for (const [change, message] of [
                [{ now: "yesterday" }, '--now "yesterday" is not a time: use ISO 8601, e.g. 2026-11-22T08:00:00Z.'],
                [{ connectTo: "localhost" }, '--connect-to "localhost" is not host:port: use e.g. 127.0.0.1:8443.'],
                [{ timeout: "soon" }, '--timeout "soon" is not a number of milliseconds: use a whole number of at least 1, e.g. 5000.'],
            ] as const) {
                let error: unknown;
                await runDoctor({ ...base, ...change }).catch((e) => (error = e));
                expect(error).to.be.instanceOf(UsageError);
                expect((error as Error).message).to.equal(message);
            }
        });

        it("end to end: exit 0 for a token that gets in, 1 for one that does not, 2 for bad arguments; --json is the report", async function () {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "doctor-test-"));
            try {
                const file = (name: string, text: string) => {
                    fs.writeFileSync(path.join(dir, name), text);
                    return path.join(dir, name);
                };
                const common = [
                    "--ecr-state",
                    file("ecr.json", states.text.ecr),
                    "--eks-state",
                    file("eks-b.json", states.text.eksB),
                    "--ca",
                    file("ca.pem", issuer.caPem),
                    "--connect-to",
                    `127.0.0.1:${issuer.port}`,
                ];
                const good = file("good", `${issuer.sign(claims("ci", "image-builder"))}\n`);
                const wrong = file("wrong", issuer.sign(claims("ci", "other")));
                const cli = (args: string[]) =>
                    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
                        // Asynchronous on purpose: the issuer runs in this process and must keep answering.
                        execFile(
                            process.execPath,
                            ["-r", "ts-node/register/transpile-only", path.resolve(__dirname, "../tools/cli/main.ts"), "doctor", ...args],
                            { cwd: path.resolve(__dirname, ".."), encoding: "utf8", timeout: 50000 },
                            (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
                        );
                    });
                const [ok, refused, json, usage] = await Promise.all([
                    cli(["--token", good, ...common]),
                    cli(["--token", wrong, ...common]),
                    cli(["--token", wrong, ...common, "--json"]),
                    cli(["--token", good]),
                ]);
                expect(ok.code, ok.stderr).to.equal(0);
                expect(ok.stdout).to.include(`✔ STS would let this token assume ${PULL_CI}.`);
                expect(ok.stdout).to.include('  ✔ signature  RS256 signature verifies with key "doctor-key-1"');
                expect(refused.code, refused.stderr).to.equal(1);
                expect(refused.stdout).to.include('  ✘ subject    sub "system:serviceaccount:ci:other" matches none of');
                expect(refused.stdout).to.include(
                    'fix: Run the pod as ci/image-builder, or add { namespace: ci, name: other } to the serviceAccounts of grant "ci-builders"',
                );
                expect(json.code).to.equal(1);
                const parsed = JSON.parse(json.stdout) as DoctorReport;
                expect(parsed.admitted).to.equal(false);
                expect(parsed.claims.sub).to.equal("system:serviceaccount:ci:other");
                expect(parsed.roles[0].checks.find((c) => c.check === "subject")?.verdict).to.equal("fail");
                expect(usage.code).to.equal(2);
                expect(usage.stderr).to.include("ecrpull doctor: --ecr-state is required.\nusage: ecrpull doctor --token <file> --ecr-state <file>");
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });
});
