/**
 * Node pulls with real AWS client software: the kubelet pulls every image of
 * a Pod spec with the node's instance role, whose credentials EC2 hands to
 * the instance through its Instance Metadata Service (IMDS). Each client
 * here runs as a process on an emulated node (tests/support/pod/node.ts):
 * a network namespace with loopback only, the instance's IMDSv2 at
 * 169.254.169.254 (tests/support/aws/imds.ts), no pod environment at all, so
 * its default credential chain falls through to IMDS. It then calls ECR
 * GetAuthorizationToken and BatchGetImage, as a pull does, against the local
 * endpoint, which decides every call with iam-simulate on the documents the
 * package's programs produced and records the request context it evaluated
 * (the EC2 instance keys, principal tags, organization keys).
 *
 * Of the clients, the Go program (AWS SDK for Go v2, `LoadDefaultConfig`) is
 * the closest thing here to the kubelet's image credential provider,
 * ecr-credential-provider, itself a Go SDK v2 program whose default chain
 * ends at IMDS. That provider takes the region from the image's registry host
 * and passes it in code; the node processes here get it as AWS_REGION and
 * AWS_DEFAULT_REGION, and one scenario without them records where each
 * client looks for a region.
 *
 * - Exact scope (the fleet of tests/real-clients.test.ts): the node role of
 *   apps-a (created by its EKS stack) and of apps-b (adopted) each pull a
 *   repository of their cluster's grants and are refused one outside them.
 * - Organization scope (examples/organization-scope, as
 *   tests/real-clients-org-scope.test.ts builds it, with the cluster that
 *   joins by scope, apps-green, whose adopted node role is tagged
 *   ecrpull.dev/node-pull/platform): that node pulls platform/base-images
 *   with its account in the organization, and is refused with its account
 *   outside any organization, in another one, or with the tag removed; it is
 *   refused payments/api, whose tag it lacks, from inside that grant's OU. A
 *   session of the same tagged role that is not EC2's (an operator's
 *   instance assumes it through an AWS config profile, the node role's trust
 *   edited by hand to allow that) carries the tag and the organization keys
 *   but no aws:Ec2InstanceSourceVpc, and is refused; with the `Null
 *   aws:Ec2InstanceSourceVpc` condition dropped from the documents, the same
 *   session pulls. That is the condition's reason to exist.
 * - Experiment: a pod that no grant names, on a node whose IMDS its
 *   containers can reach, falls through its credential chain to IMDS, ends
 *   as the node role and pulls every repository the grants give that
 *   cluster's nodes: what the node's metadata hop limit (or a network
 *   policy) must prevent.
 *
 * Without root (no namespaces) the node runs are skipped and say why, and a
 * client that is not installed is skipped by name, as in the other
 * real-client files; the last part (the IMDS and the request context,
 * without processes) runs anyway.
 */
import { expect } from "chai";
import * as path from "path";
import { EC2_INSTANCE_CREDENTIALS_KEY, nodePullTagKey } from "../components/iam/org-scope";
import { runProject } from "../tools/engine/project-run";
import { OrganizationFacts } from "../tools/report/report";
import { ControlPlane, Decision, POLICY, RequestContext } from "./support/aws/control-plane";
import { IMDS_HOST, InstanceMetadataService, TOKEN_HEADER, TOKEN_TTL_HEADER } from "./support/aws/imds";
import { signJwt } from "./support/aws/jwt";
import { AGENT_HOST } from "./support/aws/pod-identity";
import {
    clusterNamed,
    nodeInstanceOf,
    organizationOf,
    pullRoleArn,
    repositoryNamed,
    World,
    WorldCluster,
    WorldInstance,
    worldFromExampleRuns,
} from "./support/aws/world";
import { Harness, Scenario, ScenarioRun } from "./support/clients/harness";
import { Op, REAL_CLIENTS, RealClient } from "./support/clients/real-clients";
import { STACK_A, STACK_B } from "./support/fixtures";
import { PodDeclaration } from "./support/pod/kubelet";
import { NodeDeclaration } from "./support/pod/node";
import { podsUnavailable } from "./support/pod/run";
import { realClientsWorld, registryWithC } from "./support/pod-setups";
import { IamSimulator } from "./support/simulate";

const CONCURRENCY = 3;
const HAND_MADE = "made by hand in the test (not by the package)";
const ORG_SCOPE_ECR_FILE = path.join(__dirname, "..", "examples", "organization-scope", "Pulumi.ecr.yaml");
/** The keys only a request signed with EC2 instance credentials carries (tests/support/aws/control-plane.ts). */
const EC2_KEYS = ["aws:Ec2InstanceSourceVpc", "aws:Ec2InstanceSourcePrivateIPv4", "ec2:SourceInstanceArn", "ec2:RoleDelivery"];
const ORG_KEYS = ["aws:PrincipalOrgID", "aws:PrincipalOrgPaths"];

// ---- scenarios -------------------------------------------------------------------------

/**
 * A process on a node of `cluster` whose instance profile holds `roleArn`
 * (default: the cluster's node role). With `region` (the default), the
 * registry's region in AWS_REGION and AWS_DEFAULT_REGION, where the kubelet's
 * credential provider passes it in code: both, as EKS's webhooks inject them
 * into pods, because boto3 1.26 reads only AWS_DEFAULT_REGION (observed here:
 * with AWS_REGION alone it stops with NoRegionError).
 */
function onNode(world: World, cluster: WorldCluster, options: { roleArn?: string; region?: boolean } = {}): NodeDeclaration {
    return {
        kind: "node",
        cluster,
        instance: nodeInstanceOf(world, cluster, options.roleArn),
        ...(options.region === false
            ? {}
            : {
                  extra: {
                      env: { AWS_REGION: world.registry.region, AWS_DEFAULT_REGION: world.registry.region },
                      why: "the region the kubelet's credential provider takes from the image's registry host",
                  },
              }),
    };
}

/**
 * A pod no grant names (namespace default, its default ServiceAccount, no
 * annotation, no pod settings), with the region in its container's
 * environment, on a node whose IMDS its containers reach: on EKS that is a
 * node whose metadata hop limit is 2 and no network policy blocks
 * 169.254.169.254 (EKS best practices advise a hop limit of 1).
 */
function podOfNoGrant(world: World, cluster: WorldCluster): PodDeclaration {
    const region = world.registry.region;
    return {
        cluster,
        pod: {
            metadata: { name: "no-grant", namespace: "default" },
            spec: {
                serviceAccountName: "default",
                containers: [
                    {
                        name: "app",
                        env: [
                            { name: "AWS_REGION", value: region },
                            { name: "AWS_DEFAULT_REGION", value: region },
                        ],
                    },
                ],
            },
        },
        serviceAccounts: [{ metadata: { name: "default", namespace: "default" } }],
        configMaps: [],
        associations: [],
        reachableInstance: nodeInstanceOf(world, cluster),
    };
}

const pull = (world: World, repository: string): Op => ({ kind: "batch-get-image", registryId: world.registry.accountId, repository, tag: "1.0.0" });

/** A pull as the kubelet's provider makes it: the caller, a registry token, the granted image, the other one. */
function nodePullOps(world: World, granted: string, outside?: string): Op[] {
    return [{ kind: "get-caller-identity" }, { kind: "get-authorization-token" }, pull(world, granted), ...(outside ? [pull(world, outside)] : [])];
}

// ---- what the runs must show ---------------------------------------------------------

const failureText = (run: ScenarioRun) => run.results.map((r) => `${r.op}: ${r.ok ? "ok" : `${r.code}: ${r.message}`}`).join("\n");
const decisionsText = (run: ScenarioRun) => JSON.stringify(run.decisions, null, 1);
const roleName = (roleArn: string) => roleArn.split("/").pop()!;

/** The keys a request signed with the instance's EC2 credentials carries, spelled out here (not taken from the test bed). */
function ec2Keys(world: World, instance: WorldInstance): Record<string, string> {
    return {
        "aws:Ec2InstanceSourceVpc": instance.vpcId,
        "aws:Ec2InstanceSourcePrivateIPv4": instance.privateIp,
        "ec2:SourceInstanceArn": `arn:${world.partition}:ec2:${instance.region}:${instance.account}:instance/${instance.instanceId}`,
        "ec2:RoleDelivery": "2.0",
    };
}

const orgKeys = (orgPath: string | undefined) => (orgPath ? { "aws:PrincipalOrgID": orgPath.split("/")[0], "aws:PrincipalOrgPaths": [orgPath] } : {});

/** The ECR decision on `action` (and `resource`), which must exist. */
function ecrDecision(run: ScenarioRun, action: string, resource: string): Decision {
    const decision = run.decisions.find((d) => d.api === "ecr" && d.action === action && d.resource === resource);
    expect(decision, `${action} on ${resource} reached the endpoint\n${failureText(run)}\n${decisionsText(run)}`).to.not.equal(undefined);
    return decision!;
}

/** The node's own credentials: EC2 assumed its role (by evaluation of the trust), the client called as that session. */
function expectNodeSession(run: ScenarioRun, instance: WorldInstance): void {
    expect(run.callerArn, failureText(run)).to.equal(`arn:aws:sts::${instance.account}:assumed-role/${roleName(instance.roleArn)}/${instance.instanceId}`);
    const delivered = run.decisions.filter((d) => d.api === "ec2");
    expect(delivered.length, decisionsText(run)).to.equal(1);
    expect(delivered[0]).to.include({ caller: "ec2.amazonaws.com", action: "sts:AssumeRole", resource: instance.roleArn, verdict: "allow", reason: POLICY });
}

/** What the client asked of IMDS: a token first, then only GETs that carried it, each for something IMDS serves. */
function expectImdsV2(h: Harness, run: ScenarioRun): void {
    const requests = h.endpoint.imdsRequests.filter((r) => r.runId === run.run.runId);
    expect(requests.length, `${run.client.id} asked IMDS nothing`).to.be.greaterThan(0);
    expect(requests[0]).to.include({ method: "PUT", path: "/latest/api/token", status: 200 });
    for (const r of requests.filter((x) => x.method === "GET")) {
        expect(r, JSON.stringify(requests)).to.include({ tokenSent: true, status: 200 });
    }
    expect(h.endpoint.unknownImdsRequests.filter((r) => r.runId === run.run.runId)).to.deep.equal([]);
}

/** Loopback only (with the IMDS's address), and the environment of a node process, not a pod's. */
function expectBareNodeProcess(run: ScenarioRun): void {
    expect(run.run.interfaces, run.scenario.key).to.include.members(["lo:127.0.0.1", `lo:${IMDS_HOST}`]);
    expect(
        run.run.interfaces.filter((a) => !["lo:127.0.0.1", `lo:${AGENT_HOST}`, `lo:${IMDS_HOST}`, "lo:::1"].includes(a)),
        run.scenario.key,
    ).to.deep.equal([]);
    // A node process has nothing of a pod: the environment it ran with is what run.ts gives every run
    // (HOME, PATH, the test CA) and the region; no credential variable, no file.
    expect(Object.keys(run.run.env).sort()).to.deep.equal(["AWS_CA_BUNDLE", "AWS_DEFAULT_REGION", "AWS_REGION", "HOME", "NODE_EXTRA_CA_CERTS", "PATH"]);
    expect(run.pod.files).to.deep.equal([]);
}

function skipUnlessRun(context: Mocha.Context, h: Harness, client: RealClient): void {
    if (!h.world || h.skipReason(client, "node")) {
        context.skip();
    }
}

/** Prints each harness's lines once: a client's skip in the form CI looks for, then the runs. */
function printSummaries(harnesses: Readonly<Record<string, Harness>>, label: string): void {
    const skipped = new Set<string>();
    const runs: string[] = [];
    for (const [name, h] of Object.entries(harnesses)) {
        for (const line of h.summary()) {
            if (line.startsWith("[real-clients] SKIPPED ")) {
                skipped.add(line.replace("[real-clients] SKIPPED ", `[real-clients] SKIPPED (${label}) `));
            } else {
                runs.push(line.replace("[real-clients]", `[real-clients ${label} ${name}]`));
            }
        }
    }
    [...skipped, ...runs].forEach((line) => console.log(line));
}

/** Without namespaces nothing runs: every client of every harness is skipped, with the reason. */
function skipEverything(harnesses: Readonly<Record<string, Harness>>, unavailable: string): void {
    for (const h of Object.values(harnesses)) {
        for (const client of REAL_CLIENTS) {
            h.skip(client, "all", unavailable);
        }
    }
}

// ---- exact scope -----------------------------------------------------------------------

interface ExactNode {
    readonly cluster: string;
    readonly stack: string;
    /** How the World has its node role: a recorded resource, or an adopted role. */
    readonly origin: RegExp;
    readonly granted: string;
    readonly outside: string;
}

/** The nodes of the fleet: a repository of their cluster's grants, and one of no grant of theirs (registryWithC's grants say which). */
const EXACT_NODES: readonly ExactNode[] = [
    { cluster: "apps-a", stack: STACK_A, origin: /^resource /, granted: "platform/base", outside: "archive/legacy" },
    { cluster: "apps-b", stack: STACK_B, origin: /^adopted node role/, granted: "ml/models", outside: "payments/api" },
];

/** What the config means, read from the registry's grants (not from the documents): may this stack's nodes pull this repository? */
function grantedByConfig(stack: string, repository: string): boolean {
    const grants = registryWithC().config["ecrpull:grants"] as { clusters?: string[]; repositories: string[] }[];
    return grants.some((g) => (g.clusters ?? []).includes(stack) && g.repositories.includes(repository));
}

describe("real AWS clients on EKS nodes: the node role's EC2 credentials from IMDS", function () {
    this.timeout(300000);

    describe("exact scope (the fleet of tests/real-clients.test.ts): repository policies name each node role", () => {
        const h = new Harness(REAL_CLIENTS);

        before(async function () {
            const unavailable = podsUnavailable();
            if (unavailable) {
                skipEverything({ exact: h }, unavailable);
                this.skip();
            }
            await h.start(realClientsWorld);
            const scenarios: Scenario[] = EXACT_NODES.map((n) => ({
                key: `node/${n.cluster}`,
                setup: onNode(h.world, clusterNamed(h.world, n.cluster)),
                ops: nodePullOps(h.world, n.granted, n.outside),
            }));
            // No variable at all: where each client looks for a region (and finds the node's credentials).
            scenarios.push({
                key: "node/apps-a-no-region",
                setup: onNode(h.world, clusterNamed(h.world, "apps-a"), { region: false }),
                ops: [{ kind: "get-caller-identity" }, { kind: "get-authorization-token" }],
            });
            // A pod of no grant whose containers reach the node's IMDS: every repository of the World.
            scenarios.push({
                key: "pod/no-grant-reaching-imds",
                setup: podOfNoGrant(h.world, clusterNamed(h.world, "apps-a")),
                ops: [{ kind: "get-caller-identity" }, ...h.world.repositories.map((r) => pull(h.world, r.name))],
            });
            await h.runAll(scenarios, () => "node", CONCURRENCY);
        });

        after(() => printSummaries({ exact: h }, "nodes"));

        for (const node of EXACT_NODES) {
            describe(`a node of ${node.cluster} (node role ${node.origin.source.includes("adopted") ? "adopted" : "created by its EKS stack"})`, () => {
                it("is in the fleet as this test reads it: the config grants its cluster the one repository and not the other", function () {
                    if (!h.world) {
                        this.skip();
                    }
                    expect(grantedByConfig(node.stack, node.granted)).to.equal(true);
                    expect(grantedByConfig(node.stack, node.outside)).to.equal(false);
                    const instance = nodeInstanceOf(h.world, clusterNamed(h.world, node.cluster));
                    expect(h.world.roles.get(instance.roleArn)?.origin).to.match(node.origin);
                    // Named exactly (aws:PrincipalArn) by the granted repository's policy, absent from the other's.
                    expect(repositoryNamed(h.world, node.granted).policy).to.contain(`"${instance.roleArn}"`);
                    expect(repositoryNamed(h.world, node.outside).policy ?? "").to.not.contain(instance.roleArn);
                });

                for (const client of REAL_CLIENTS) {
                    it(`${client.label}: takes the node role's credentials from IMDSv2, pulls ${node.granted}, is refused ${node.outside}`, function () {
                        skipUnlessRun(this, h, client);
                        const run = h.get(`node/${node.cluster}`, client);
                        const instance = nodeInstanceOf(h.world, clusterNamed(h.world, node.cluster));
                        expectBareNodeProcess(run);
                        expectImdsV2(h, run);
                        expectNodeSession(run, instance);
                        const [, token, granted, outside] = run.results;
                        const keys = ec2Keys(h.world, instance);

                        expect(token.ok, failureText(run)).to.equal(true);
                        expect(ecrDecision(run, "ecr:GetAuthorizationToken", "*")).to.include({ verdict: "allow", reason: POLICY, caller: run.callerArn });

                        const grantedRepository = repositoryNamed(h.world, node.granted);
                        expect(granted.ok, failureText(run)).to.equal(true);
                        expect(granted.digest).to.equal(grantedRepository.images[0].digest);
                        const allowed = ecrDecision(run, "ecr:BatchGetImage", grantedRepository.arn);
                        expect(allowed).to.include({ verdict: "allow", reason: POLICY, caller: run.callerArn });
                        // The request carried the EC2 instance keys, and (no organization in this world, no tag on these roles) nothing else.
                        expect(allowed.context).to.deep.equal(keys);

                        const outsideRepository = repositoryNamed(h.world, node.outside);
                        expect(outside.ok, failureText(run)).to.equal(false);
                        expect(outside.code).to.equal("AccessDeniedException");
                        expect(outside.message).to.contain(`is not authorized to perform: ecr:BatchGetImage on resource: ${outsideRepository.arn}`);
                        expect(ecrDecision(run, "ecr:BatchGetImage", outsideRepository.arn)).to.deep.include({
                            verdict: "deny",
                            reason: POLICY,
                            context: keys,
                        });
                    });
                }
            });
        }

        describe("with no variable at all (not even a region)", () => {
            for (const client of REAL_CLIENTS) {
                it(`${client.label}: either takes the region from IMDS and gets a registry token as the node role, or stops for want of a region before signing anything`, function () {
                    skipUnlessRun(this, h, client);
                    const run = h.get("node/apps-a-no-region", client);
                    const instance = nodeInstanceOf(h.world, clusterNamed(h.world, "apps-a"));
                    expect(run.pod.env).to.deep.equal([]);
                    const regionPaths = h.endpoint.imdsRequests
                        .filter((r) => r.runId === run.run.runId && /^\/latest\/(meta-data\/placement\/|dynamic\/instance-identity\/)/.test(r.path))
                        .map((r) => r.path);
                    const [, token] = run.results;
                    const tokenDecision = run.decisions.find((d) => d.action === "ecr:GetAuthorizationToken");
                    console.log(
                        `[real-clients nodes] region without AWS_REGION: ${client.id} asked IMDS ${JSON.stringify([...new Set(regionPaths)])}; get-authorization-token ${token.ok ? `ok (${token.proxyEndpoint})` : `${token.code}: ${token.message}`}`,
                    );
                    if (regionPaths.length > 0) {
                        expect(token.ok, failureText(run)).to.equal(true);
                        expect(token.proxyEndpoint).to.equal(`https://${instance.account}.dkr.ecr.${instance.region}.amazonaws.com`);
                        expect(tokenDecision).to.deep.include({
                            verdict: "allow",
                            reason: POLICY,
                            caller: `arn:aws:sts::${instance.account}:assumed-role/${roleName(instance.roleArn)}/${instance.instanceId}`,
                        });
                    } else {
                        expect(token.ok, failureText(run)).to.equal(false);
                        expect(`${token.code} ${token.message}`).to.match(/region/i);
                        expect(tokenDecision).to.equal(undefined);
                    }
                    expect(h.endpoint.unknownImdsRequests.filter((r) => r.runId === run.run.runId)).to.deep.equal([]);
                });
            }
        });

        describe("experiment: a pod of no grant (default/default) on a node of apps-a whose IMDS its containers can reach (hop limit 2, no network policy)", () => {
            for (const client of REAL_CLIENTS) {
                it(`${client.label}: falls through its chain to IMDS, ends as the node role, and pulls exactly the repositories the grants give apps-a's nodes`, function () {
                    skipUnlessRun(this, h, client);
                    const run = h.get("pod/no-grant-reaching-imds", client);
                    const instance = nodeInstanceOf(h.world, clusterNamed(h.world, "apps-a"));
                    expectImdsV2(h, run);
                    expectNodeSession(run, instance);
                    const grants = registryWithC().config["ecrpull:grants"] as { serviceAccounts: { namespace: string; name: string }[] }[];
                    expect(grants.some((g) => g.serviceAccounts.some((sa) => sa.namespace === "default"))).to.equal(false);
                    h.world.repositories.forEach((repository, i) => {
                        const granted = grantedByConfig(STACK_A, repository.name);
                        expect(run.results[i + 1].ok, `${repository.name}\n${failureText(run)}`).to.equal(granted);
                        expect(ecrDecision(run, "ecr:BatchGetImage", repository.arn)).to.include({ verdict: granted ? "allow" : "deny", reason: POLICY });
                    });
                    expect(h.world.repositories.filter((r) => grantedByConfig(STACK_A, r.name)).length).to.be.greaterThan(1);
                });
            }
        });

        it("had no request for a host or an IMDS path the test bed does not serve", function () {
            if (!h.world) {
                this.skip();
            }
            expect(h.endpoint.strayRequests).to.deep.equal([]);
            expect(h.endpoint.unknownImdsRequests).to.deep.equal([]);
        });
    });

    describe("organization scope (examples/organization-scope): repository policies admit tagged EC2 node roles of the organization", () => {
        type OrgWorld = "inOrganization" | "outsideOrganization" | "otherOrganization" | "untagged" | "operator" | "operatorWithoutNull";
        const harnesses: Record<OrgWorld, Harness> = {
            inOrganization: new Harness(REAL_CLIENTS),
            outsideOrganization: new Harness(REAL_CLIENTS),
            otherOrganization: new Harness(REAL_CLIENTS),
            untagged: new Harness(REAL_CLIENTS),
            operator: new Harness(REAL_CLIENTS),
            operatorWithoutNull: new Harness(REAL_CLIENTS),
        };
        let facts: OrgFacts | undefined;

        before(async function () {
            const unavailable = podsUnavailable();
            if (unavailable) {
                skipEverything(harnesses, unavailable);
                this.skip();
            }
            const example = await runOrgScopeExample();
            facts = example.facts;
            const { green } = example.facts;
            const worldIn = () => worldFromExampleRuns(example.runs, { organization: example.organizations.inOrganization });
            await harnesses.inOrganization.start(async () => worldIn());
            await harnesses.outsideOrganization.start(async () =>
                worldFromExampleRuns(example.runs, { organization: example.organizations.outsideOrganization }),
            );
            await harnesses.otherOrganization.start(async () => worldFromExampleRuns(example.runs, { organization: example.organizations.otherOrganization }));
            await harnesses.untagged.start(async () => withoutNodeRoleTags(worldIn(), green.nodeRoleArn));
            await harnesses.operator.start(async () => withOperator(worldIn(), green.nodeRoleArn).world);
            await harnesses.operatorWithoutNull.start(async () => withoutEc2InstanceCondition(withOperator(worldIn(), green.nodeRoleArn).world));

            const greenNode = (h: Harness, ops: Op[]): Scenario => ({ key: "green/ec2", setup: onNode(h.world, clusterNamed(h.world, green.cluster)), ops });
            const inOrg = harnesses.inOrganization;
            await inOrg.runAll([greenNode(inOrg, nodePullOps(inOrg.world, green.granted, green.lackingTag))], () => "node", CONCURRENCY);
            for (const name of ["outsideOrganization", "otherOrganization", "untagged"] as const) {
                const h = harnesses[name];
                await h.runAll([greenNode(h, nodePullOps(h.world, green.granted))], () => "node", CONCURRENCY);
            }
            for (const name of ["operator", "operatorWithoutNull"] as const) {
                const h = harnesses[name];
                await h.runAll(
                    [{ key: "green/assumed", setup: operatorProcess(h.world, green), ops: [{ kind: "get-caller-identity" }, pull(h.world, green.granted)] }],
                    () => "node",
                    CONCURRENCY,
                );
            }
        });

        after(() => printSummaries(harnesses, "nodes org-scope"));

        it("serves the example as this test reads it: apps-green joins by scope, its adopted node role carries only the platform tag, and platform/base-images names no node of its account", function () {
            const h = harnesses.inOrganization;
            if (!h.world || !facts) {
                this.skip();
            }
            const { green } = facts!;
            const role = h.world.roles.get(green.nodeRoleArn)!;
            expect(role.origin).to.match(/^adopted node role/);
            expect(role.tags).to.deep.equal({ [nodePullTagKey("platform")]: "true" });
            const policy = repositoryNamed(h.world, green.granted).policy!;
            // Only the organization statement can admit it: no statement names its account or role.
            expect(policy).to.not.contain(green.account);
            expect(policy).to.contain(`"aws:PrincipalTag/${nodePullTagKey("platform")}":"true"`);
            expect(
                JSON.parse(policy).Statement.some(
                    (s: { Condition?: { Null?: Record<string, string> } }) => s.Condition?.Null?.[EC2_INSTANCE_CREDENTIALS_KEY] === "false",
                ),
            ).to.equal(true);
        });

        describe("the tagged node of apps-green, its account in the organization (inside payments' OU)", () => {
            for (const client of REAL_CLIENTS) {
                it(`${client.label}: pulls platform/base-images as the EC2 node role (tag, organization and EC2 keys in the request), is refused payments/api, whose tag the role lacks`, function () {
                    const h = harnesses.inOrganization;
                    skipUnlessRun(this, h, client);
                    const { green, greenPlacement } = facts!;
                    const run = h.get("green/ec2", client);
                    const instance = nodeInstanceOf(h.world, clusterNamed(h.world, green.cluster));
                    expectBareNodeProcess(run);
                    expectImdsV2(h, run);
                    expectNodeSession(run, instance);
                    const context = { ...orgKeys(greenPlacement), [`aws:PrincipalTag/${nodePullTagKey("platform")}`]: "true", ...ec2Keys(h.world, instance) };
                    const [, token, granted, lacking] = run.results;
                    expect(token.ok, failureText(run)).to.equal(true);
                    expect(granted.ok, failureText(run)).to.equal(true);
                    expect(granted.digest).to.equal(repositoryNamed(h.world, green.granted).images[0].digest);
                    expect(ecrDecision(run, "ecr:BatchGetImage", repositoryNamed(h.world, green.granted).arn)).to.deep.include({
                        verdict: "allow",
                        reason: POLICY,
                        caller: run.callerArn,
                        context,
                    });
                    expect(lacking.ok, failureText(run)).to.equal(false);
                    expect(lacking.code).to.equal("AccessDeniedException");
                    expect(ecrDecision(run, "ecr:BatchGetImage", repositoryNamed(h.world, green.lackingTag).arn)).to.deep.include({
                        verdict: "deny",
                        reason: POLICY,
                        context,
                    });
                });
            }
        });

        for (const [name, title] of [
            ["outsideOrganization", "its account outside any organization"],
            ["otherOrganization", "its account in another organization"],
            ["untagged", `its node role without the tag (removed after the stack's deploy-time check: ${HAND_MADE})`],
        ] as const) {
            describe(`the same node, ${title}`, () => {
                for (const client of REAL_CLIENTS) {
                    it(`${client.label}: gets the node role's EC2 credentials and a registry token, and is refused platform/base-images by evaluation`, function () {
                        const h = harnesses[name];
                        skipUnlessRun(this, h, client);
                        const { green, placements } = facts!;
                        const run = h.get("green/ec2", client);
                        const instance = nodeInstanceOf(h.world, clusterNamed(h.world, green.cluster));
                        expectImdsV2(h, run);
                        expectNodeSession(run, instance);
                        const [, token, granted] = run.results;
                        expect(token.ok, failureText(run)).to.equal(true);
                        expect(granted.ok, failureText(run)).to.equal(false);
                        expect(granted.code).to.equal("AccessDeniedException");
                        const tag = name === "untagged" ? {} : { [`aws:PrincipalTag/${nodePullTagKey("platform")}`]: "true" };
                        expect(ecrDecision(run, "ecr:BatchGetImage", repositoryNamed(h.world, green.granted).arn)).to.deep.include({
                            verdict: "deny",
                            reason: POLICY,
                            caller: run.callerArn,
                            context: { ...orgKeys(placements[name]), ...tag, ...ec2Keys(h.world, instance) },
                        });
                    });
                }
            });
        }

        describe(`a session of the same tagged role that EC2 did not issue: an operator's instance assumes it by an AWS config profile (the node role's trust edited: ${HAND_MADE})`, () => {
            for (const [name, verdict, title] of [
                ["operator", "deny", "is refused platform/base-images: the tag and the organization keys are there, aws:Ec2InstanceSourceVpc is not"],
                [
                    "operatorWithoutNull",
                    "allow",
                    "pulls platform/base-images once the `Null aws:Ec2InstanceSourceVpc` condition is dropped from the documents (the mutation the condition guards against)",
                ],
            ] as const) {
                for (const client of REAL_CLIENTS) {
                    it(`${client.label}: ${title}`, function () {
                        const h = harnesses[name];
                        skipUnlessRun(this, h, client);
                        const { green, greenPlacement } = facts!;
                        const run = h.get("green/assumed", client);
                        const operator = operatorOf(h.world, green);
                        expectImdsV2(h, run);
                        expect(run.callerArn, failureText(run)).to.equal(
                            `arn:aws:sts::${green.account}:assumed-role/${roleName(green.nodeRoleArn)}/${OPERATOR_SESSION}`,
                        );
                        // The operator's EC2 session assumed the node role, by evaluation of the edited trust.
                        const assumed = run.decisions.find((d) => d.api === "sts" && d.action === "sts:AssumeRole");
                        expect(assumed, decisionsText(run)).to.deep.include({
                            caller: `arn:aws:sts::${green.account}:assumed-role/${roleName(operator.roleArn)}/${operator.instanceId}`,
                            resource: green.nodeRoleArn,
                            verdict: "allow",
                            reason: POLICY,
                        });
                        const decision = ecrDecision(run, "ecr:BatchGetImage", repositoryNamed(h.world, green.granted).arn);
                        expect(decision).to.deep.include({
                            verdict,
                            reason: POLICY,
                            caller: run.callerArn,
                            context: { ...orgKeys(greenPlacement), [`aws:PrincipalTag/${nodePullTagKey("platform")}`]: "true" },
                        });
                        expect(Object.keys(decision.context ?? {}).filter((k) => EC2_KEYS.includes(k))).to.deep.equal([]);
                        expect(run.results[1].ok, failureText(run)).to.equal(verdict === "allow");
                    });
                }
            }

            it("the mutation dropped that condition and nothing else", function () {
                if (!harnesses.operator.world || !facts) {
                    this.skip();
                }
                for (const repository of harnesses.operator.world.repositories) {
                    const mutated = repositoryNamed(harnesses.operatorWithoutNull.world, repository.name).policy;
                    expect(mutated === undefined ? undefined : withoutNullCondition(repository.policy!)).to.equal(mutated);
                }
                expect(repositoryNamed(harnesses.operatorWithoutNull.world, facts.green.granted).policy).to.not.contain(EC2_INSTANCE_CREDENTIALS_KEY);
                expect(repositoryNamed(harnesses.operator.world, facts.green.granted).policy).to.contain(EC2_INSTANCE_CREDENTIALS_KEY);
            });
        });

        it("had no request for a host or an IMDS path the test bed does not serve", function () {
            if (!harnesses.inOrganization.world) {
                this.skip();
            }
            for (const h of Object.values(harnesses)) {
                expect(h.endpoint.strayRequests).to.deep.equal([]);
                expect(h.endpoint.unknownImdsRequests).to.deep.equal([]);
            }
        });
    });
});

// ---- organization scope: the example, and the worlds ---------------------------------

type Placement = "inOrganization" | "outsideOrganization" | "otherOrganization";

interface GreenNode {
    readonly cluster: string;
    readonly account: string;
    readonly nodeRoleArn: string;
    /** A repository of the grant its node role is tagged for (platform, the whole organization). */
    readonly granted: string;
    /** A repository of a grant whose tag it lacks (payments, an OU). */
    readonly lackingTag: string;
}

interface OrgFacts {
    readonly green: GreenNode;
    /** Where apps-green's account sits in the organization (below the payments OU). */
    readonly greenPlacement: string;
    readonly placements: Readonly<Record<"outsideOrganization" | "otherOrganization" | "untagged", string | undefined>>;
}

/** Made up for the refusals, as in tests/real-clients-org-scope.test.ts: an OU below the payments OU, and another organization. */
const BELOW_OU_ID = "ou-ab12-22222222";
const OTHER_ORGANIZATION_ROOT = "o-zz9y8x7w6v/r-cd34/";

let orgScopeExample:
    Promise<{ runs: Parameters<typeof worldFromExampleRuns>[0]; facts: OrgFacts; organizations: Readonly<Record<Placement, OrganizationFacts>> }> | undefined;

/** The example's stacks, run once (runProject, as `ecrpull plan` runs them), the joining cluster included. */
function runOrgScopeExample(): NonNullable<typeof orgScopeExample> {
    orgScopeExample ??= runProject({ ecrFile: ORG_SCOPE_ECR_FILE }).then((run) => {
        const grants = run.ecr.config["ecrpull:grants"] as {
            name: string;
            scope?: { organization?: string; organizationalUnits?: string[] };
            repositories: string[];
        }[];
        const platform = grants.find((g) => g.name === "platform");
        const payments = grants.find((g) => g.name === "payments");
        const organization = platform?.scope?.organization;
        const ou = payments?.scope?.organizationalUnits?.[0];
        const joining = run.joining.find((e) => e.clusterName === "apps-green");
        if (!organization || platform?.scope?.organizationalUnits || !ou?.endsWith("/*") || !joining?.adopted) {
            throw new Error(
                `the example is no longer as this test reads it: grants ${JSON.stringify(grants)}, joining ${run.joining.map((e) => e.clusterName)}`,
            );
        }
        const nodeRoleArn = (joining.run.outputs.nodeRoleArns as string[])[0];
        const paymentsOu = ou.slice(0, -1);
        const root = paymentsOu.replace(/ou-[^/]+\/$/, "");
        const registryAccount = String(run.ecr.run.outputs.registryAccountId);
        const greenPlacement = `${paymentsOu}${BELOW_OU_ID}/`;
        const placements: Record<Placement, string | undefined> = {
            inOrganization: greenPlacement,
            outsideOrganization: undefined,
            otherOrganization: OTHER_ORGANIZATION_ROOT,
        };
        const organizations = Object.fromEntries(
            (Object.keys(placements) as Placement[]).map((p) => [
                p,
                organizationOf(organization, { [registryAccount]: root, ...(placements[p] ? { [joining.accountId]: placements[p]! } : {}) }),
            ]),
        ) as Record<Placement, OrganizationFacts>;
        const facts: OrgFacts = {
            green: {
                cluster: joining.clusterName,
                account: joining.accountId,
                nodeRoleArn,
                granted: platform!.repositories[0],
                lackingTag: payments!.repositories[0],
            },
            greenPlacement,
            placements: { outsideOrganization: undefined, otherOrganization: OTHER_ORGANIZATION_ROOT, untagged: greenPlacement },
        };
        return { runs: { eks: [...run.eks, ...run.joining], ecr: run.ecr.run }, facts, organizations };
    });
    return orgScopeExample;
}

/** The world with the node role's tags removed (a role someone untagged after its stack checked it). */
function withoutNodeRoleTags(world: World, nodeRoleArn: string): World {
    const role = world.roles.get(nodeRoleArn)!;
    world.roles.set(nodeRoleArn, { ...role, tags: {}, origin: `${role.origin}; tags removed: ${HAND_MADE}` });
    return world;
}

const OPERATOR_ROLE = "ops-admin";
const OPERATOR_SESSION = "operator-debug";
const OPERATOR_PROFILE = "node-as-operator";
const OPERATOR_CONFIG = "/etc/ecrpull-operator/aws-config";

/**
 * An operator's role in the node role's account, on an instance of its
 * own, allowed to assume the node role (its identity policy, and a
 * statement added to the node role's trust): the one way to get a session
 * of the tagged node role that EC2 did not issue. Everything here is
 * hand-made; the package writes none of it.
 */
function withOperator(world: World, nodeRoleArn: string): { world: World; operatorRoleArn: string } {
    const node = world.roles.get(nodeRoleArn)!;
    const operatorRoleArn = `arn:${world.partition}:iam::${node.account}:role/${OPERATOR_ROLE}`;
    const trust = JSON.parse(node.trustPolicy) as { Statement: object[] };
    trust.Statement.push({ Sid: "OperatorDebug", Effect: "Allow", Principal: { AWS: operatorRoleArn }, Action: "sts:AssumeRole" });
    world.roles.set(nodeRoleArn, { ...node, trustPolicy: JSON.stringify(trust), origin: `${node.origin}; trust edited: ${HAND_MADE}` });
    world.roles.set(operatorRoleArn, {
        arn: operatorRoleArn,
        name: OPERATOR_ROLE,
        account: node.account,
        uniqueId: "AROAOPERATOREXAMPLE01",
        trustPolicy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
        }),
        maxSessionDuration: 3600,
        identityPolicies: [
            {
                name: `${OPERATOR_ROLE}/assume-node-role`,
                json: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: nodeRoleArn }] }),
            },
        ],
        tags: {},
        origin: HAND_MADE,
    });
    return { world, operatorRoleArn };
}

function operatorOf(world: World, green: GreenNode): WorldInstance {
    return nodeInstanceOf(world, clusterNamed(world, green.cluster), `arn:${world.partition}:iam::${green.account}:role/${OPERATOR_ROLE}`);
}

/** A process on the operator's instance whose AWS config profile assumes the node role from the instance's credentials. */
function operatorProcess(world: World, green: GreenNode): NodeDeclaration {
    const cluster = clusterNamed(world, green.cluster);
    const config = [
        `[profile ${OPERATOR_PROFILE}]`,
        `role_arn = ${green.nodeRoleArn}`,
        "credential_source = Ec2InstanceMetadata",
        `role_session_name = ${OPERATOR_SESSION}`,
        `region = ${world.registry.region}`,
        "",
    ].join("\n");
    return {
        kind: "node",
        cluster,
        instance: operatorOf(world, green),
        extra: {
            env: { AWS_CONFIG_FILE: OPERATOR_CONFIG, AWS_PROFILE: OPERATOR_PROFILE },
            files: [{ path: OPERATOR_CONFIG, content: config, mode: 0o644 }],
            why: `an operator's profile that assumes the node role (${HAND_MADE})`,
        },
    };
}

/** A repository policy without the `Null aws:Ec2InstanceSourceVpc` condition (the block removed when it was its only key). */
function withoutNullCondition(policy: string): string {
    const document = JSON.parse(policy) as { Statement: { Condition?: Record<string, Record<string, unknown>> }[] };
    for (const statement of document.Statement) {
        const nullBlock = statement.Condition?.Null;
        if (nullBlock && EC2_INSTANCE_CREDENTIALS_KEY in nullBlock) {
            delete nullBlock[EC2_INSTANCE_CREDENTIALS_KEY];
            if (Object.keys(nullBlock).length === 0) {
                delete statement.Condition!.Null;
            }
        }
    }
    return JSON.stringify(document);
}

function withoutEc2InstanceCondition(world: World): World {
    world.repositories.forEach((r, i) => {
        if (r.policy) {
            world.repositories[i] = { ...r, policy: withoutNullCondition(r.policy) };
        }
    });
    return world;
}

// ---- without processes -----------------------------------------------------------------

describe("the Instance Metadata Service and the EC2 request keys of the local endpoint, without processes (runs without root)", function () {
    this.timeout(60000);
    const ctx: RequestContext = { runId: "imds-unit", userAgent: "test" };
    let world: World;
    let plane: ControlPlane;
    let instance: WorldInstance;

    before(async () => {
        world = await realClientsWorld();
        plane = new ControlPlane(world, new IamSimulator());
        instance = nodeInstanceOf(world, clusterNamed(world, "apps-a"));
    });

    it("serves IMDSv2 only: a token by PUT with a TTL of 1 to 21600 seconds, refused through a proxy; every GET needs a live token; what it does not model is a logged 404", async () => {
        const imds = new InstanceMetadataService(plane, instance);
        const put = (headers: Record<string, string>) => imds.handle(ctx, "PUT", "/latest/api/token", headers);
        expect((await put({})).status).to.equal(400);
        expect((await put({ [TOKEN_TTL_HEADER]: "21601" })).status).to.equal(400);
        expect((await put({ [TOKEN_TTL_HEADER]: "0" })).status).to.equal(400);
        expect((await put({ [TOKEN_TTL_HEADER]: "60", "x-forwarded-for": "10.0.0.9" })).status).to.equal(403);
        const issued = await put({ [TOKEN_TTL_HEADER]: "21600" });
        expect(issued.status).to.equal(200);
        expect(issued.headers[TOKEN_TTL_HEADER]).to.equal("21600");
        const get = (p: string, token?: string) => imds.handle(ctx, "GET", p, token ? { [TOKEN_HEADER]: token } : {});
        expect((await get("/latest/meta-data/iam/security-credentials/")).status, "IMDSv1 (no token)").to.equal(401);
        expect((await get("/latest/meta-data/iam/security-credentials/", "AQAEAnot-a-token")).status).to.equal(401);
        const roleName = await get("/latest/meta-data/iam/security-credentials/", issued.body);
        expect(roleName).to.include({ status: 200, body: instance.roleArn.split("/").pop() });
        const credentials = JSON.parse((await get(`/latest/meta-data/iam/security-credentials/${roleName.body}`, issued.body)).body);
        expect(Object.keys(credentials)).to.deep.equal(["Code", "LastUpdated", "Type", "AccessKeyId", "SecretAccessKey", "Token", "Expiration"]);
        expect(credentials).to.include({ Code: "Success", Type: "AWS-HMAC" });
        expect(credentials.Expiration).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        const session = plane.sessions.get(credentials.AccessKeyId)!;
        expect(session).to.include({ via: "ec2-instance", sessionName: instance.instanceId, roleArn: instance.roleArn });
        expect((await get("/latest/meta-data/iam/security-credentials/another-role", issued.body)).status).to.equal(404);
        expect(JSON.parse((await get("/latest/dynamic/instance-identity/document", issued.body)).body)).to.include({
            region: instance.region,
            accountId: instance.account,
            instanceId: instance.instanceId,
            privateIp: instance.privateIp,
        });
        expect(imds.log.unknown).to.deep.equal([]);
        expect((await get("/latest/meta-data/public-keys/", issued.body)).status).to.equal(404);
        expect(imds.log.unknown.map((r) => r.path)).to.deep.equal(["/latest/meta-data/public-keys/"]);
    });

    it("adds the EC2 instance keys to requests signed with EC2 instance credentials only: not to web identity, AssumeRole (chained from EC2 included) or Pod Identity sessions", async () => {
        const ec2 = await plane.ec2Instance(ctx, instance);
        expect(ec2.ok).to.equal(true);
        const ec2Session = (ec2 as Extract<typeof ec2, { ok: true }>).session;
        expect(plane.requestContext(ec2Session)).to.deep.equal(ec2Keys(world, instance));

        const cluster = clusterNamed(world, "apps-a");
        const now = Math.floor(Date.now() / 1000);
        const token = signJwt(
            { iss: cluster.issuerUrl, sub: "system:serviceaccount:ci:image-builder", aud: ["sts.amazonaws.com"], iat: now, nbf: now, exp: now + 3600 },
            world.issuers.get(cluster.issuerUrl)!.key,
        );
        const web = await plane.webIdentity(ctx, pullRoleArn(world, "ci-builders"), token, "builder", 3600);
        expect(web.ok, JSON.stringify(web)).to.equal(true);
        const webSession = (web as Extract<typeof web, { ok: true }>).session;
        expect(plane.requestContext(webSession)).to.equal(undefined);

        // Pod Identity: EKS assumes the association's role with session tags, then the target role.
        const association = world.associations.find((a) => a.clusterArn === cluster.arn && a.targetRoleArn)!;
        const tags = {
            "eks-cluster-arn": cluster.arn,
            "eks-cluster-name": cluster.name,
            "kubernetes-namespace": association.namespace,
            "kubernetes-service-account": association.serviceAccount,
        };
        const first = await plane.serviceAssumeRole(
            ctx,
            "pods.eks.amazonaws.com",
            { account: cluster.account, arn: cluster.arn },
            association.roleArn,
            "pod",
            tags,
            3600,
        );
        expect(first.ok, JSON.stringify(first)).to.equal(true);
        const podSession = (first as Extract<typeof first, { ok: true }>).session;
        const target = await plane.assumeRole(ctx, podSession, association.targetRoleArn!, "pod", tags, 3600, "pod-identity");
        expect(target.ok, JSON.stringify(target)).to.equal(true);
        const targetSession = (target as Extract<typeof target, { ok: true }>).session;
        // Session tags are principal tags of every later request; no EC2 key.
        const principalTags = Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:PrincipalTag/${k}`, v]));
        expect(plane.requestContext(podSession)).to.deep.equal(principalTags);
        expect(plane.requestContext(targetSession)).to.deep.equal(principalTags);

        // A role the EC2 session assumes is a session EC2 did not issue: no EC2 key, though the request that assumed it had them.
        const chained = plane.issue(world.roles.get(pullRoleArn(world, "payments"))!, "chained", {}, 3600, "assume-role", true);
        expect(plane.requestContext(chained)).to.equal(undefined);
        for (const session of [webSession, podSession, targetSession, chained]) {
            expect(
                Object.keys(plane.requestContext(session) ?? {}).filter((k) => EC2_KEYS.includes(k) || ORG_KEYS.includes(k)),
                session.via,
            ).to.deep.equal([]);
        }
    });

    it("takes principal tags from the role and the session, the session's winning for the same key", () => {
        const nodeRole = world.roles.get(instance.roleArn)!;
        world.roles.set(instance.roleArn, { ...nodeRole, tags: { team: "platform", [nodePullTagKey("ml")]: "true" } });
        try {
            const session = plane.issue(world.roles.get(instance.roleArn)!, "tagged", { team: "payments" }, 3600, "assume-role", false);
            expect(plane.requestContext(session)).to.deep.equal({ "aws:PrincipalTag/team": "payments", [`aws:PrincipalTag/${nodePullTagKey("ml")}`]: "true" });
        } finally {
            world.roles.set(instance.roleArn, nodeRole);
        }
    });

    it("delivers no credentials for a role whose trust does not let EC2 assume it (decided by evaluation)", async () => {
        const pullRole = pullRoleArn(world, "payments");
        const outcome = await plane.ec2Instance({ ...ctx, runId: "imds-unit-untrusted" }, { ...instance, roleArn: pullRole });
        expect(outcome.ok).to.equal(false);
        const decisions = plane.decisionsOf("imds-unit-untrusted");
        expect(decisions.length).to.equal(1);
        expect(decisions[0]).to.include({
            api: "ec2",
            caller: "ec2.amazonaws.com",
            action: "sts:AssumeRole",
            resource: pullRole,
            verdict: "deny",
            reason: POLICY,
        });
    });
});
