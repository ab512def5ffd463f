/**
 * Organization scope with real AWS client software: the example project
 * examples/organization-scope, run as `ecrpull plan` runs it (runProject on
 * its Pulumi.ecr.yaml, the grants from its ESC environment), served by the
 * local STS, ECR and Pod Identity agent (tests/support/aws/), which decide
 * every call with iam-simulate on the documents the runs produced. The only
 * thing that changes between the worlds below is where the cluster account
 * sits in AWS Organizations: the documents, the pods and the clients are the
 * same, so whatever differs is the organization condition at work.
 *
 * - Grant platform (chaining, the whole organization): each real client in
 *   a pod of apps-blue with the pod settings the EKS stack exported chains
 *   from the cluster-side role at /ecrpull/platform/ into ecr-pull-platform
 *   and pulls platform/base-images, and is refused payments/api; with the
 *   cluster account outside any organization, or in another one, the same
 *   pod gets its web identity and is then refused sts:AssumeRole.
 * - Grant payments (Pod Identity, an OU and the OUs below it): the
 *   JavaScript SDK pulls payments/api with the cluster account in an OU
 *   below the grant's, and is refused when the account sits in another OU
 *   of the organization. Clients too old for Pod Identity are skipped by
 *   name with what they said, as in tests/real-clients.test.ts.
 *
 * Without root (no pods) those tests are skipped and say why, as in
 * tests/real-clients.test.ts; the last part, which calls the endpoint's
 * control plane directly, runs anyway.
 */
import { expect } from "chai";
import * as path from "path";
import { runProject } from "../tools/engine/project-run";
import { ControlPlane, Decision, POLICY } from "./support/aws/control-plane";
import { signJwt } from "./support/aws/jwt";
import { clusterNamed, organizationOf, pullRoleArn, repositoryNamed, workloadExport, World, worldFromExampleRuns } from "./support/aws/world";
import { Harness, Scenario, ScenarioRun } from "./support/clients/harness";
import { jsSdk, Op, REAL_CLIENTS, RealClient } from "./support/clients/real-clients";
import { podsUnavailable } from "./support/pod/run";
import { AccessPath, podSetupFor, Workload } from "./support/pod-setups";
import { IamSimulator } from "./support/simulate";
import { OrganizationFacts } from "../tools/report/report";

const ECR_FILE = path.join(__dirname, "..", "examples", "organization-scope", "Pulumi.ecr.yaml");
const CONCURRENCY = 3;

interface Case {
    readonly grant: string;
    readonly path: AccessPath;
    readonly workload: Workload;
    readonly granted: string;
    readonly outside: string;
}

/** The example's two scoped grants, each with the workload apps-blue runs for it (Pulumi.eks-blue.yaml). */
const PLATFORM: Case = {
    grant: "platform",
    path: "chaining",
    workload: { cluster: "apps-blue", namespace: "ci", serviceAccount: "image-builder" },
    granted: "platform/base-images",
    outside: "payments/api",
};
const PAYMENTS: Case = {
    grant: "payments",
    path: "podIdentity",
    workload: { cluster: "apps-blue", namespace: "payments", serviceAccount: "release-deployer" },
    granted: "payments/api",
    outside: "platform/base-images",
};

/** Made up for the refusals: an OU of the same organization beside the payments OU, and another organization. */
const OTHER_OU_ID = "ou-ab12-33333333";
const BELOW_OU_ID = "ou-ab12-22222222";
const OTHER_ORGANIZATION_ROOT = "o-zz9y8x7w6v/r-cd34/";

type Placement = "inOrganization" | "outsideOrganization" | "otherOrganization" | "otherOu";

/** Where the cluster account sits in each world (the registry account is at the organization's root in all of them). */
interface Placements {
    readonly organization: string;
    readonly root: string;
    readonly paymentsOu: string;
    readonly cluster: Readonly<Record<Placement, string | undefined>>;
}

function placementsOf(grants: readonly { name: string; scope?: { organization?: string; organizationalUnits?: string[] } }[]): Placements {
    const platform = grants.find((g) => g.name === PLATFORM.grant);
    const payments = grants.find((g) => g.name === PAYMENTS.grant);
    const organization = platform?.scope?.organization;
    const ou = payments?.scope?.organizationalUnits?.[0];
    if (!organization || platform?.scope?.organizationalUnits || payments?.scope?.organization !== organization || !ou?.endsWith("/*")) {
        throw new Error(`the example's grants are no longer as this test reads them: ${JSON.stringify(grants)}`);
    }
    const paymentsOu = ou.slice(0, -1);
    const root = paymentsOu.replace(/ou-[^/]+\/$/, "");
    return {
        organization,
        root,
        paymentsOu,
        cluster: {
            // Below the grant's OU: `<ou>/*` takes in the OUs under it.
            inOrganization: `${paymentsOu}${BELOW_OU_ID}/`,
            outsideOrganization: undefined,
            otherOrganization: OTHER_ORGANIZATION_ROOT,
            otherOu: `${root}${OTHER_OU_ID}/`,
        },
    };
}

const PLACEMENTS: readonly Placement[] = ["inOrganization", "outsideOrganization", "otherOrganization", "otherOu"];

/** The example's stacks, run once for the file (runProject, as `ecrpull plan` runs them), and where each world puts the accounts. */
let exampleRun:
    | Promise<{
          runs: Parameters<typeof worldFromExampleRuns>[0];
          placements: Placements;
          organizations: Readonly<Record<Placement, OrganizationFacts>>;
      }>
    | undefined;

function runExample(): NonNullable<typeof exampleRun> {
    exampleRun ??= runProject({ ecrFile: ECR_FILE }).then((run) => {
        const placements = placementsOf(run.ecr.config["ecrpull:grants"] as Parameters<typeof placementsOf>[0]);
        const clusterAccount = run.eks.find((e) => e.clusterName === PLATFORM.workload.cluster)!.accountId;
        const registryAccount = String(run.ecr.run.outputs.registryAccountId);
        const organizations = Object.fromEntries(
            PLACEMENTS.map((placement) => {
                const clusterPath = placements.cluster[placement];
                return [
                    placement,
                    organizationOf(placements.organization, { [registryAccount]: placements.root, ...(clusterPath ? { [clusterAccount]: clusterPath } : {}) }),
                ];
            }),
        ) as Record<Placement, OrganizationFacts>;
        return { runs: { eks: run.eks, ecr: run.ecr.run }, placements, organizations };
    });
    return exampleRun;
}

const harnesses: Record<Placement, Harness> = {
    inOrganization: new Harness(REAL_CLIENTS),
    outsideOrganization: new Harness(REAL_CLIENTS),
    otherOrganization: new Harness(REAL_CLIENTS),
    otherOu: new Harness(REAL_CLIENTS),
};
let placements: Placements | undefined;

function ops(world: World, c: Case, kind: "granted" | "refused"): Op[] {
    const registryId = world.registry.accountId;
    if (kind === "refused") {
        return [{ kind: "get-caller-identity" }, { kind: "batch-get-image", registryId, repository: c.granted, tag: "1.0.0" }];
    }
    return [
        { kind: "get-caller-identity" },
        { kind: "get-authorization-token" },
        { kind: "batch-get-image", registryId, repository: c.granted, tag: "1.0.0" },
        { kind: "batch-get-image", registryId, repository: c.outside, tag: "1.0.0" },
    ];
}

const scenario = (world: World, c: Case, kind: "granted" | "refused"): Scenario => ({
    key: `${c.grant}/${kind}`,
    setup: podSetupFor(c.path, world, c.workload),
    ops: ops(world, c, kind),
});

const scopeOf = (s: Scenario) => (s.key.startsWith(`${PAYMENTS.grant}/`) ? PAYMENTS.path : PLATFORM.path);
const failureText = (run: ScenarioRun) => run.results.map((r) => `${r.op}: ${r.ok ? "ok" : `${r.code}: ${r.message}`}`).join("\n");
const decisionsText = (run: ScenarioRun) => JSON.stringify(run.decisions, null, 1);
const roleOfSession = (arn: string | undefined) => /^arn:aws:sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(arn ?? "");
/** What STS calls a session of this role: the role's name, without its path. */
const sessionArnPattern = (roleArn: string) => {
    const [, account, name] = /^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn)!;
    return new RegExp(`^arn:aws:sts::${account}:assumed-role/${name.replace(/[.+]/g, "\\$&")}/[\\w+=,.@-]+$`);
};
const orgContext = (orgPath: string) => ({ "aws:PrincipalOrgID": orgPath.split("/")[0], "aws:PrincipalOrgPaths": [orgPath] });

/**
 * What a request by a Pod Identity session carries besides the organization
 * keys: the session tags EKS set, as principal tags (the pod's name and UID
 * tags too, which differ per pod and are only checked to be there).
 */
function expectPodIdentityContext(decision: Decision, world: World, c: Case, orgPath: string): void {
    const expected = {
        ...orgContext(orgPath),
        "aws:PrincipalTag/eks-cluster-arn": clusterNamed(world, c.workload.cluster).arn,
        "aws:PrincipalTag/eks-cluster-name": c.workload.cluster,
        "aws:PrincipalTag/kubernetes-namespace": c.workload.namespace,
        "aws:PrincipalTag/kubernetes-service-account": c.workload.serviceAccount,
    };
    const podTags = ["aws:PrincipalTag/kubernetes-pod-name", "aws:PrincipalTag/kubernetes-pod-uid"];
    expect(decision.context).to.deep.include(expected);
    expect(Object.keys(decision.context ?? {}).sort()).to.deep.equal([...Object.keys(expected), ...podTags].sort());
}

/**
 * What a client surfaces when EKS Auth refuses: the JavaScript SDK retries
 * the agent, then falls through its chain to the ECS provider and throws
 * CredentialsProviderError (observed with credential-provider-node 3.972;
 * the same table as tests/real-clients.test.ts).
 */
const SURFACED_POD_IDENTITY_ERROR: Readonly<Partial<Record<RealClient["id"], string>>> = { "js-sdk": "CredentialsProviderError" };

function skipUnlessRun(context: Mocha.Context, h: Harness, client: RealClient, scope: string): void {
    if (!h.world || h.skipReason(client, scope)) {
        context.skip();
    }
}

/** The cluster-side role of a workload as the EKS stack exported it: at /ecrpull/<grant>/. */
function clusterRoleOf(world: World, c: Case): string {
    const role = workloadExport(world, clusterNamed(world, c.workload.cluster), c.workload.namespace, c.workload.serviceAccount).clusterRoleArn;
    expect(role).to.match(new RegExp(`^arn:aws:iam::\\d{12}:role/ecrpull/${c.grant}/[\\w+=,.@-]+$`));
    return role;
}

/** The decision of `action` on the pull role by a session of the cluster-side role, with the organization keys it carried. */
function assumeDecision(run: ScenarioRun, world: World, c: Case, action: "sts:AssumeRole" | "sts:TagSession"): Decision {
    const pull = pullRoleArn(world, c.grant);
    const decision = run.decisions.find((d) => d.action === action && d.resource === pull);
    expect(decision, `${action} on ${pull} reached the endpoint\n${failureText(run)}\n${decisionsText(run)}`).to.not.equal(undefined);
    expect(decision!.caller).to.match(sessionArnPattern(clusterRoleOf(world, c)));
    return decision!;
}

describe("real AWS clients in emulated pods: organization-scoped grants (examples/organization-scope)", function () {
    this.timeout(300000);

    before(async function () {
        const unavailable = podsUnavailable();
        if (unavailable) {
            for (const h of Object.values(harnesses)) {
                for (const client of REAL_CLIENTS) {
                    h.skip(client, "all", unavailable);
                }
            }
            this.skip();
        }
        // One run of the example's stacks; each world places the cluster account differently.
        const example = await runExample();
        placements = example.placements;
        for (const placement of PLACEMENTS) {
            await harnesses[placement].start(async () => worldFromExampleRuns(example.runs, { organization: example.organizations[placement] }));
        }

        // Phase 1, in the organization: both grants with every client; Pod Identity shows which clients lack it.
        const inOrg = harnesses.inOrganization;
        await inOrg.runAll([scenario(inOrg.world, PLATFORM, "granted"), scenario(inOrg.world, PAYMENTS, "granted")], scopeOf, CONCURRENCY);
        for (const client of inOrg.usable) {
            const r = inOrg.get(`${PAYMENTS.grant}/granted`, client);
            if (!r.results[0].ok && !r.decisions.some((d) => d.api === "eks-auth")) {
                const reason = `never called the Pod Identity agent (${r.pod.env.find(([k]) => k === "AWS_CONTAINER_CREDENTIALS_FULL_URI")?.join("=")}); it said: ${r.results[0].code}: ${r.results[0].message}`;
                // The only worlds that run Pod Identity pods.
                harnesses.inOrganization.skip(client, PAYMENTS.path, reason);
                harnesses.otherOu.skip(client, PAYMENTS.path, reason);
            }
        }
        // Phase 2, the refusals: the same pods with the cluster account elsewhere.
        for (const placement of ["outsideOrganization", "otherOrganization"] as const) {
            const h = harnesses[placement];
            await h.runAll([scenario(h.world, PLATFORM, "refused")], scopeOf, CONCURRENCY);
        }
        const otherOu = harnesses.otherOu;
        await otherOu.runAll([scenario(otherOu.world, PAYMENTS, "refused")], scopeOf, CONCURRENCY);
    });

    after(() => {
        // A client's skip once, in the form CI looks for ("[real-clients] SKIPPED ...: every test: ..."); then each world's runs.
        const skipped = new Set<string>();
        const runs: string[] = [];
        for (const [placement, h] of Object.entries(harnesses)) {
            for (const line of h.summary()) {
                if (line.startsWith("[real-clients] SKIPPED ")) {
                    skipped.add(line.replace("[real-clients] SKIPPED ", "[real-clients] SKIPPED (organization scope) "));
                } else {
                    runs.push(line.replace("[real-clients]", `[real-clients org-scope ${placement}]`));
                }
            }
        }
        [...skipped, ...runs].forEach((line) => console.log(line));
    });

    it("serves the example as generated: the cluster-side roles at /ecrpull/<grant>/, the pod's AWS config naming that ARN, no stray request", function () {
        const h = harnesses.inOrganization;
        if (!h.world) {
            this.skip();
        }
        const chainRole = clusterRoleOf(h.world, PLATFORM);
        const podIdRole = clusterRoleOf(h.world, PAYMENTS);
        expect(h.world.roles.get(chainRole)?.name, "the world finds the role by its ARN with the path").to.equal(chainRole.split("/").pop());
        expect(h.world.roles.get(podIdRole)?.name).to.equal(podIdRole.split("/").pop());
        const setup = podSetupFor(PLATFORM.path, h.world, PLATFORM.workload);
        const config = setup.configMaps.find((c) => c.metadata.namespace === PLATFORM.workload.namespace && c.metadata.name === `ecr-pull-${PLATFORM.grant}`);
        expect(config?.data.config).to.contain(`role_arn = ${chainRole}\n`);
        expect(h.world.associations.find((a) => a.namespace === PAYMENTS.workload.namespace)?.roleArn).to.equal(podIdRole);
        for (const other of Object.values(harnesses)) {
            expect(other.endpoint.strayRequests).to.deep.equal([]);
        }
    });

    describe(`grant platform (chaining, organization scope): the cluster account in the organization`, () => {
        for (const client of REAL_CLIENTS) {
            it(`${client.label}: chains from the role at /ecrpull/platform/ into ecr-pull-platform, pulls platform/base-images, is refused payments/api`, function () {
                const h = harnesses.inOrganization;
                skipUnlessRun(this, h, client, PLATFORM.path);
                const run = h.get(`${PLATFORM.grant}/granted`, client);
                const pull = pullRoleArn(h.world, PLATFORM.grant);
                const role = roleOfSession(run.callerArn);
                expect(role, failureText(run)).to.not.equal(null);
                expect(`arn:aws:iam::${role![1]}:role/${role![2]}`).to.equal(pull);

                const web = run.decisions.find((d) => d.action === "sts:AssumeRoleWithWebIdentity");
                expect(web, decisionsText(run)).to.include({ verdict: "allow", reason: POLICY, resource: clusterRoleOf(h.world, PLATFORM) });
                const assume = assumeDecision(run, h.world, PLATFORM, "sts:AssumeRole");
                expect(assume).to.include({ verdict: "allow", reason: POLICY });
                expect(assume.context).to.deep.equal(orgContext(placements!.cluster.inOrganization!));

                const [, token, granted, outside] = run.results;
                expect(token.ok, failureText(run)).to.equal(true);
                expect(granted.ok, failureText(run)).to.equal(true);
                expect(granted.digest).to.equal(repositoryNamed(h.world, PLATFORM.granted).images[0].digest);
                const outsideRepository = repositoryNamed(h.world, PLATFORM.outside);
                expect(outside.ok, failureText(run)).to.equal(false);
                expect(outside.code).to.equal("AccessDeniedException");
                expect(outside.message).to.contain(`is not authorized to perform: ecr:BatchGetImage on resource: ${outsideRepository.arn}`);
                expect(run.decisions.find((d) => d.action === "ecr:BatchGetImage" && d.resource === outsideRepository.arn)).to.include({
                    verdict: "deny",
                    reason: POLICY,
                });
                // The pull role's ECR calls carry the registry account's organization keys.
                const pulled = run.decisions.find((d) => d.action === "ecr:BatchGetImage" && d.verdict === "allow");
                expect(pulled?.context, decisionsText(run)).to.deep.equal(orgContext(placements!.root));
            });
        }
    });

    for (const [placement, where] of [
        ["outsideOrganization", "outside any organization"],
        ["otherOrganization", "in another organization"],
    ] as const) {
        describe(`grant platform: the cluster account ${where}`, () => {
            for (const client of REAL_CLIENTS) {
                it(`${client.label}: the same pod gets its web identity, then is refused sts:AssumeRole into ecr-pull-platform (AccessDenied by evaluation)`, function () {
                    const h = harnesses[placement];
                    skipUnlessRun(this, h, client, PLATFORM.path);
                    const run = h.get(`${PLATFORM.grant}/refused`, client);
                    expect(
                        run.results.every((r) => !r.ok),
                        failureText(run),
                    ).to.equal(true);
                    expect(run.callerArn).to.equal(undefined);
                    expect(run.decisions.find((d) => d.action === "sts:AssumeRoleWithWebIdentity")).to.include({ verdict: "allow", reason: POLICY });
                    const assume = assumeDecision(run, h.world, PLATFORM, "sts:AssumeRole");
                    expect(assume).to.include({ verdict: "deny", reason: POLICY });
                    const clusterPath = placements!.cluster[placement];
                    expect(assume.context).to.deep.equal(clusterPath ? orgContext(clusterPath) : undefined);
                    expect(run.decisions.filter((d) => d.api === "ecr")).to.deep.equal([]);
                    expect(`${run.results[0].code} ${run.results[0].message}`).to.contain("AccessDenied");
                    expect(`${run.results[0].code} ${run.results[0].message}`).to.contain(pullRoleArn(h.world, PLATFORM.grant));
                });
            }
        });
    }

    describe("grant payments (Pod Identity, scoped to an OU and the OUs below it)", () => {
        for (const client of REAL_CLIENTS) {
            it(`${client.label}: in an OU below the grant's, ends as ecr-pull-payments through the agent and pulls payments/api, not platform/base-images`, function () {
                const h = harnesses.inOrganization;
                skipUnlessRun(this, h, client, PAYMENTS.path);
                const run = h.get(`${PAYMENTS.grant}/granted`, client);
                const role = roleOfSession(run.callerArn);
                expect(`arn:aws:iam::${role?.[1]}:role/${role?.[2]}`, failureText(run)).to.equal(pullRoleArn(h.world, PAYMENTS.grant));
                const first = run.decisions.find((d) => d.caller === "pods.eks.amazonaws.com" && d.action === "sts:AssumeRole");
                expect(first, decisionsText(run)).to.include({ verdict: "allow", resource: clusterRoleOf(h.world, PAYMENTS) });
                for (const action of ["sts:AssumeRole", "sts:TagSession"] as const) {
                    const decision = assumeDecision(run, h.world, PAYMENTS, action);
                    expect(decision).to.include({ api: "eks-auth", verdict: "allow", reason: POLICY });
                    expectPodIdentityContext(decision, h.world, PAYMENTS, placements!.cluster.inOrganization!);
                }
                const [, token, granted, outside] = run.results;
                expect(token.ok, failureText(run)).to.equal(true);
                expect(granted.ok, failureText(run)).to.equal(true);
                expect(granted.digest).to.equal(repositoryNamed(h.world, PAYMENTS.granted).images[0].digest);
                expect(outside.ok, failureText(run)).to.equal(false);
                expect(outside.code).to.equal("AccessDeniedException");
                expect(run.decisions.find((d) => d.action === "ecr:BatchGetImage" && d.resource === repositoryNamed(h.world, PAYMENTS.outside).arn)).to.include(
                    {
                        verdict: "deny",
                        reason: POLICY,
                    },
                );
            });

            it(`${client.label}: in another OU of the organization, EKS Auth is refused sts:AssumeRole into ecr-pull-payments`, function () {
                const h = harnesses.otherOu;
                skipUnlessRun(this, h, client, PAYMENTS.path);
                const run = h.get(`${PAYMENTS.grant}/refused`, client);
                expect(
                    run.results.every((r) => !r.ok),
                    failureText(run),
                ).to.equal(true);
                expect(run.callerArn).to.equal(undefined);
                const first = run.decisions.find((d) => d.caller === "pods.eks.amazonaws.com" && d.action === "sts:AssumeRole");
                expect(first, decisionsText(run)).to.include({ verdict: "allow", resource: clusterRoleOf(h.world, PAYMENTS) });
                const assume = assumeDecision(run, h.world, PAYMENTS, "sts:AssumeRole");
                expect(assume).to.include({ api: "eks-auth", verdict: "deny", reason: POLICY });
                expectPodIdentityContext(assume, h.world, PAYMENTS, placements!.cluster.otherOu!);
                expect(run.decisions.filter((d) => d.api === "ecr")).to.deep.equal([]);
                expect(`${run.results[0].code} ${run.results[0].message}`).to.contain(SURFACED_POD_IDENTITY_ERROR[client.id] ?? "AccessDeniedException");
            });
        }
    });

    it("runs the JavaScript SDK on both grants (the one client every machine has): nothing here passes without a client run", function () {
        const h = harnesses.inOrganization;
        if (!h.world) {
            this.skip();
        }
        for (const [placement, key] of [
            ["inOrganization", `${PLATFORM.grant}/granted`],
            ["inOrganization", `${PAYMENTS.grant}/granted`],
            ["outsideOrganization", `${PLATFORM.grant}/refused`],
            ["otherOrganization", `${PLATFORM.grant}/refused`],
            ["otherOu", `${PAYMENTS.grant}/refused`],
        ] as const) {
            expect(harnesses[placement].get(key, jsSdk).run.results.length, `${placement} ${key}`).to.be.greaterThan(0);
        }
    });
});

describe("organization keys of the local endpoint, without pods (what the pods above rely on; runs without root)", function () {
    this.timeout(60000);
    const ctx = { runId: "org-scope-unit", userAgent: "test" };

    it("adds aws:PrincipalOrgID and aws:PrincipalOrgPaths of the caller's account to a role session's sts:AssumeRole, never to a web identity; a world without an organization adds none", async () => {
        const example = await runExample();
        const expected: Record<Placement | "noOrganization", boolean> = {
            inOrganization: true,
            otherOu: true,
            outsideOrganization: false,
            otherOrganization: false,
            noOrganization: false,
        };
        for (const placement of Object.keys(expected) as (keyof typeof expected)[]) {
            const organization = placement === "noOrganization" ? undefined : example.organizations[placement];
            const world = worldFromExampleRuns(example.runs, { organization });
            const plane = new ControlPlane(world, new IamSimulator());
            const cluster = clusterNamed(world, PLATFORM.workload.cluster);
            const chainRole = clusterRoleOf(world, PLATFORM);
            const now = Math.floor(Date.now() / 1000);
            const token = signJwt(
                {
                    iss: cluster.issuerUrl,
                    sub: `system:serviceaccount:${PLATFORM.workload.namespace}:${PLATFORM.workload.serviceAccount}`,
                    aud: ["sts.amazonaws.com"],
                    iat: now,
                    nbf: now,
                    exp: now + 3600,
                },
                world.issuers.get(cluster.issuerUrl)!.key,
            );
            const web = await plane.webIdentity(ctx, chainRole, token, "builder", 3600);
            expect(web.ok, `${placement}: ${JSON.stringify(web)}`).to.equal(true);
            const session = (web as Extract<typeof web, { ok: true }>).session;
            // STS names a session by the role's name: the path is not part of the session ARN.
            expect(session.arn, placement).to.equal(`arn:aws:sts::${cluster.account}:assumed-role/${chainRole.split("/").pop()}/builder`);
            const assumed = await plane.assumeRole(ctx, session, pullRoleArn(world, PLATFORM.grant), "builder", {}, 3600);
            expect(assumed.ok, `${placement}: ${JSON.stringify(assumed)}`).to.equal(expected[placement]);
            const [webDecision, assumeRecord] = plane.decisions;
            expect(webDecision).to.include({ action: "sts:AssumeRoleWithWebIdentity", verdict: "allow" });
            expect(webDecision.context, placement).to.equal(undefined);
            const clusterPath = organization?.pathOf(cluster.account);
            expect(assumeRecord).to.include({ action: "sts:AssumeRole", caller: session.arn, verdict: expected[placement] ? "allow" : "deny" });
            expect(assumeRecord.context, placement).to.deep.equal(clusterPath ? orgContext(clusterPath) : undefined);
        }
    });

    it("refuses a placement that is not an organization path", () => {
        expect(() => organizationOf("o-a1b2c3d4e5", { "444455556666": "o-a1b2c3d4e5/ou-ab12-11111111/" })).to.throw(/not a path in AWS Organizations/);
        expect(() => organizationOf("o-a1b2c3d4e5", { "444455556666": "o-a1b2c3d4e5/r-ab12" })).to.throw(/not a path in AWS Organizations/);
        expect(() => organizationOf("a1b2c3d4e5", {})).to.throw(/not an organization ID/);
    });
});
