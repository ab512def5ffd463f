/**
 * The local AWS endpoint of tests/real-clients.test.ts, checked on its own:
 * the World it builds from the programs' runs, SigV4 verification against an
 * independent signer (@smithy/signature-v4, what the JavaScript SDK signs
 * with), the STS checks before the trust policy, and the error shapes real
 * clients parse. No pod, no network.
 */
import { SignatureV4 } from "@smithy/signature-v4";
import { expect } from "chai";
import * as crypto from "crypto";
import { ControlPlane, POLICY, RequestContext, Session } from "./support/aws/control-plane";
import { handleEcr } from "./support/aws/ecr";
import { newIssuerKey, signJwt } from "./support/aws/jwt";
import { handleSts } from "./support/aws/sts";
import { verifySigV4 } from "./support/aws/sigv4";
import { clusterNamed, pullRoleArn, repositoryNamed, World } from "./support/aws/world";
import { IamSimulator } from "./support/simulate";
import { ACCOUNT_A, ACCOUNT_B, ISSUER_B, REGISTRY_ACCOUNT } from "./support/fixtures";
import { ISSUER_C, realClientsWorld } from "./support/pod-setups";

const ctx: RequestContext = { runId: "unit", userAgent: "test" };

async function signed(session: Session, host: string, service: string, region: string, body: string, headers: Record<string, string>) {
    const signer = new SignatureV4({
        credentials: { accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey, sessionToken: session.sessionToken },
        region,
        service,
        // The hash constructor doubles as HMAC when given a secret (@smithy/types Checksum).
        sha256: class {
            private readonly hash: crypto.Hash | crypto.Hmac;
            constructor(secret?: Uint8Array | string) {
                this.hash = secret === undefined ? crypto.createHash("sha256") : crypto.createHmac("sha256", secret);
            }
            update(data: Uint8Array | string) {
                this.hash.update(data);
            }
            async digest() {
                return new Uint8Array(this.hash.digest());
            }
        } as never,
    });
    const request = await signer.sign({ method: "POST", protocol: "https:", hostname: host, path: "/", headers: { host, ...headers }, body });
    const rawHeaders = Object.entries(request.headers).flat();
    return { method: "POST", url: "/", rawHeaders, body: Buffer.from(body) };
}

const tokenFor = (world: World, issuerUrl: string, sub: string, options: { aud?: string; exp?: number; key?: ReturnType<typeof newIssuerKey> } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return signJwt(
        { iss: issuerUrl, sub, aud: [options.aud ?? "sts.amazonaws.com"], iat: now, nbf: now, exp: options.exp ?? now + 3600 },
        options.key ?? world.issuers.get(issuerUrl)!.key,
    );
};

describe("local AWS endpoint (support for the real-clients tests)", function () {
    this.timeout(60000);
    let world: World;
    let plane: ControlPlane;

    before(async () => {
        world = await realClientsWorld();
        plane = new ControlPlane(world, new IamSimulator());
    });

    describe("worldFromRuns", () => {
        it("takes each account's roles, providers and repositories from its own run, and cluster providers from where AWS has them", () => {
            const apps = ["apps-a", "apps-b", "apps-c"].map((n) => clusterNamed(world, n));
            expect(apps.map((c) => c.account)).to.deep.equal([ACCOUNT_A, ACCOUNT_B, ACCOUNT_B]);
            const byOrigin = (origin: string) =>
                world.providers
                    .filter((p) => p.origin.startsWith(origin))
                    .map((p) => p.arn)
                    .sort();
            const host = (url: string) => url.replace("https://", "");
            expect(byOrigin("resource")).to.deep.equal(apps.map((c) => `arn:aws:iam::${REGISTRY_ACCOUNT}:oidc-provider/${host(c.issuerUrl)}`).sort());
            // @pulumi/eks hides the provider it creates; the EKS stack's outputs say where it is.
            expect(byOrigin("@pulumi/eks")).to.deep.equal([`arn:aws:iam::${ACCOUNT_A}:oidc-provider/${host(apps[0].issuerUrl)}`]);
            expect(byOrigin("adopted")).to.deep.equal(
                [`arn:aws:iam::${ACCOUNT_B}:oidc-provider/${host(ISSUER_B)}`, `arn:aws:iam::${ACCOUNT_B}:oidc-provider/${host(ISSUER_C)}`].sort(),
            );
            const pull = world.roles.get(pullRoleArn(world, "ci-builders"))!;
            expect(pull.account).to.equal(REGISTRY_ACCOUNT);
            expect(pull.identityPolicies.map((p) => p.name)).to.deep.equal(["ecr-pull-ci-builders/ecr-pull"]);
            const node = [...world.roles.values()].find((r) => r.account === ACCOUNT_A && r.trustPolicy.includes("ec2.amazonaws.com"))!;
            expect(node.identityPolicies.map((p) => p.name)).to.include("AmazonEC2ContainerRegistryPullOnly");
            expect(repositoryNamed(world, "archive/legacy").policy).to.be.a("string");
            expect(
                world.associations.map((a) => `${clusterNamed(world, a.clusterArn.split("/").pop()!).name} ${a.namespace}/${a.serviceAccount}`).sort(),
            ).to.deep.equal(["apps-a ml/trainer", "apps-b ml/trainer"]);
        });
    });

    describe("SigV4", () => {
        it("accepts what @smithy/signature-v4 signs and refuses a tampered body, another region, a wrong token and an unknown key", async () => {
            const session = plane.issue(world.roles.get(pullRoleArn(world, "ml"))!, "unit", {}, 3600, "test", false);
            const lookup = (akid: string) => plane.sessions.get(akid);
            const body = JSON.stringify({ repositoryName: "ml/models" });
            const headers = { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonEC2ContainerRegistry_V20150921.BatchGetImage" };
            const good = await signed(session, "api.ecr.eu-west-1.amazonaws.com", "ecr", "eu-west-1", body, headers);
            expect(verifySigV4(good, lookup, { region: "eu-west-1", service: "ecr" })).to.deep.include({ ok: true, accessKeyId: session.accessKeyId });
            expect(verifySigV4({ ...good, body: Buffer.from(body.replace("ml", "mx")) }, lookup, { region: "eu-west-1", service: "ecr" })).to.include({
                ok: false,
                code: "SignatureDoesNotMatch",
            });
            expect(verifySigV4(good, lookup, { region: "us-east-1", service: "ecr" })).to.include({ ok: false, code: "SignatureDoesNotMatch" });
            const wrongToken = good.rawHeaders.map((v, i) => (good.rawHeaders[i - 1]?.toLowerCase() === "x-amz-security-token" ? `${v}x` : v));
            expect(verifySigV4({ ...good, rawHeaders: wrongToken }, lookup, { region: "eu-west-1", service: "ecr" })).to.include({
                ok: false,
                code: "InvalidClientTokenId",
            });
            expect(verifySigV4(good, () => undefined, { region: "eu-west-1", service: "ecr" })).to.include({ ok: false, code: "InvalidClientTokenId" });
        });
    });

    describe("STS AssumeRoleWithWebIdentity", () => {
        const sub = "system:serviceaccount:ci:image-builder";
        const attempt = (token: string) => plane.webIdentity(ctx, pullRoleArn(world, "ci-builders"), token, "unit-session", 3600);

        it("issues a session for the granted service account, decided by evaluation", async () => {
            const outcome = await attempt(tokenFor(world, clusterNamed(world, "apps-a").issuerUrl, sub));
            expect(outcome.ok).to.equal(true);
            expect(plane.decisions.at(-1)).to.include({ action: "sts:AssumeRoleWithWebIdentity", verdict: "allow", reason: POLICY });
        });

        it("checks provider, signature, expiry and audience before the trust policy, with STS's codes", async () => {
            const a = clusterNamed(world, "apps-a").issuerUrl;
            const unknownIssuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/0000000000000000000000000000000F";
            expect(await attempt(tokenFor(world, unknownIssuer, sub, { key: newIssuerKey("x") }))).to.deep.include({
                ok: false,
                code: "InvalidIdentityToken",
                message: `No OpenIDConnect provider found in your account for ${unknownIssuer}`,
            });
            expect(await attempt(tokenFor(world, a, sub, { key: newIssuerKey("forged") }))).to.include({
                ok: false,
                status: 400,
                code: "InvalidIdentityToken",
            });
            expect(await attempt(tokenFor(world, a, sub, { exp: Math.floor(Date.now() / 1000) - 10 }))).to.include({
                ok: false,
                code: "ExpiredTokenException",
            });
            expect(await attempt(tokenFor(world, a, sub, { aud: "pods.eks.amazonaws.com" }))).to.deep.include({
                ok: false,
                code: "InvalidIdentityToken",
                message: "Incorrect token audience",
            });
            expect(await attempt(tokenFor(world, a, "system:serviceaccount:ci:other"))).to.deep.include({
                ok: false,
                status: 403,
                code: "AccessDenied",
                message: "Not authorized to perform sts:AssumeRoleWithWebIdentity",
            });
            expect(plane.decisions.at(-1)).to.include({ verdict: "deny", reason: POLICY });
        });

        it("answers a refusal as STS does: HTTP 403, an XML ErrorResponse of Type Sender", async () => {
            const token = tokenFor(world, clusterNamed(world, "apps-a").issuerUrl, "system:serviceaccount:ci:other");
            const body = new URLSearchParams({
                Action: "AssumeRoleWithWebIdentity",
                Version: "2011-06-15",
                RoleArn: pullRoleArn(world, "ci-builders"),
                RoleSessionName: "unit-session",
                WebIdentityToken: token,
            });
            const answer = await handleSts(
                plane,
                ctx,
                { method: "POST", url: "/", rawHeaders: [], body: Buffer.from(body.toString()) },
                "sts.eu-west-1.amazonaws.com",
            );
            expect(answer.status).to.equal(403);
            expect(answer.body).to.match(
                /^<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">\s*<Error>\s*<Type>Sender<\/Type>\s*<Code>AccessDenied<\/Code>\s*<Message>Not authorized to perform sts:AssumeRoleWithWebIdentity<\/Message>\s*<\/Error>\s*<RequestId>[0-9a-f-]+<\/RequestId>\s*<\/ErrorResponse>\s*$/,
            );
        });
    });

    describe("STS AssumeRole", () => {
        it("reads session tags from Tags.member.N and decides sts:AssumeRole and sts:TagSession with them", async () => {
            const podRole = world.associations.find((a) => a.clusterArn === clusterNamed(world, "apps-a").arn)!.roleArn;
            const caller = plane.issue(world.roles.get(podRole)!, "eks-apps-a-trainer-0", {}, 3600, "test", false);
            const ask = async (tags: Record<string, string>) => {
                const params = new URLSearchParams({
                    Action: "AssumeRole",
                    Version: "2011-06-15",
                    RoleArn: pullRoleArn(world, "ml"),
                    RoleSessionName: "unit-session",
                });
                Object.entries(tags).forEach(([key, value], i) => {
                    params.set(`Tags.member.${i + 1}.Key`, key);
                    params.set(`Tags.member.${i + 1}.Value`, value);
                });
                const request = await signed(caller, "sts.eu-west-1.amazonaws.com", "sts", "eu-west-1", params.toString(), {
                    "content-type": "application/x-www-form-urlencoded; charset=utf-8",
                });
                return handleSts(plane, ctx, request, "sts.eu-west-1.amazonaws.com");
            };
            const tags = { "eks-cluster-arn": clusterNamed(world, "apps-a").arn, "kubernetes-namespace": "ml", "kubernetes-service-account": "trainer" };
            const allowed = await ask(tags);
            expect(allowed.status, allowed.body).to.equal(200);
            expect(allowed.body).to.match(
                /<AssumeRoleResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">[\s\S]*<Arn>arn:aws:sts::111122223333:assumed-role\/ecr-pull-ml\/unit-session<\/Arn>/,
            );
            expect(plane.decisions.slice(-2).map((d) => `${d.action} ${d.verdict}`)).to.deep.equal(["sts:AssumeRole allow", "sts:TagSession allow"]);
            for (const wrong of [{ ...tags, "kubernetes-namespace": "default" }, {}]) {
                const denied = await ask(wrong);
                expect(denied.status).to.equal(403);
                expect(denied.body).to.contain(
                    `<Code>AccessDenied</Code>\n    <Message>User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${pullRoleArn(world, "ml")}</Message>`,
                );
            }
        });
    });

    describe("ECR", () => {
        const call = async (session: Session, operation: string, input: object) => {
            const target = `AmazonEC2ContainerRegistry_V20150921.${operation}`;
            const request = await signed(session, "api.ecr.eu-west-1.amazonaws.com", "ecr", "eu-west-1", JSON.stringify(input), {
                "content-type": "application/x-amz-json-1.1",
                "x-amz-target": target,
            });
            return handleEcr(plane, ctx, request, "api.ecr.eu-west-1.amazonaws.com", target);
        };

        it("serves the layer calls of a pull to the grant's role, by evaluation", async () => {
            const session = plane.issue(world.roles.get(pullRoleArn(world, "ml"))!, "unit", {}, 3600, "test", false);
            const layer = repositoryNamed(world, "ml/models").images[0].layers[0];
            const url = await call(session, "GetDownloadUrlForLayer", { registryId: REGISTRY_ACCOUNT, repositoryName: "ml/models", layerDigest: layer.digest });
            expect(url.status, url.body).to.equal(200);
            expect(JSON.parse(url.body)).to.include({ layerDigest: layer.digest });
            const check = await call(session, "BatchCheckLayerAvailability", {
                registryId: REGISTRY_ACCOUNT,
                repositoryName: "ml/models",
                layerDigests: [layer.digest],
            });
            expect(JSON.parse(check.body).layers).to.deep.equal([{ layerDigest: layer.digest, layerAvailability: "AVAILABLE", layerSize: layer.size }]);
            const other = await call(session, "GetDownloadUrlForLayer", {
                registryId: REGISTRY_ACCOUNT,
                repositoryName: "payments/api",
                layerDigest: layer.digest,
            });
            expect(JSON.parse(other.body).__type).to.equal("AccessDeniedException");
        });

        it("answers a refusal as ECR does: HTTP 400 with __type AccessDeniedException and the User … is not authorized message", async () => {
            const session = plane.issue(world.roles.get(pullRoleArn(world, "ml"))!, "unit", {}, 3600, "test", false);
            const repository = repositoryNamed(world, "payments/api");
            const body = JSON.stringify({ registryId: REGISTRY_ACCOUNT, repositoryName: repository.name, imageIds: [{ imageTag: "1.0.0" }] });
            const target = "AmazonEC2ContainerRegistry_V20150921.BatchGetImage";
            const request = await signed(session, "api.ecr.eu-west-1.amazonaws.com", "ecr", "eu-west-1", body, {
                "content-type": "application/x-amz-json-1.1",
                "x-amz-target": target,
            });
            const answer = await handleEcr(plane, ctx, request, "api.ecr.eu-west-1.amazonaws.com", target);
            expect(answer.status).to.equal(400);
            expect(JSON.parse(answer.body)).to.deep.equal({
                __type: "AccessDeniedException",
                message: `User: ${session.arn} is not authorized to perform: ecr:BatchGetImage on resource: ${repository.arn}`,
            });
            expect(plane.decisions.at(-1)).to.include({
                caller: session.arn,
                action: "ecr:BatchGetImage",
                resource: repository.arn,
                verdict: "deny",
                reason: POLICY,
            });
        });
    });
});
