/**
 * The access report (tools/report/report.ts) and its evaluator
 * (tools/report/evaluator.ts), checked against @cloud-copilot/iam-simulate,
 * the independent evaluator of tests/evaluator.test.ts: for every principal
 * of a universe (each cluster's configured service accounts, intruders, the
 * same names in other namespaces, node roles), every credential route the
 * cluster's state sets up (so also "what if an intruder annotated itself
 * with the pull role") and every repository, both must give the same
 * verdict. Fleets: the test fixtures, the example stack files, the pattern
 * and sharded fleets, and random valid fleets (fast-check, fixed seed).
 */
import { expect } from "chai";
import fc from "fast-check";
import * as path from "path";
import {
    accessReport,
    AccessReport,
    AccessReportError,
    evaluateRoute,
    FleetState,
    readFleetState,
    renderMarkdown,
    renderMermaid,
    Route,
} from "../tools/report/report";
import { allows, EvaluatorError, MANAGED_POLICY_DOCUMENTS, podIdentityTags, pullAllowed, RoleDocuments } from "../tools/report/evaluator";
import { MANAGED_POLICIES } from "./support/aws/managed-policies";
import { issuerHostPath, oidcProviderArn } from "../components/iam/names";
import { ECR_AUTH_TOKEN_ACTION, ECR_IMAGE_PULL_CALLS, ECR_PULL_ACTIONS } from "../components/iam/policies";
import { parseStackExport, StackExport } from "../tools/state/stack-export";
import { runExampleStacks } from "../tools/engine/example-state";
import { readStackConfig } from "../tools/state/stack-file";
import { ProgramRun } from "../tools/engine/mock-engine";
import { toStackExport } from "../tools/state/from-run";
import { EcrStackRun, EksStackRun, runTwoStacks } from "../tools/engine/two-stacks";
import { ACCOUNT_A, ACCOUNT_B, clusterA, clusterB, clusterUs, GRANTS, registry, replicatedRegistry, STACK_A, STACK_B } from "./support/fixtures";
import { FleetModel, MANAGED_POLICIES as FLEET_MANAGED_POLICIES, patternFleet, randomFleet, shardedFleet } from "./support/fleets";
import { IamSimulator, providerAdmits } from "./support/simulate";

const ROOT = path.resolve(__dirname, "..");

function state(run: ProgramRun<unknown>, stack: string): StackExport {
    return parseStackExport(JSON.stringify(toStackExport(run, { stack })), `${stack}.json`);
}

interface Fleet {
    readonly registry: StackExport;
    readonly clusters: StackExport[];
    /** Configured service accounts by EKS stack (short name): the universe's starting point, from the config, not the documents. */
    readonly configured: Map<string, { namespace: string; serviceAccount: string }[]>;
}

async function fleetOf(eks: readonly EksStackRun[], ecr: EcrStackRun): Promise<Fleet> {
    const run = await runTwoStacks(eks, ecr);
    const short = (name: string) => name.split("/").pop()!;
    return {
        registry: state(run.ecr, "ecr"),
        clusters: run.eks.map((r, i) => state(r, short(eks[i].name))),
        configured: new Map(
            eks.map((e) => [
                short(e.name),
                ((e.config["ecrpull:workloads"] as { namespace: string; serviceAccount: string }[]) ?? []).map((w) => ({
                    namespace: w.namespace,
                    serviceAccount: w.serviceAccount,
                })),
            ]),
        ),
    };
}

/** A generated fleet model as the two stacks' config: adopted clusters, Pod Identity agent present. */
function stacksOfModel(model: FleetModel): { eks: EksStackRun[]; ecr: EcrStackRun } {
    const eks = model.clusters.map((c): EksStackRun => ({
        name: c.stack,
        accountId: c.account,
        region: c.region,
        existingClusters: { [c.name]: { issuerUrl: c.issuerUrl, addons: ["eks-pod-identity-agent"] } },
        config: {
            "ecrpull:registryAccountId": model.registryAccount,
            "ecrpull:cluster": { name: c.name, create: false, nodeRoleArns: c.nodeRoleArns },
            "ecrpull:oidcThumbprint": "omit",
            "ecrpull:workloads": c.workloads.map((w) => ({ ...w, shards: model.grants.find((g) => g.name === w.grant)!.shards })),
        },
    }));
    return {
        eks,
        ecr: {
            accountId: model.registryAccount,
            region: model.region,
            config: {
                "ecrpull:clusterStacks": model.clusters.map((c) => c.stack),
                "ecrpull:repositories": model.repositories.map((name) => ({ name })),
                "ecrpull:grants": model.grants,
            },
        },
    };
}

// ---- The same question asked of iam-simulate ------------------------------------------

async function simulatePull(sim: IamSimulator, role: RoleDocuments, repository: { arn: string; policy?: string }): Promise<boolean> {
    const identityPolicies = role.identityPolicies.map((p) => ({ name: p.name, json: p.json }));
    if (!(await sim.ecr({ principalRoleArn: role.arn, identityPolicies, action: ECR_AUTH_TOKEN_ACTION }))) {
        return false;
    }
    for (const action of ECR_IMAGE_PULL_CALLS) {
        if (!(await sim.ecr({ principalRoleArn: role.arn, identityPolicies, action, repositoryArn: repository.arn, repositoryPolicy: repository.policy }))) {
            return false;
        }
    }
    return true;
}

/** Every hop of a route, decided by iam-simulate on the documents of the fleet's states. */
async function simulateRoute(
    sim: IamSimulator,
    fleet: FleetState,
    cluster: FleetState["clusters"][number],
    namespace: string,
    serviceAccount: string,
    route: Route,
    repository: { arn: string; policy?: string },
): Promise<boolean> {
    const role = (arn: string | undefined) => (arn ? fleet.roles.get(arn) : undefined);
    const first = role(route.roleArn);
    if (!first) {
        return false;
    }
    if (route.kind === "node") {
        return simulatePull(sim, first, repository);
    }
    if (route.kind === "irsa") {
        const providerArn = oidcProviderArn("aws", first.arn.split(":")[4], cluster.issuerUrl);
        const admitted =
            providerAdmits(fleet.providers, providerArn, "sts.amazonaws.com") &&
            (await sim.webIdentity({
                roleArn: first.arn,
                trustPolicy: first.trustPolicy,
                providerArn,
                issuerHostPath: issuerHostPath(cluster.issuerUrl),
                namespace,
                serviceAccount,
                audience: "sts.amazonaws.com",
            }));
        if (!admitted) {
            return false;
        }
        if (!route.chainTo) {
            return simulatePull(sim, first, repository);
        }
        const target = role(route.chainTo);
        const hop =
            target !== undefined &&
            (await sim.roleSession({
                principalRoleArn: first.arn,
                identityPolicies: first.identityPolicies,
                action: "sts:AssumeRole",
                roleArn: target.arn,
                trustPolicy: target.trustPolicy,
            }));
        return hop && simulatePull(sim, target!, repository);
    }
    const tags = Object.fromEntries(
        Object.entries(podIdentityTags(cluster.arn, namespace, serviceAccount)).map(([k, v]) => [k.replace("aws:RequestTag/", ""), v]),
    );
    for (const action of ["sts:AssumeRole", "sts:TagSession"] as const) {
        const ok = await sim.service({
            service: "pods.eks.amazonaws.com",
            sourceAccount: cluster.account,
            sourceArn: cluster.arn,
            action,
            roleArn: first.arn,
            trustPolicy: first.trustPolicy,
            sessionTags: tags,
        });
        if (!ok) {
            return false;
        }
    }
    const target = role(route.targetRoleArn);
    if (!target) {
        return route.targetRoleArn === undefined && simulatePull(sim, first, repository);
    }
    for (const action of ["sts:AssumeRole", "sts:TagSession"] as const) {
        const ok = await sim.roleSession({
            principalRoleArn: first.arn,
            identityPolicies: first.identityPolicies,
            action,
            roleArn: target.arn,
            trustPolicy: target.trustPolicy,
            sessionTags: tags,
        });
        if (!ok) {
            return false;
        }
    }
    return simulatePull(sim, target, repository);
}

interface Comparison {
    checked: number;
    allowed: number;
    mismatches: string[];
}

/**
 * Both evaluators on every (principal of the universe, route of its cluster,
 * repository). The universe: each configured service account, the same
 * names in a namespace nobody granted, two intruders, and the node roles.
 */
/** Verdicts compared over the whole file, printed once. */
const tally = { checked: 0, allowed: 0 };

async function compareWithSimulator(fleet: FleetState, configured: Map<string, { namespace: string; serviceAccount: string }[]>): Promise<Comparison> {
    const sim = new IamSimulator();
    const result: Comparison = { checked: 0, allowed: 0, mismatches: [] };
    for (const cluster of fleet.clusters) {
        const routes = fleet.principals.filter((p) => p.cluster === cluster).flatMap((p) => p.routes);
        const unique = [...new Map(routes.map((r) => [JSON.stringify(r), r])).values()];
        const accounts = [
            ...(configured.get(cluster.stack) ?? []),
            ...(configured.get(cluster.stack) ?? []).map((sa) => ({ namespace: "not-granted", serviceAccount: sa.serviceAccount })),
            { namespace: "ci", serviceAccount: "intruder" },
            { namespace: "default", serviceAccount: "default" },
        ];
        for (const sa of accounts) {
            for (const route of unique) {
                for (const repository of fleet.repositories) {
                    const mine = evaluateRoute(fleet, { cluster, ...sa }, route, repository).allowed;
                    const theirs = await simulateRoute(sim, fleet, cluster, sa.namespace, sa.serviceAccount, route, repository);
                    result.checked++;
                    result.allowed += mine ? 1 : 0;
                    tally.checked++;
                    tally.allowed += mine ? 1 : 0;
                    if (mine !== theirs) {
                        result.mismatches.push(
                            `${cluster.stack} ${sa.namespace}/${sa.serviceAccount} ${JSON.stringify(route)} ${repository.name}: report ${mine}, iam-simulate ${theirs}`,
                        );
                    }
                }
            }
        }
    }
    return result;
}

/** The report's matrix, cell by cell, against iam-simulate on the principal's own routes. */
async function checkMatrix(fleet: FleetState, report: AccessReport): Promise<string[]> {
    const sim = new IamSimulator();
    const problems: string[] = [];
    for (const [i, p] of fleet.principals.entries()) {
        const row = report.principals[i];
        for (const repository of fleet.repositories) {
            let simulated = false;
            for (const route of p.routes) {
                simulated ||= await simulateRoute(sim, fleet, p.cluster, p.namespace ?? "", p.serviceAccount ?? "", route, repository);
            }
            const reported = row.access.some((e) => e.repository === repository.name);
            if (simulated !== reported) {
                problems.push(
                    `${row.cluster} ${row.namespace ?? row.nodeRoleArn}/${row.serviceAccount ?? ""} ${repository.name}: report ${reported}, iam-simulate ${simulated}`,
                );
            }
        }
    }
    return problems;
}

/** The matrix as compact lines, for exact expectations. */
const lines = (report: AccessReport) =>
    report.principals.map(
        (p) =>
            `${p.cluster} ${p.kind === "node" ? "node" : `${p.namespace}/${p.serviceAccount}`}: ${p.access.map((e) => `${e.repository}(${e.path})`).join(" ") || "-"}`,
    );

describe("access report", function () {
    this.timeout(120000);
    after(() =>
        console.log(
            `      access report vs iam-simulate: ${tally.checked.toLocaleString("en-US")} (principal, route, repository) verdicts agree, ${tally.allowed.toLocaleString("en-US")} of them allowed`,
        ),
    );

    describe("the fixtures fleet", () => {
        let fixtures: Fleet;
        let fleet: FleetState;
        let report: AccessReport;
        before(async () => {
            fixtures = await fleetOf([clusterA(), clusterB()], registry());
            fleet = readFleetState(fixtures.registry, fixtures.clusters);
            report = accessReport(fleet);
        });

        it("lists what each service account and node role can pull, and by which path", () => {
            expect(lines(report)).to.deep.equal([
                "eks-a ci/image-builder: ci/cache(federation) platform/base(federation)",
                "eks-a ml/trainer: ml/models(podIdentity)",
                "eks-a payments/deployer: payments/api(chaining) platform/base(chaining)",
                "eks-a node: ci/cache(node) ml/models(node) payments/api(node) platform/base(node)",
                "eks-b ci/image-builder: ci/cache(federation) platform/base(federation)",
                "eks-b ml/trainer: ml/models(podIdentity)",
                "eks-b node: ci/cache(node) ml/models(node) platform/base(node)",
            ]);
            expect(report.unreachable).to.deep.equal(["archive/legacy"]);
            expect(report.totals).to.deep.equal({ federation: 4, chaining: 2, podIdentity: 2, node: 7 });
        });

        it("names the roles on the way", () => {
            const deployer = report.principals.find((p) => p.serviceAccount === "deployer")!;
            expect(deployer.access[0].via).to.deep.equal([
                `arn:aws:iam::${ACCOUNT_A}:role/ecr-chain-payments-cc2ff5`,
                "arn:aws:iam::111122223333:role/ecr-pull-payments",
            ]);
        });

        it("says what it assumes: the adopted cluster's node role policy", () => {
            expect(report.assumptions).to.deep.equal([{ kind: "node role policy", stack: "eks-b", subject: "apps-b-nodes" }]);
            expect(renderMarkdown(report)).to.include(
                "Assumed (not in the documents):\n- node roles not managed by this package (adopted clusters) are assumed to carry AmazonEC2ContainerRegistryPullOnly, and the node-pull tags of the organization-scoped grants their stack names (the eks stack checks them at deploy time): apps-b-nodes (eks-b).",
            );
        });

        it("agrees with iam-simulate on every principal, route and repository, with denied cases", async () => {
            const result = await compareWithSimulator(fleet, fixtures.configured);
            expect(result.mismatches).to.deep.equal([]);
            // Every (principal, route, repository) of the fixtures: the comparison is not vacuous.
            expect(result.checked).to.equal(250);
            expect(result.allowed).to.be.greaterThan(0);
            expect(result.allowed).to.be.lessThan(result.checked / 4);
            expect(await checkMatrix(fleet, report)).to.deep.equal([]);
        });

        it("still agrees with iam-simulate on a widened trust (sub dropped), which lets the intruders in", async () => {
            const pullRole = "arn:aws:iam::111122223333:role/ecr-pull-ci-builders";
            const original = fleet.roles.get(pullRole)!;
            const trust = JSON.parse(original.trustPolicy);
            for (const statement of trust.Statement) {
                for (const key of Object.keys(statement.Condition.StringEquals).filter((k) => k.endsWith(":sub"))) {
                    delete statement.Condition.StringEquals[key];
                }
            }
            const roles = new Map(fleet.roles).set(pullRole, { ...original, trustPolicy: JSON.stringify(trust) });
            const widened: FleetState = { ...fleet, roles };
            const before = await compareWithSimulator(fleet, fixtures.configured);
            const after = await compareWithSimulator(widened, fixtures.configured);
            expect(after.mismatches).to.deep.equal([]);
            const intruder = { cluster: fleet.clusters[0], namespace: "ci", serviceAccount: "intruder" };
            expect(
                evaluateRoute(
                    widened,
                    intruder,
                    { kind: "irsa", roleArn: pullRole },
                    fleet.repositories.find((r) => r.name === "ci/cache")!,
                ).allowed,
            ).to.equal(true);
            expect(after.allowed).to.be.greaterThan(before.allowed);
        });

        it("denies a service account in no grant, and a repository not in the grant, and says which hop fails", () => {
            const clusterOfA = fleet.clusters.find((c) => c.stack === "eks-a")!;
            const irsa: Route = { kind: "irsa", roleArn: "arn:aws:iam::111122223333:role/ecr-pull-ci-builders" };
            const repo = (name: string) => fleet.repositories.find((r) => r.name === name)!;
            const intruder = evaluateRoute(fleet, { cluster: clusterOfA, namespace: "ci", serviceAccount: "intruder" }, irsa, repo("ci/cache"));
            expect(intruder).to.deep.include({ allowed: false, path: "federation" });
            expect(intruder.reason).to.equal(`the trust policy of ecr-pull-ci-builders does not admit ci/intruder of ${issuerHostPath(clusterOfA.issuerUrl)}`);
            const builder = { cluster: clusterOfA, namespace: "ci", serviceAccount: "image-builder" };
            expect(evaluateRoute(fleet, builder, irsa, repo("ci/cache")).allowed).to.equal(true);
            expect(evaluateRoute(fleet, builder, irsa, repo("payments/api")).reason).to.equal(
                "the policies of ecr-pull-ci-builders do not allow ecr:BatchGetImage on payments/api",
            );
            expect(evaluateRoute(fleet, builder, irsa, repo("archive/legacy")).allowed).to.equal(false);
        });

        it("gives the same output whatever the order of the states and of their resources", () => {
            const shuffled = (s: StackExport): StackExport => ({ ...s, resources: [...s.resources].reverse() });
            const again = accessReport(readFleetState(shuffled(fixtures.registry), [...fixtures.clusters].reverse().map(shuffled)));
            expect(JSON.stringify(again)).to.equal(JSON.stringify(report));
            expect(renderMarkdown(again)).to.equal(renderMarkdown(report));
            expect(renderMermaid(again)).to.equal(renderMermaid(report));
        });

        it("renders Markdown: one row per principal and route, clusters grouped, and a table per repository", () => {
            const markdown = renderMarkdown(report);
            expect(markdown).to.include("| apps-a, apps-b | ci/image-builder | federation | ecr-pull-ci-builders | ci/cache, platform/base |");
            expect(markdown).to.include(
                "| apps-a | payments/deployer | chaining | ecr-chain-payments-cc2ff5 -> ecr-pull-payments | payments/api, platform/base |",
            );
            expect(markdown).to.include("| apps-b | node role apps-b-nodes | node | repository policy | ci/cache, ml/models, platform/base |");
            expect(markdown).to.include("| archive/legacy | - | - | - | - | - |");
            expect(markdown).to.include("| platform/base | 2 | 1 | - | 2 | 2 |");
            expect(markdown).to.include("No principal of these clusters can pull: archive/legacy.");
        });

        it("draws accounts as subgraphs with an edge for each allowed hop", () => {
            const mermaid = renderMermaid(report);
            expect(mermaid.split("\n")[0]).to.equal("flowchart LR");
            expect(mermaid).to.match(/subgraph n\d+\["Cluster account 444455556666"\]/);
            expect(mermaid).to.match(/subgraph n\d+\["Registry account 111122223333"\]/);
            expect(mermaid).to.include('-->|"chaining: payments/deployer"|');
            expect((mermaid.match(/-->/g) ?? []).length).to.equal(20);
            // Past the edge budget it draws one node per account instead of one per cluster.
            const small = renderMermaid(report, { maxEdges: 5 });
            expect(small).to.include('c0["1 cluster<br/>1 node role"]');
            expect(small).to.include('c0 -->|"chaining: 1 service account"| p2');
            expect(small).to.include('p2["role ecr-pull-payments<br/>2 repositories"]');
            expect(small).to.include('c1 -->|"node: 3 repositories"| nodes');
            expect(small).not.to.include("stack eks-a");
        });
    });

    it("counts a ServiceAccount the stack patches (existingServiceAccount) like one it creates", async () => {
        const workloads = [{ namespace: "ci", serviceAccount: "image-builder", grant: "ci-builders", existingServiceAccount: true }];
        const fleet = await fleetOf(
            [clusterA({ "ecrpull:workloads": workloads }), clusterB({ "ecrpull:workloads": workloads })],
            registry({ "ecrpull:grants": [GRANTS[0]] }),
        );
        const report = accessReport(readFleetState(fleet.registry, fleet.clusters));
        expect(lines(report).filter((l) => l.includes("ci/image-builder"))).to.deep.equal([
            "eks-a ci/image-builder: ci/cache(federation) platform/base(federation)",
            "eks-b ci/image-builder: ci/cache(federation) platform/base(federation)",
        ]);
    });

    it("the example stack files: agrees with iam-simulate, and every configured workload can pull", async () => {
        const runs = await runExampleStacks(path.join(ROOT, "Pulumi.ecr.yaml"));
        const clusters = runs.eks.map((e) => state(e.run, e.name.split("/").pop()!));
        const fleet = readFleetState(state(runs.ecr, "ecr"), clusters);
        const report = accessReport(fleet);
        const workloads = readStackConfig(path.join(ROOT, "Pulumi.eks.yaml"))["ecrpull:workloads"] as { namespace: string; serviceAccount: string }[];
        const configured = new Map([["eks", workloads.map((w) => ({ namespace: w.namespace, serviceAccount: w.serviceAccount }))]]);
        const result = await compareWithSimulator(fleet, configured);
        expect(result.mismatches).to.deep.equal([]);
        expect(result.allowed).to.be.greaterThan(0);
        expect(await checkMatrix(fleet, report)).to.deep.equal([]);
        expect(report.principals.filter((p) => p.kind === "serviceAccount").every((p) => p.access.length > 0)).to.equal(true);
    });

    for (const [name, make] of [
        ["pattern fleet", patternFleet],
        ["sharded fleet", () => shardedFleet(6, 3)],
        ["two-region fleet (replicas in us-east-1)", () => ({ eks: [clusterA(), clusterB(), clusterUs()], ecr: replicatedRegistry() })],
    ] as const) {
        it(`the ${name}: agrees with iam-simulate`, async () => {
            const { eks, ecr } = make();
            const fleet = await fleetOf(eks, ecr);
            const state = readFleetState(fleet.registry, fleet.clusters);
            const result = await compareWithSimulator(state, fleet.configured);
            expect(result.mismatches).to.deep.equal([]);
            expect(result.allowed).to.be.greaterThan(0);
            expect(await checkMatrix(state, accessReport(state))).to.deep.equal([]);
        });
    }

    it("random valid fleets (fast-check, fixed seed): agrees with iam-simulate", async () => {
        const models = fc.sample(randomFleet, { numRuns: 6, seed: 20261122 });
        let checked = 0;
        let allowed = 0;
        for (const model of models) {
            const { eks, ecr } = stacksOfModel(model);
            const fleet = await fleetOf(eks, ecr);
            const state = readFleetState(fleet.registry, fleet.clusters);
            const result = await compareWithSimulator(state, fleet.configured);
            expect(result.mismatches, `fleet ${JSON.stringify(model)}`).to.deep.equal([]);
            expect(await checkMatrix(state, accessReport(state))).to.deep.equal([]);
            checked += result.checked;
            allowed += result.allowed;
        }
        expect(checked).to.be.greaterThan(500);
        expect(allowed).to.be.greaterThan(0);
    });

    describe("large fleets stay readable", () => {
        it("groups a service account of many clusters into one row and stops at maxRows", async () => {
            const { eks, ecr } = shardedFleet(4, 1);
            const fleet = await fleetOf(eks, ecr);
            const report = accessReport(readFleetState(fleet.registry, fleet.clusters));
            const markdown = renderMarkdown(report);
            expect(markdown).to.include("| c0, c1, c2 and 1 more | platform/puller | federation | ecr-pull-platform | platform/base |");
            expect(markdown).to.include("| c0, c1, c2 and 1 more | node roles (4) | node | repository policy | platform/base |");
            const cut = renderMarkdown(report, { maxRows: 1 });
            expect(cut).to.include("1 more row not shown; `--json` has every principal.");
        });
    });

    describe("refuses what it cannot read, naming the file", () => {
        let fixtures: Fleet;
        before(async () => {
            fixtures = await fleetOf([clusterA(), clusterB()], registry());
        });

        it("an EKS state without the contract's outputs", () => {
            const broken = { ...fixtures.clusters[0], outputs: { ...fixtures.clusters[0].outputs, clusterArn: undefined } };
            expect(() => readFleetState(fixtures.registry, [broken]))
                .to.throw(AccessReportError)
                .with.property("message", "eks-a.json: has no output [clusterArn]; give the export of an eks stack deployed by this package.");
            expect(() => readFleetState(fixtures.clusters[0], [])).to.throw("eks-a.json: has no output [registryAccountId]; give the export of the ecr stack.");
        });

        it("a policy-bearing resource type it does not evaluate", () => {
            const extra = {
                urn: "urn:pulumi:ecr::ecrpull::aws:iam/policy:Policy::extra",
                type: "aws:iam/policy:Policy",
                custom: true,
                inputs: {},
                outputs: {},
            };
            const registryState = { ...fixtures.registry, resources: [...fixtures.registry.resources, extra] };
            expect(() => readFleetState(registryState, fixtures.clusters)).to.throw(
                "ecr.json: the access report cannot evaluate aws:iam/policy:Policy (it reads aws:iam/role:Role, aws:iam/rolePolicy:RolePolicy, aws:iam/rolePolicyAttachment:RolePolicyAttachment, aws:iam/openIdConnectProvider:OpenIdConnectProvider, aws:ecr/repository:Repository, aws:ecr/repositoryPolicy:RepositoryPolicy, aws:ecr/lifecyclePolicy:LifecyclePolicy, aws:ecr/replicationConfiguration:ReplicationConfiguration, aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate).",
            );
        });

        it("documents wider than the package writes fail loudly instead of being guessed at", () => {
            const doc = (statement: object) => JSON.stringify({ Version: "2012-10-17", Statement: [statement] });
            const request = { action: "ecr:BatchGetImage", resource: "*" };
            const cases: [object, string][] = [
                [{ Effect: "Deny", Action: "ecr:*", Resource: "*" }, 'evaluator: unexpected effect "Deny" (only Allow statements are written)'],
                [
                    { Effect: "Allow", NotAction: "ecr:PutImage", Resource: "*" },
                    "evaluator: unsupported statement element NotAction (only Sid, Effect, Principal, Action, Resource, Condition are written)",
                ],
                [
                    { Effect: "Allow", Action: "ecr:*", Resource: "*", Condition: { StringNotEquals: { "aws:PrincipalArn": "x" } } },
                    "evaluator: unsupported condition operator StringNotEquals (only StringEquals, StringLike, ArnEquals, ArnLike, ForAnyValue:StringLike, Null are written)",
                ],
                [
                    { Effect: "Allow", Principal: { CanonicalUser: "abc" }, Action: "ecr:*" },
                    "evaluator: unsupported principal type CanonicalUser (only AWS, Federated and Service principals are written)",
                ],
            ];
            for (const [statement, message] of cases) {
                expect(() => allows(doc(statement), { ...request, principalType: "AWS", principal: "arn:aws:iam::111122223333:role/x" }), message).to.throw(
                    EvaluatorError,
                    message,
                );
            }
            expect(() => allows(JSON.stringify({ Version: "2008-10-17", Statement: [] }), request)).to.throw(
                'evaluator: unexpected policy version "2008-10-17" (expected "2012-10-17")',
            );
        });

        it("an attached managed policy it does not model", () => {
            const cluster = fixtures.clusters[0];
            const resources = cluster.resources.map((r) =>
                r.urn.endsWith("cluster-node-AmazonEKS_CNI_Policy")
                    ? {
                          ...r,
                          inputs: { ...r.inputs, policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" },
                          outputs: { ...r.outputs, policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" },
                      }
                    : r,
            );
            expect(() => readFleetState(fixtures.registry, [{ ...cluster, resources }])).to.throw(
                /^evaluator: the managed policy arn:aws:iam::aws:policy\/AdministratorAccess is attached but not modelled \(known: /,
            );
        });
    });

    it("uses the fixture accounts it claims to", () => {
        // Guards the expectations above against a change of fixtures.
        expect([ACCOUNT_A, ACCOUNT_B, STACK_A, STACK_B]).to.deep.equal(["444455556666", "777788889999", "acme/ecrpull/eks-a", "acme/ecrpull/eks-b"]);
    });
});

describe("the report's models of AWS managed policies", () => {
    const actionsOf = (document: string) => [...(JSON.parse(document).Statement[0].Action as string[])].sort();

    // The report modelled PullOnly with ecr:BatchCheckLayerAvailability, which AWS's policy does not grant.
    it("models AmazonEC2ContainerRegistryPullOnly as AWS publishes it, as the real-client test bed does", () => {
        const arn = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly";
        expect(actionsOf(MANAGED_POLICY_DOCUMENTS[arn])).to.deep.equal([
            "ecr:BatchGetImage",
            "ecr:BatchImportUpstreamImage",
            "ecr:GetAuthorizationToken",
            "ecr:GetDownloadUrlForLayer",
        ]);
        for (const [policy, document] of Object.entries(MANAGED_POLICIES).filter(([p]) => p.includes("ContainerRegistry"))) {
            expect(actionsOf(MANAGED_POLICY_DOCUMENTS[policy]), policy).to.deep.equal(actionsOf(document));
        }
        // And as the iam-simulate agreement suite's fleets do.
        expect(actionsOf(FLEET_MANAGED_POLICIES[arn])).to.deep.equal(actionsOf(MANAGED_POLICY_DOCUMENTS[arn]));
    });

    it("a node role with AmazonEC2ContainerRegistryPullOnly pulls a repository whose policy admits it, and one without the manifest call does not", () => {
        const node: RoleDocuments = {
            arn: "arn:aws:iam::444455556666:role/apps-a-nodes",
            trustPolicy: "{}",
            identityPolicies: [
                { name: "AmazonEC2ContainerRegistryPullOnly", json: MANAGED_POLICY_DOCUMENTS["arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly"] },
            ],
        };
        const policy = (actions: readonly string[]) =>
            JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: node.arn }, Action: actions }] });
        const repository = (actions: readonly string[]) => ({
            name: "platform/base",
            arn: "arn:aws:ecr:eu-west-1:111122223333:repository/platform/base",
            policy: policy(actions),
        });
        expect(pullAllowed(node, repository(ECR_PULL_ACTIONS)).allowed).to.equal(true);
        expect(pullAllowed(node, repository(["ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"])).allowed).to.equal(false);
    });
});
