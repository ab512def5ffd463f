/**
 * Regional replicas: the registry (eu-west-1) replicates every repository to
 * us-east-1, where one of its clusters runs.
 *
 * - Each replica is a repository the stack creates in its region, with the
 *   source's settings and a policy that admits only what pulls there; the
 *   replication configuration comes after the replicas and names every
 *   repository; a ROOT creation template gives what replication creates
 *   beyond them safe settings and no cross-account access.
 * - Who can pull what, evaluated from the documents (and held against
 *   iam-simulate in tests/access-report.test.ts): a cluster's node role
 *   reaches its grants' repositories in the source region and, in a replica
 *   region, there; a pull role reaches its grant's repositories in the
 *   source region and in the replica regions where the grant has clusters.
 * - Bad replica settings are refused before anything is created.
 */
import { expect } from "chai";
import { accessReport, AccessReport, readFleetState } from "../tools/report/report";
import { toStackExport } from "../tools/state/from-run";
import { parseStackExport } from "../tools/state/stack-export";
import { ProgramRun, RecordedResource } from "../tools/engine/mock-engine";
import { runEcrStack, runEksStack } from "../tools/engine/two-stacks";
import { ValidationError } from "../components/validation";
import { adoptedResources, importFileFor } from "../tools/state/import-file";
import {
    clusterA,
    clusterB,
    clusterUs,
    NODE_ROLE_US,
    REGISTRY_ACCOUNT,
    REPLICA_REGION,
    replicatedRegistry,
    STACK_A,
    STACK_B,
    STACK_US,
} from "./support/fixtures";

const stateOf = (run: ProgramRun<unknown>, stack: string) => parseStackExport(JSON.stringify(toStackExport(run, { stack })), `${stack}.json`);
const byType = (resources: readonly RecordedResource[], type: string) => resources.filter((r) => r.type === type);
const arn = (region: string, name: string) => `arn:aws:ecr:${region}:${REGISTRY_ACCOUNT}:repository/${name}`;

describe("regional replicas", function () {
    this.timeout(60000);
    let eks: ProgramRun<Record<string, unknown>>[];
    let ecr: ProgramRun<Record<string, unknown>>;
    let report: AccessReport;
    const references = () => ({ [STACK_A]: eks[0].outputs, [STACK_B]: eks[1].outputs, [STACK_US]: eks[2].outputs });
    before(async () => {
        eks = [await runEksStack(clusterA()), await runEksStack(clusterB()), await runEksStack(clusterUs())] as ProgramRun<Record<string, unknown>>[];
        ecr = (await runEcrStack(replicatedRegistry(), references())) as ProgramRun<Record<string, unknown>>;
        report = accessReport(readFleetState(stateOf(ecr, "ecr"), [stateOf(eks[0], "eks-a"), stateOf(eks[1], "eks-b"), stateOf(eks[2], "eks-us")]));
    });

    it("creates every repository again in the replica region, with the source's settings", () => {
        const repositories = byType(ecr.resources, "aws:ecr/repository:Repository");
        const replicas = repositories.filter((r) => r.inputs.region === REPLICA_REGION);
        expect(replicas.map((r) => r.inputs.name).sort()).to.deep.equal(["archive/legacy", "ci/cache", "ml/models", "payments/api", "platform/base"]);
        for (const replica of replicas) {
            const source = repositories.find((r) => r.inputs.name === replica.inputs.name && r.inputs.region === undefined)!;
            const { region, ...settings } = replica.inputs;
            expect(region).to.equal(REPLICA_REGION);
            expect(settings, replica.inputs.name).to.deep.equal(source.inputs);
            expect(replica.retainOnDelete, replica.inputs.name).to.equal(source.retainOnDelete);
        }
        for (const type of ["aws:ecr/lifecyclePolicy:LifecyclePolicy", "aws:ecr/repositoryPolicy:RepositoryPolicy"]) {
            for (const r of byType(ecr.resources, type).filter((x) => x.name.includes("@"))) {
                expect(r.inputs.region, r.name).to.equal(REPLICA_REGION);
            }
        }
    });

    it("replicates every repository, after the replicas exist, and keeps a ROOT template there for anything else", () => {
        const [replication] = byType(ecr.resources, "aws:ecr/replicationConfiguration:ReplicationConfiguration");
        expect(replication.inputs.replicationConfiguration).to.deep.equal({
            rules: [
                {
                    destinations: [{ region: REPLICA_REGION, registryId: REGISTRY_ACCOUNT }],
                    repositoryFilters: ["archive/legacy", "ci/cache", "ml/models", "payments/api", "platform/base"].map((filter) => ({
                        filter,
                        filterType: "PREFIX_MATCH",
                    })),
                },
            ],
        });
        // dependsOn a component waits for its children: every replica repository, its policies included.
        const replicaRepositories = byType(ecr.resources, "aws:ecr/repository:Repository").filter((r) => r.inputs.region === REPLICA_REGION);
        expect(replicaRepositories).to.have.length(5);
        expect(replication.dependsOn).to.include.members(replicaRepositories.map((r) => r.urn));
        const [template] = byType(ecr.resources, "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate");
        expect(template.inputs).to.deep.include({ prefix: "ROOT", appliedFors: ["REPLICATION"], region: REPLICA_REGION, imageTagMutability: "IMMUTABLE" });
        expect(template.inputs.repositoryPolicy, "no cross-account access for what the stack does not manage").to.equal(undefined);
        expect(template.inputs.description).to.match(/^ecrpull acme\/ecrpull\/ecr: /);
    });

    it("names the replicas in the pull roles of grants with clusters in the replica region, and only those", () => {
        const policyOf = (grant: string) => JSON.parse(ecr.resources.find((r) => r.name === `registry-${grant}-pull`)!.inputs.policy);
        expect(policyOf("ci-builders").Statement[1].Resource).to.deep.equal([
            arn("eu-west-1", "ci/cache"),
            arn("eu-west-1", "platform/base"),
            arn(REPLICA_REGION, "ci/cache"),
            arn(REPLICA_REGION, "platform/base"),
        ]);
        expect(policyOf("payments").Statement[1].Resource, "payments has no cluster in us-east-1").to.deep.equal([
            arn("eu-west-1", "payments/api"),
            arn("eu-west-1", "platform/base"),
        ]);
        expect(ecr.outputs.replicaRepositoryUrls).to.deep.include({
            [REPLICA_REGION]: {
                "archive/legacy": `${REGISTRY_ACCOUNT}.dkr.ecr.${REPLICA_REGION}.amazonaws.com/archive/legacy`,
                "ci/cache": `${REGISTRY_ACCOUNT}.dkr.ecr.${REPLICA_REGION}.amazonaws.com/ci/cache`,
                "ml/models": `${REGISTRY_ACCOUNT}.dkr.ecr.${REPLICA_REGION}.amazonaws.com/ml/models`,
                "payments/api": `${REGISTRY_ACCOUNT}.dkr.ecr.${REPLICA_REGION}.amazonaws.com/payments/api`,
                "platform/base": `${REGISTRY_ACCOUNT}.dkr.ecr.${REPLICA_REGION}.amazonaws.com/platform/base`,
            },
        });
    });

    it("lets each cluster reach its grants' repositories in the source region and, in us-east-1, there: evaluated from the documents", () => {
        const of = (cluster: string, who: string) => {
            const p = report.principals.find(
                (x) => x.cluster === cluster && (who === "node" ? x.kind === "node" : `${x.namespace}/${x.serviceAccount}` === who),
            )!;
            return p.access.map((e) => `${e.repository}(${e.path})`);
        };
        expect(of("eks-us", "node")).to.deep.equal([
            "ci/cache(node)",
            "ci/cache (us-east-1)(node)",
            "ml/models(node)",
            "ml/models (us-east-1)(node)",
            "platform/base(node)",
            "platform/base (us-east-1)(node)",
        ]);
        // The eu-west-1 clusters' nodes pull from the source only: the replica's policy does not name them.
        for (const cluster of ["eks-a", "eks-b"]) {
            expect(
                of(cluster, "node").filter((r) => r.includes("(us-east-1)")),
                cluster,
            ).to.deep.equal([]);
        }
        expect(of("eks-us", "ci/image-builder")).to.deep.equal([
            "ci/cache(federation)",
            "ci/cache (us-east-1)(federation)",
            "platform/base(federation)",
            "platform/base (us-east-1)(federation)",
        ]);
        // A pull role serves every cluster of its grant: ci-builders' sessions from eu-west-1 clusters reach the
        // us-east-1 replicas of its repositories too (the documented width: README, "Regional replicas").
        expect(of("eks-a", "ci/image-builder").filter((r) => r.includes("(us-east-1)"))).to.deep.equal([
            "ci/cache (us-east-1)(federation)",
            "platform/base (us-east-1)(federation)",
        ]);
        // payments (chaining, cluster A only) reaches no replica.
        expect(of("eks-a", "payments/deployer").filter((r) => r.includes("(us-east-1)"))).to.deep.equal([]);
        expect(report.unreachable).to.include.members(["archive/legacy", "archive/legacy (us-east-1)", "payments/api (us-east-1)"]);
    });

    it("names the replica region's node roles in the replica's policy, and every cluster's in the source's", () => {
        const policy = (name: string) => ecr.resources.find((r) => r.name === name)!.inputs.policy as string;
        expect(policy(`registry-platform/base@${REPLICA_REGION}-policy`)).to.contain(NODE_ROLE_US);
        expect(policy(`registry-platform/base@${REPLICA_REGION}-policy`)).to.not.contain("apps-b-nodes");
        expect(policy("registry-platform/base-policy")).to.contain(NODE_ROLE_US);
        expect(policy("registry-platform/base-policy")).to.contain("apps-b-nodes");
    });
});

describe("replica settings that cannot work are refused before anything is created", function () {
    this.timeout(60000);
    const KEY_EU = "arn:aws:kms:eu-west-1:111122223333:key/1f2e3d4c-5b6a-4789-8abc-0123456789ab";
    const KEY_US = "arn:aws:kms:us-east-1:111122223333:key/2f2e3d4c-5b6a-4789-8abc-0123456789ab";
    const cases: [string, Record<string, unknown>, string[]][] = [
        [
            "the registry's own region",
            { "ecrpull:replicaRegions": ["eu-west-1"] },
            [`ecrpull:replicaRegions[0] "eu-west-1" is the registry's own region, where the repositories are: list only the regions to replicate to.`],
        ],
        [
            "a region of another partition",
            { "ecrpull:replicaRegions": ["cn-north-1"] },
            [`ecrpull:replicaRegions[0] "cn-north-1" is in another partition than the registry's region eu-west-1: ECR replicates within a partition.`],
        ],
        [
            "not a region",
            { "ecrpull:replicaRegions": ["US East"] },
            [`ecrpull:replicaRegions[0] "US East" is not an AWS region: use a region code such as "eu-west-1".`],
        ],
        [
            "a region twice",
            { "ecrpull:replicaRegions": ["us-east-1", "us-east-1"] },
            [`ecrpull:replicaRegions[1] "us-east-1" is the same region as ecrpull:replicaRegions[0]: list each region once.`],
        ],
        [
            "a KMS-encrypted repository without a key for its replica",
            { "ecrpull:repositories": [{ name: "platform/base", kmsKeyArn: KEY_EU }, { name: "ci/cache" }, { name: "payments/api" }, { name: "ml/models" }] },
            [
                `ecrpull:repositories[0].replicaKmsKeyArns has no key for us-east-1: the repository is KMS-encrypted and a key serves its own region only, so each replica needs one (e.g. replicaKmsKeyArns: { us-east-1: "arn:aws:kms:us-east-1:<account>:key/<id>" }).`,
            ],
        ],
        [
            "a replica key of another region",
            {
                "ecrpull:repositories": [
                    { name: "platform/base", kmsKeyArn: KEY_EU, replicaKmsKeyArns: { "us-east-1": KEY_EU } },
                    { name: "ci/cache" },
                    { name: "payments/api" },
                    { name: "ml/models" },
                ],
            },
            [
                `ecrpull:repositories[0].replicaKmsKeyArns.us-east-1 "${KEY_EU}" is a key in eu-west-1, but the repository is in us-east-1: ECR only uses a key of the repository's own region.`,
            ],
        ],
        [
            "replica keys on an AES-256 repository",
            {
                "ecrpull:repositories": [
                    { name: "platform/base", replicaKmsKeyArns: { "us-east-1": KEY_US } },
                    { name: "ci/cache" },
                    { name: "payments/api" },
                    { name: "ml/models" },
                ],
            },
            [
                `ecrpull:repositories[0].replicaKmsKeyArns {"us-east-1":"arn:aws:kms:us-east-1:111122223333:key/2f2e3d4c-5b6a-4789-8abc-... applies only to a KMS-encrypted repository: set kmsKeyArn too, or leave replicaKmsKeyArns out.`,
            ],
        ],
    ];
    let references: Record<string, Record<string, unknown>>;
    before(async () => {
        const runs = [await runEksStack(clusterA()), await runEksStack(clusterB()), await runEksStack(clusterUs())];
        references = { [STACK_A]: runs[0].outputs, [STACK_B]: runs[1].outputs, [STACK_US]: runs[2].outputs } as Record<string, Record<string, unknown>>;
    });
    for (const [what, overrides, problems] of cases) {
        it(what, async () => {
            const error = await runEcrStack(replicatedRegistry(overrides), references).then(
                () => undefined,
                (e: unknown) => e,
            );
            expect(error, what).to.be.instanceOf(ValidationError);
            expect((error as ValidationError).problems).to.deep.equal(problems);
        });
    }

    it("a ROOT creation template someone else made in the replica region", async () => {
        const error = await runEcrStack(
            { ...replicatedRegistry(), existingRegistry: { creationTemplates: { [REPLICA_REGION]: { ROOT: "pull-through cache defaults" } } } },
            references,
        ).then(
            () => undefined,
            (e: unknown) => e,
        );
        expect((error as ValidationError).problems).to.deep.equal([
            `ecrpull:replicaRegions us-east-1: the registry already has a ROOT repository creation template there ("pull-through cache defaults"), and ECR keeps one per prefix: the stack keeps its own ROOT template for what replication creates. Delete that template, or give its settings a prefix of their own.`,
        ]);
    });

    it("its own ROOT template, from an earlier update, is no obstacle", async () => {
        const run = await runEcrStack(
            {
                ...replicatedRegistry(),
                existingRegistry: {
                    creationTemplates: {
                        [REPLICA_REGION]: { ROOT: "ecrpull acme/ecrpull/ecr: repositories replication creates that ecrpull does not manage" },
                    },
                },
            },
            references,
        );
        expect(byType(run.resources, "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")).to.have.length(1);
    });
});

describe("adopting a replica that a hand-made replication created", function () {
    this.timeout(60000);
    it("takes it over by <name>@<region>: retained, read in its region, imported as <name>@<region>", async () => {
        const runs = [await runEksStack(clusterA()), await runEksStack(clusterB()), await runEksStack(clusterUs())];
        const references = { [STACK_A]: runs[0].outputs, [STACK_B]: runs[1].outputs, [STACK_US]: runs[2].outputs } as Record<string, Record<string, unknown>>;
        const adopt = { repositories: ["platform/base", `platform/base@${REPLICA_REGION}`] };
        const existingRegistry = {
            repositories: {
                "platform/base": { imageTagMutability: "IMMUTABLE", taggedImages: 3 },
                [`platform/base@${REPLICA_REGION}`]: { imageTagMutability: "IMMUTABLE", taggedImages: 3 },
            },
        };
        const run = await runEcrStack({ ...replicatedRegistry({ "ecrpull:adopt": adopt }), existingRegistry }, references);
        const replica = byType(run.resources, "aws:ecr/repository:Repository").find(
            (r) => r.inputs.name === "platform/base" && r.inputs.region === REPLICA_REGION,
        )!;
        expect(replica.retainOnDelete).to.equal(true);
        const file = importFileFor(run.resources, adoptedResources(run.resources, adopt, REGISTRY_ACCOUNT, {}));
        expect(file.resources.filter((e) => !e.component).map((e) => [e.logicalName, e.id])).to.deep.equal([
            ["registry-platform/base-repository", "platform/base"],
            [`registry-platform/base@${REPLICA_REGION}-repository`, `platform/base@${REPLICA_REGION}`],
        ]);
        // Not there: refused with the replica's own name.
        const error = await runEcrStack(
            { ...replicatedRegistry({ "ecrpull:adopt": adopt }), existingRegistry: { repositories: { "platform/base": {} } } },
            references,
        ).then(
            () => undefined,
            (e: unknown) => e as ValidationError,
        );
        expect(error?.problems).to.deep.equal([
            `ecrpull:adopt.repositories "platform/base@${REPLICA_REGION}" does not exist in this account and region: leave it out of adopt, and the stack creates it.`,
        ]);
    });
});
