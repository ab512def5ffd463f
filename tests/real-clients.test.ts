/**
 * Real AWS client software in pods set up exactly as the package sets them up
 * (plus what EKS's IRSA webhook or Pod Identity adds), against a local AWS
 * endpoint that verifies SigV4 and decides every call by evaluating the
 * documents the package's programs produced (tests/support/aws/). Nothing
 * leaves this machine: each pod is a network namespace with loopback only.
 *
 * For each access path and client: the pod ends as the registry's pull role
 * and pulls a granted repository; a repository outside the grant, a push, a
 * service account outside the grant, another namespace and another cluster's
 * token are refused by the endpoint's evaluation. The pod of each path is
 * the one the EKS stack's exported pod settings make (podSetupFor): every
 * client, the Go SDK included, ends as the pull role on every path. Release
 * 0.2's chaining setup is kept as a fixture: there the Go SDK ended as the
 * cluster-account IRSA role (docs/aws-facts.md), and its running pods during an
 * upgrade are tested too. A client too old for a mechanism is skipped by name
 * with what it said, never passed.
 */
import { expect } from "chai";
import * as nodePath from "path";
import { runExampleStacks } from "../tools/engine/example-state";
import { readStackConfig } from "../tools/state/stack-file";
import { POLICY } from "./support/aws/control-plane";
import { clusterNamed, pullRoleArn, repositoryNamed, workloadExport, World, worldFromExampleRuns } from "./support/aws/world";
import { Harness, Scenario, ScenarioRun } from "./support/clients/harness";
import { jsSdk, Op, REAL_CLIENTS, RealClient } from "./support/clients/real-clients";
import { podsUnavailable } from "./support/pod/run";
import {
    AccessPath,
    asServiceAccount,
    chainingSetupRelease02,
    chainingWithoutAnnotation,
    onClusterWithBorrowedRole,
    PATH_WORKLOADS,
    podSetupFor,
    realClientsWorld,
    withTokensFrom,
} from "./support/pod-setups";

const PATHS: readonly AccessPath[] = ["federation", "chaining", "podIdentity"];
const CONCURRENCY = 3;
const HAND_MADE = "made by hand in the test (not by the package)";

/** Why each kind of denial is refused, per path: the action denied, why, and the error code the client must surface. */
const DENIALS: Readonly<
    Record<AccessPath, Readonly<Record<"outsideSa" | "otherNamespace" | "otherClusterToken", { action: string; reason: string | RegExp; code: string }>>>
> = {
    federation: {
        outsideSa: { action: "sts:AssumeRoleWithWebIdentity", reason: POLICY, code: "AccessDenied" },
        otherNamespace: { action: "sts:AssumeRoleWithWebIdentity", reason: POLICY, code: "AccessDenied" },
        // The registry account has a provider for cluster C (grant "tools"): the pull role's trust refuses it.
        otherClusterToken: { action: "sts:AssumeRoleWithWebIdentity", reason: POLICY, code: "AccessDenied" },
    },
    chaining: {
        outsideSa: { action: "sts:AssumeRoleWithWebIdentity", reason: POLICY, code: "AccessDenied" },
        otherNamespace: { action: "sts:AssumeRoleWithWebIdentity", reason: POLICY, code: "AccessDenied" },
        // Cluster A's account has no IAM OIDC provider for cluster C's issuer.
        otherClusterToken: { action: "sts:AssumeRoleWithWebIdentity", reason: /^no IAM OIDC provider for /, code: "InvalidIdentityToken" },
    },
    podIdentity: {
        // A hand-made association with the package's roles: the association role's trust refuses the session tags.
        outsideSa: { action: "sts:AssumeRole", reason: POLICY, code: "AccessDeniedException" },
        otherNamespace: { action: "sts:AssumeRole", reason: POLICY, code: "AccessDeniedException" },
        // EKS Auth of cluster A refuses a token cluster C signed.
        otherClusterToken: { action: "eks-auth:AssumeRoleForPodIdentity", reason: /^token not signed by apps-a's issuer/, code: "InvalidTokenException" },
    },
};

/**
 * The alternative chaining shape's region variants: nothing injects a region
 * without the annotation, so the profile or the pod must give one.
 */
const ALTERNATIVE_VARIANTS: readonly { name: string; regionInProfile: boolean; regionEnv: readonly ("AWS_REGION" | "AWS_DEFAULT_REGION")[] }[] = [
    { name: "no-region", regionInProfile: false, regionEnv: [] },
    { name: "region-in-profile", regionInProfile: true, regionEnv: [] },
    { name: "AWS_REGION", regionInProfile: false, regionEnv: ["AWS_REGION"] },
    { name: "AWS_DEFAULT_REGION", regionInProfile: false, regionEnv: ["AWS_DEFAULT_REGION"] },
    { name: "both-region-variables", regionInProfile: false, regionEnv: ["AWS_REGION", "AWS_DEFAULT_REGION"] },
];

/**
 * What a client surfaces of a Pod Identity refusal, where it is not EKS
 * Auth's code: the JavaScript SDK retries the agent, then falls through its
 * chain to the ECS provider, whose "169.254.170.23 is not a valid container
 * metadata service hostname" is the error it throws (observed with
 * credential-provider-node 3.972).
 */
const SURFACED_POD_IDENTITY_ERROR: Readonly<Partial<Record<RealClient["id"], string>>> = { "js-sdk": "CredentialsProviderError" };

const h = new Harness(REAL_CLIENTS);

function ops(world: World, path: AccessPath, kind: "granted" | "denial"): Op[] {
    const { granted, outside } = PATH_WORKLOADS[path];
    const registryId = world.registry.accountId;
    const first: Op[] = [{ kind: "get-caller-identity" }];
    if (kind === "denial") {
        return [...first, { kind: "batch-get-image", registryId, repository: granted, tag: "1.0.0" }];
    }
    return [
        ...first,
        { kind: "get-authorization-token" },
        { kind: "batch-get-image", registryId, repository: granted, tag: "1.0.0" },
        { kind: "batch-get-image", registryId, repository: outside, tag: "1.0.0" },
        { kind: "initiate-layer-upload", registryId, repository: granted },
        { kind: "put-image", registryId, repository: granted, tag: "pushed-by-a-puller", manifest: repositoryNamed(world, granted).images[0].manifest },
    ];
}

/** The scenarios: per path the granted pod and its denials, the 0.2 fixture, the alternative chaining shape. */
function scenarios(world: World): { granted: Scenario[]; denials: Scenario[]; release02: Scenario[]; alternative: Scenario[] } {
    const chainedNow = podSetupFor("chaining", world, PATH_WORKLOADS.chaining.workload);
    const clusterC = clusterNamed(world, "apps-c");
    const granted: Scenario[] = [];
    const denials: Scenario[] = [];
    for (const path of PATHS) {
        const { workload } = PATH_WORKLOADS[path];
        const setup = podSetupFor(path, world, workload);
        granted.push({ key: `${path}/granted`, setup, ops: ops(world, path, "granted") });
        denials.push(
            { key: `${path}/outsideSa`, setup: asServiceAccount(world, setup, workload.namespace, "intruder", HAND_MADE), ops: ops(world, path, "denial") },
            {
                key: `${path}/otherNamespace`,
                setup: asServiceAccount(world, setup, "default", workload.serviceAccount, HAND_MADE),
                ops: ops(world, path, "denial"),
            },
            { key: `${path}/otherClusterToken`, setup: withTokensFrom(setup, clusterC), ops: ops(world, path, "denial") },
        );
        if (path === "podIdentity") {
            const borrowed = onClusterWithBorrowedRole(world, setup, clusterC, HAND_MADE);
            if (borrowed) {
                denials.push({ key: `${path}/otherClusterAssociation`, setup: borrowed, ops: ops(world, path, "denial") });
            }
        }
    }
    const chained = PATH_WORKLOADS.chaining.workload;
    const old = chainingSetupRelease02(world, chained);
    const release02: Scenario[] = [
        { key: "release-0.2/chaining", setup: old, ops: ops(world, "chaining", "granted") },
        // Upgrading: a pod admitted under 0.2 (the webhook's variables and token in place: pods are
        // immutable) keeps running while the ConfigMap it mounts takes this release's content.
        { key: "release-0.2/running-after-upgrade", setup: { ...old, configMaps: chainedNow.configMaps }, ops: ops(world, "chaining", "granted") },
        // Rolling out first: a pod with this release's settings while the ServiceAccount still carries 0.2's annotation.
        {
            key: "release-0.2/new-pod-annotated-sa",
            setup: { ...chainedNow, serviceAccounts: old.serviceAccounts, configMaps: old.configMaps },
            ops: ops(world, "chaining", "granted"),
        },
    ];
    const alternative: Scenario[] = ALTERNATIVE_VARIANTS.map(({ name, regionInProfile, regionEnv }) => ({
        key: `alternative/${name}`,
        setup: chainingWithoutAnnotation(world, chained, { regionInProfile, regionEnv }),
        ops: ops(world, "chaining", "granted").slice(0, 3),
    }));
    return { granted, denials, release02, alternative };
}

const scopeOf = (s: Scenario) => s.key.split("/")[0];

function skipUnlessRun(context: Mocha.Context, client: RealClient, scope: string): void {
    const reason = h.skipReason(client, scope);
    if (reason) {
        context.skip();
    }
}

const opOf = (run: ScenarioRun, index: number) => run.results[index];
const failureText = (run: ScenarioRun) => run.results.map((r) => `${r.op}: ${r.ok ? "ok" : `${r.code}: ${r.message}`}`).join("\n");
const roleOfSession = (arn: string | undefined) => /^arn:aws:sts::(\d{12}):assumed-role\/([^/]+)\//.exec(arn ?? "");

describe("real AWS clients in emulated pods", function () {
    this.timeout(300000);

    before(async function () {
        const unavailable = podsUnavailable();
        if (unavailable) {
            for (const client of REAL_CLIENTS) {
                h.skip(client, "all", unavailable);
            }
            this.skip();
        }
        await h.start(realClientsWorld);
        const all = scenarios(h.world);
        // Phase 1: the granted pods, which also show which client lacks a mechanism.
        await h.runAll(all.granted, scopeOf, CONCURRENCY);
        for (const client of h.usable) {
            const run = h.get("podIdentity/granted", client);
            const agentCalled = run.decisions.some((d) => d.api === "eks-auth");
            if (!run.results[0].ok && !agentCalled) {
                h.skip(
                    client,
                    "podIdentity",
                    `never called the Pod Identity agent (${run.pod.env.find(([k]) => k === "AWS_CONTAINER_CREDENTIALS_FULL_URI")?.join("=")}); it said: ${run.results[0].code}: ${run.results[0].message}`,
                );
            }
        }
        // Phase 2: everything else.
        await h.runAll([...all.denials, ...all.release02, ...all.alternative], scopeOf, CONCURRENCY);
    });

    after(() => {
        for (const line of h.summary()) {
            console.log(line);
        }
    });

    it("ran every pod in a network namespace with nothing but loopback (127.0.0.1 and the agent's 169.254.170.23)", function () {
        if (h.all().length === 0) {
            this.skip();
        }
        for (const run of h.all()) {
            expect(run.run.interfaces, run.scenario.key).to.include.members(["lo:127.0.0.1", "lo:169.254.170.23"]);
            expect(
                run.run.interfaces.filter((a) => !["lo:127.0.0.1", "lo:169.254.170.23", "lo:::1"].includes(a)),
                run.scenario.key,
            ).to.deep.equal([]);
        }
        expect(h.endpoint.strayRequests).to.deep.equal([]);
    });

    for (const path of PATHS) {
        describe(`path ${path}`, () => {
            for (const client of REAL_CLIENTS) {
                describe(client.label, () => {
                    it("ends as the registry's pull role and pulls a granted repository", function () {
                        skipUnlessRun(this, client, path);
                        const run = h.get(`${path}/granted`, client);
                        const pull = pullRoleArn(h.world, PATH_WORKLOADS[path].grant);
                        const role = roleOfSession(run.callerArn);
                        expect(role, failureText(run)).to.not.equal(null);
                        expect(`arn:aws:iam::${role![1]}:role/${role![2]}`).to.equal(pull);
                        expect(opOf(run, 1).ok, failureText(run)).to.equal(true);
                        expect(opOf(run, 1).proxyEndpoint).to.equal(`https://${h.world.registry.accountId}.dkr.ecr.${h.world.registry.region}.amazonaws.com`);
                        expect(opOf(run, 2).ok, failureText(run)).to.equal(true);
                        expect(opOf(run, 2).digest).to.equal(repositoryNamed(h.world, PATH_WORKLOADS[path].granted).images[0].digest);
                        const ecrAllowed = run.decisions.filter((d) => d.api === "ecr" && d.verdict === "allow").map((d) => d.action);
                        expect(ecrAllowed).to.include.members(["ecr:GetAuthorizationToken", "ecr:BatchGetImage"]);
                    });

                    it("is refused a repository outside the grant (AccessDeniedException by evaluation)", function () {
                        skipUnlessRun(this, client, path);
                        const run = h.get(`${path}/granted`, client);
                        const outside = repositoryNamed(h.world, PATH_WORKLOADS[path].outside);
                        expect(opOf(run, 3).ok, failureText(run)).to.equal(false);
                        expect(opOf(run, 3).code).to.equal("AccessDeniedException");
                        expect(opOf(run, 3).message).to.match(new RegExp(`is not authorized to perform: ecr:BatchGetImage on resource: ${outside.arn}`));
                        expect(run.decisions.find((d) => d.action === "ecr:BatchGetImage" && d.resource === outside.arn)).to.include({
                            verdict: "deny",
                            reason: POLICY,
                        });
                    });

                    it("is refused a push: ecr:InitiateLayerUpload and ecr:PutImage", function () {
                        skipUnlessRun(this, client, path);
                        const run = h.get(`${path}/granted`, client);
                        const granted = repositoryNamed(h.world, PATH_WORKLOADS[path].granted);
                        for (const [i, action] of [
                            [4, "ecr:InitiateLayerUpload"],
                            [5, "ecr:PutImage"],
                        ] as const) {
                            expect(opOf(run, i).ok, failureText(run)).to.equal(false);
                            expect(opOf(run, i).code).to.equal("AccessDeniedException");
                            const decision = run.decisions.find((d) => d.action === action && d.resource === granted.arn);
                            expect(decision, `${action} reached the endpoint`).to.not.equal(undefined);
                            expect(decision).to.include({ verdict: "deny", reason: POLICY });
                        }
                        expect(granted.images.some((i) => i.tags.includes("pushed-by-a-puller"))).to.equal(false);
                    });

                    for (const [kind, title] of [
                        ["outsideSa", "a service account outside the grant (set up by hand like the granted one)"],
                        ["otherNamespace", "the same service account name in another namespace"],
                        ["otherClusterToken", "another cluster's token (apps-c, in no grant of this path)"],
                    ] as const) {
                        it(`refuses ${title}`, function () {
                            skipUnlessRun(this, client, path);
                            const run = h.get(`${path}/${kind}`, client);
                            const expected = DENIALS[path][kind];
                            expect(
                                run.results.every((r) => !r.ok),
                                failureText(run),
                            ).to.equal(true);
                            expect(run.callerArn).to.equal(undefined);
                            const denial = run.decisions.find((d) => d.verdict === "deny" && d.action === expected.action);
                            expect(denial, JSON.stringify(run.decisions, null, 1)).to.not.equal(undefined);
                            expect(denial!.reason).to.match(typeof expected.reason === "string" ? new RegExp(`^${expected.reason}$`) : expected.reason);
                            expect(run.decisions.filter((d) => d.api === "ecr" && d.verdict === "allow")).to.deep.equal([]);
                            const surfaced = path === "podIdentity" ? (SURFACED_POD_IDENTITY_ERROR[client.id] ?? expected.code) : expected.code;
                            expect(`${run.results[0].code} ${run.results[0].message}`).to.contain(surfaced);
                        });
                    }

                    if (path === "podIdentity") {
                        it("refuses the service account on another cluster whose hand-made association borrows that account's Pod Identity role", function () {
                            skipUnlessRun(this, client, path);
                            const run = h.get(`${path}/otherClusterAssociation`, client);
                            expect(
                                run.results.every((r) => !r.ok),
                                failureText(run),
                            ).to.equal(true);
                            const denial = run.decisions.find(
                                (d) => d.verdict === "deny" && d.caller === "pods.eks.amazonaws.com" && d.action === "sts:AssumeRole",
                            );
                            expect(denial, JSON.stringify(run.decisions, null, 1)).to.include({ reason: POLICY });
                            expect(`${run.results[0].code} ${run.results[0].message}`).to.contain(
                                SURFACED_POD_IDENTITY_ERROR[client.id] ?? "AccessDeniedException",
                            );
                        });
                    }
                });
            }
        });
    }

    describe("0.2 chaining setup (regression fixture: ServiceAccount annotated with the IRSA role, ConfigMap profile, AWS_PROFILE)", () => {
        it("is no longer what the package sets up: the ServiceAccount is not annotated, and the pod projects its own STS token where the profile reads it", function () {
            if (!h.world) {
                this.skip();
            }
            const now = podSetupFor("chaining", h.world, PATH_WORKLOADS.chaining.workload);
            const release02 = chainingSetupRelease02(h.world, PATH_WORKLOADS.chaining.workload);
            const annotations = (s: typeof now) =>
                s.serviceAccounts.find((x) => x.metadata.namespace === s.pod.metadata.namespace && x.metadata.name === s.pod.spec.serviceAccountName)!.metadata
                    .annotations ?? {};
            expect(annotations(release02)).to.have.property("eks.amazonaws.com/role-arn");
            expect(annotations(now)).to.deep.equal({});
            const config = now.configMaps.find((c) => c.metadata.namespace === now.pod.metadata.namespace && c.metadata.name === "ecr-pull-payments")!.data
                .config;
            const tokenFile = /web_identity_token_file = (.+)/.exec(config)![1];
            const token = now.pod.spec.volumes!.find((v) => v.projected)!;
            const mount = now.pod.spec.containers[0].volumeMounts!.find((m) => m.name === token.name)!;
            expect(`${mount.mountPath}/${token.projected!.sources[0].serviceAccountToken!.path}`).to.equal(tokenFile);
            expect(token.projected!.sources[0].serviceAccountToken!.audience).to.equal("sts.amazonaws.com");
        });

        for (const client of REAL_CLIENTS) {
            if (client.id === "go-sdk") {
                it("Go SDK (LoadDefaultConfig, no options) ended as the IRSA role and got AccessDenied from ECR", function () {
                    skipUnlessRun(this, client, "release-0.2");
                    const run = h.get("release-0.2/chaining", client);
                    const { workload } = PATH_WORKLOADS.chaining;
                    const clusterRole = workloadExport(
                        h.world,
                        clusterNamed(h.world, workload.cluster),
                        workload.namespace,
                        workload.serviceAccount,
                    ).clusterRoleArn;
                    const role = roleOfSession(run.callerArn);
                    expect(`arn:aws:iam::${role?.[1]}:role/${role?.[2]}`, failureText(run)).to.equal(clusterRole);
                    expect(run.decisions.some((d) => d.action === "sts:AssumeRole")).to.equal(false);
                    for (const i of [1, 2]) {
                        expect(opOf(run, i).code, failureText(run)).to.equal("AccessDeniedException");
                    }
                    expect(run.decisions.find((d) => d.action === "ecr:BatchGetImage")).to.include({ verdict: "deny", reason: POLICY, caller: run.callerArn });
                });
            } else {
                it(`${client.label} followed the profile and ended as the pull role`, function () {
                    skipUnlessRun(this, client, "release-0.2");
                    const run = h.get("release-0.2/chaining", client);
                    const role = roleOfSession(run.callerArn);
                    expect(`arn:aws:iam::${role?.[1]}:role/${role?.[2]}`, failureText(run)).to.equal(pullRoleArn(h.world, "payments"));
                    expect(opOf(run, 2).ok, failureText(run)).to.equal(true);
                    expect(run.decisions.find((d) => d.action === "sts:AssumeRole")).to.include({ verdict: "allow", reason: POLICY });
                });
            }

            // Upgrading from 0.2: what a pod that is already running, or a new pod rolled out early, does.
            const clientEnd = client.id === "go-sdk" ? "still ends as the IRSA role until the pod is replaced" : "still ends as the pull role and pulls";
            for (const [key, title] of [
                ["release-0.2/running-after-upgrade", "a pod admitted under 0.2, still running after the upgrade (its ConfigMap now this release's)"],
                ["release-0.2/new-pod-annotated-sa", "a pod with this release's settings whose ServiceAccount still has 0.2's annotation: admitted"],
            ] as const) {
                it(`${client.label}: ${title}, ${clientEnd}`, function () {
                    skipUnlessRun(this, client, "release-0.2");
                    const run = h.get(key, client);
                    const role = roleOfSession(run.callerArn);
                    const { workload } = PATH_WORKLOADS.chaining;
                    const expected =
                        client.id === "go-sdk"
                            ? workloadExport(h.world, clusterNamed(h.world, workload.cluster), workload.namespace, workload.serviceAccount).clusterRoleArn
                            : pullRoleArn(h.world, "payments");
                    expect(`arn:aws:iam::${role?.[1]}:role/${role?.[2]}`, failureText(run)).to.equal(expected);
                    expect(opOf(run, 2).ok, failureText(run)).to.equal(client.id !== "go-sdk");
                });
            }
        }
    });

    describe("the example stack files (Pulumi.eks.yaml, Pulumi.ecr.yaml) run with runExampleStacks", () => {
        const example = new Harness([jsSdk]);
        const ecrFile = nodePath.join(__dirname, "..", "Pulumi.ecr.yaml");
        const picked: { path: AccessPath; grant: string; roleArn: string; key: string }[] = [];

        before(async function () {
            if (podsUnavailable()) {
                this.skip();
            }
            const grants = readStackConfig(ecrFile)["ecrpull:grants"] as { name: string; repositories: string[] }[];
            await example.start(async () => worldFromExampleRuns(await runExampleStacks(ecrFile)));
            const scenarios: Scenario[] = [];
            for (const cluster of example.world.clusters) {
                const workloads = example.world.eksOutputs.get(cluster.arn)!.workloads as {
                    namespace: string;
                    serviceAccount: string;
                    grant: string;
                    path: AccessPath;
                    roleArn: string;
                }[];
                for (const p of PATHS) {
                    const w = workloads.find((x) => x.path === p);
                    if (w && !picked.some((x) => x.path === p)) {
                        const repository = grants.find((g) => g.name === w.grant)!.repositories[0];
                        const key = `example/${p}`;
                        picked.push({ path: p, grant: w.grant, roleArn: w.roleArn, key });
                        scenarios.push({
                            key,
                            setup: podSetupFor(p, example.world, { cluster: cluster.name, namespace: w.namespace, serviceAccount: w.serviceAccount }),
                            ops: [
                                { kind: "get-caller-identity" },
                                { kind: "batch-get-image", registryId: example.world.registry.accountId, repository, tag: "1.0.0" },
                            ],
                        });
                    }
                }
            }
            await example.runAll(scenarios, () => "example", CONCURRENCY);
        });

        after(() => example.summary().forEach((line) => console.log(line.replace("[real-clients]", "[real-clients example]"))));

        it("has a workload of every path, and the JavaScript SDK in each one's pod ends as its pull role and pulls", () => {
            expect(picked.map((p) => p.path).sort()).to.deep.equal([...PATHS].sort());
            for (const p of picked) {
                const run = example.get(p.key, jsSdk);
                const role = roleOfSession(run.callerArn);
                expect(`arn:aws:iam::${role?.[1]}:role/${role?.[2]}`, `${p.key}\n${failureText(run)}`).to.equal(p.roleArn);
                expect(opOf(run, 1).ok, `${p.key}\n${failureText(run)}`).to.equal(true);
            }
        });
    });

    describe("experiment: chaining without the IRSA annotation (projected token at the profile's web_identity_token_file, AWS_CONFIG_FILE + AWS_PROFILE)", () => {
        for (const client of REAL_CLIENTS) {
            it(`${client.label}: never ends as another role than the pull role, and pulls with the region in the profile or with both region variables`, function () {
                skipUnlessRun(this, client, "alternative");
                const pull = pullRoleArn(h.world, "payments");
                for (const variant of ALTERNATIVE_VARIANTS) {
                    const run = h.get(`alternative/${variant.name}`, client);
                    const role = roleOfSession(run.callerArn);
                    if (role) {
                        expect(`arn:aws:iam::${role[1]}:role/${role[2]}`, `${variant.name}\n${failureText(run)}`).to.equal(pull);
                    }
                    // Nothing injects the annotation's variables in this shape.
                    expect(run.pod.env.map(([k]) => k)).to.not.include.members(["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]);
                }
                for (const name of ["region-in-profile", "both-region-variables"]) {
                    const run = h.get(`alternative/${name}`, client);
                    expect(roleOfSession(run.callerArn)?.[2], `${name}\n${failureText(run)}`).to.equal(pull.split("/").pop());
                    expect(opOf(run, 2).ok, `${name}\n${failureText(run)}`).to.equal(true);
                }
            });
        }
    });
});
