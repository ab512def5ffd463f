/**
 * The classes of bad input a review found getting through (issue 12), each
 * as a table of cases of our own: the stack programs and the components used
 * as a library refuse them, before anything is created, with a message that
 * names the key, the value and what a good one looks like.
 */
import { expect } from "chai";
import { ClusterPullAccess, ClusterPullAccessArgs } from "../components/cluster/cluster-pull-access";
import { ManagedCluster } from "../components/cluster/managed-cluster";
import { PullRole } from "../components/registry/pull-role";
import { PullRepository } from "../components/registry/pull-repository";
import { RegistryAccess, RegistryAccessArgs } from "../components/registry/registry-access";
import { matchesEveryName } from "../components/registry/spec";
import { describeValue, ValidationError } from "../components/validation";
import { resourcesBeforeFailure, runProgram } from "../tools/engine/mock-engine";
import { runEcrStack, runEksStack } from "../tools/engine/two-stacks";
import { clusterA, clusterB, registry, REGISTRY_ACCOUNT, STACK_A, STACK_B } from "./support/fixtures";

const REGION = "eu-west-1";
const CLUSTER_ACCOUNT = "444455556666";
const ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/AAAA1111AAAA1111AAAA1111AAAA1111";

/** Runs `build` as a program on the mock engine; returns the error it failed with and what it registered first. */
async function failureOf(build: () => void): Promise<{ message: string; error: unknown; registered: number }> {
    try {
        await runProgram(
            async () => {
                build();
                return {};
            },
            { stack: "lib", config: {}, accountId: CLUSTER_ACCOUNT, region: REGION },
        );
    } catch (error) {
        // Only the component's own registration may precede its checks.
        const registered = resourcesBeforeFailure(error).filter((r) => r.custom && !r.type.startsWith("ecrpull:")).length;
        return { message: error instanceof Error ? error.message : String(error), error, registered };
    }
    throw new Error("expected the program to fail");
}

function accessArgs(overrides: Partial<Record<keyof ClusterPullAccessArgs, unknown>> = {}): ClusterPullAccessArgs {
    return {
        registryAccountId: REGISTRY_ACCOUNT,
        clusterAccountId: CLUSTER_ACCOUNT,
        region: REGION,
        clusterName: "apps-a",
        oidcIssuerUrl: ISSUER,
        workloads: [{ namespace: "payments", serviceAccount: "deployer", grant: "payments", path: "chaining" }],
        clusterOidcProvider: "managed",
        ...overrides,
    } as ClusterPullAccessArgs;
}

function registryArgs(overrides: Partial<Record<keyof RegistryAccessArgs, unknown>> = {}): RegistryAccessArgs {
    return {
        registryAccountId: REGISTRY_ACCOUNT,
        region: REGION,
        clusters: [{ name: "eks", accountId: CLUSTER_ACCOUNT, issuerUrl: ISSUER, nodeRoleArns: [] }],
        repositories: [{ name: "team/api" }],
        grants: [{ name: "team", clusters: ["eks"], serviceAccounts: [{ namespace: "team", name: "puller" }], repositories: ["team/api"] }],
        ...overrides,
    } as RegistryAccessArgs;
}

const TRUST = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

interface LibraryCase {
    readonly what: string;
    readonly build: () => void;
    readonly message: string;
}

describe("bad input that used to get through", () => {
    /** The outputs of both fixture EKS stacks, behind the ECR stack's references. */
    let references: Record<string, Record<string, unknown>>;
    before(async () => {
        // One at a time: the mock engine is one per process.
        const a = await runEksStack(clusterA());
        const b = await runEksStack(clusterB());
        references = { [STACK_A]: a.outputs as Record<string, unknown>, [STACK_B]: b.outputs as Record<string, unknown> };
    });

    describe("components used as a library check what the stack programs check", () => {
        const cases: LibraryCase[] = [
            {
                what: "RegistryAccess with a partition that does not match the region",
                build: () => new RegistryAccess("registry", registryArgs({ partition: "aws-cn" })),
                message: `RegistryAccess "registry": [partition] "aws-cn" does not match the region "eu-west-1", whose partition is "aws"`,
            },
            {
                what: "RegistryAccess with a reserved tag key",
                build: () => new RegistryAccess("registry", registryArgs({ tags: { "aws:owner": "me" } })),
                message: `[tags] "aws:owner" is a reserved tag key: AWS keeps keys starting with "aws:" for itself; choose another prefix.`,
            },
            {
                what: "RegistryAccess without args",
                build: () => new RegistryAccess("registry", undefined as unknown as RegistryAccessArgs),
                message: `RegistryAccess "registry": args (missing) is not an object: pass the component's args, e.g. new RegistryAccess("registry", { ... }).`,
            },
            {
                what: "ClusterPullAccess with a cluster name containing a space",
                build: () => new ClusterPullAccess("workloads", accessArgs({ clusterName: "apps prod" })),
                message: `[clusterName] "apps prod" is not an EKS cluster name: use 1 to 100 letters, digits, '-' and '_', starting with a letter or digit.`,
            },
            {
                what: "ClusterPullAccess without a cluster name (it used to end up in an ARN as cluster/undefined)",
                build: () => new ClusterPullAccess("workloads", accessArgs({ clusterName: undefined })),
                message: `[clusterName] (missing) is not an EKS cluster name`,
            },
            {
                what: "ClusterPullAccess with an issuer that ends in a slash",
                build: () => new ClusterPullAccess("workloads", accessArgs({ oidcIssuerUrl: `${ISSUER}/` })),
                message: `[oidcIssuerUrl] "${ISSUER}/" is not a valid OIDC issuer URL`,
            },
            {
                what: "ClusterPullAccess with a trust limit above AWS's maximum",
                build: () => new ClusterPullAccess("workloads", accessArgs({ limits: { trustPolicy: 8192 } })),
                message: `[limits.trustPolicy] 8192 is more than AWS allows (4096, with the quota increase "Role trust policy length" (L-C07B4B0D))`,
            },
            {
                what: "ManagedCluster with a cluster name containing a space",
                build: () => new ManagedCluster("cluster", { clusterName: "apps prod" }),
                message: `ManagedCluster "cluster": [clusterName] "apps prod" is not an EKS cluster name`,
            },
            {
                what: "ManagedCluster whose maxSize is below the default desiredCapacity",
                build: () => new ManagedCluster("cluster", { clusterName: "apps", maxSize: 1 }),
                message: `[maxSize] 1 is smaller than [desiredCapacity] 2 (the default): use minSize <= desiredCapacity <= maxSize.`,
            },
            {
                what: "ManagedCluster with a partition that does not exist",
                build: () => new ManagedCluster("cluster", { clusterName: "apps", partition: "aws-mars" }),
                message: `[partition] "aws-mars" is not one of "aws", "aws-cn"`,
            },
            {
                what: "PullRole with a name over 64 characters",
                build: () => new PullRole("role", { roleName: `ecr-pull-${"x".repeat(60)}`, trustPolicy: TRUST, rolePolicy: TRUST }),
                message: `PullRole "role": [roleName] "ecr-pull-${"x".repeat(60)}" is not an IAM role name (69 characters): use 1 to 64 letters`,
            },
            {
                what: "PullRole with a trust policy that is not JSON",
                build: () => new PullRole("role", { roleName: "ecr-pull-x", trustPolicy: "{not json", rolePolicy: TRUST }),
                message: `[trustPolicy] "{not json" is not JSON`,
            },
            {
                what: "PullRepository with an alias as its KMS key",
                build: () => new PullRepository("repo", { repository: { name: "team/api", kmsKeyArn: "arn:aws:kms:eu-west-1:111122223333:alias/ecr" } }),
                message: `[repository.kmsKeyArn] "arn:aws:kms:eu-west-1:111122223333:alias/ecr" is an alias ARN: ECR keeps the key's own ARN`,
            },
        ];
        for (const c of cases) {
            it(`refuses ${c.what}`, async () => {
                const failure = await failureOf(c.build);
                expect(failure.error).to.be.instanceOf(ValidationError);
                expect(failure.message).to.contain(c.message);
                expect(failure.registered, "custom resources registered before the check").to.equal(0);
            });
        }

        it("refuses, at deploy, a KMS key of another region than the repository's (the provider's region)", async () => {
            const failure = await failureOf(
                () =>
                    new PullRepository("repo", {
                        repository: { name: "team/api", kmsKeyArn: "arn:aws:kms:us-east-1:111122223333:key/1f2e3d4c-5b6a-4789-8abc-0123456789ab" },
                    }),
            );
            expect(failure.message).to.contain(
                `PullRepository "repo": [repository.kmsKeyArn] "arn:aws:kms:us-east-1:111122223333:key/1f2e3d4c-5b6a-4789-8abc-0123456789ab" is a key in us-east-1, but the repository is in eu-west-1`,
            );
        });
    });

    describe("a service-account pattern that admits everyone is refused however it is written", () => {
        for (const pattern of ["*", "**", "?*", "*?", "*?*"]) {
            it(`"${pattern}" matches every name`, () => expect(matchesEveryName(pattern)).to.equal(true));
        }
        for (const pattern of ["??*", "a*", "?", "*a", "**??"]) {
            it(`"${pattern}" does not`, () => expect(matchesEveryName(pattern)).to.equal(false));
        }
        for (const [namespace, name] of [
            ["?*", "*"],
            ["*", "*?*"],
            ["**", "?*"],
        ]) {
            it(`${namespace}/${name} needs allowEveryServiceAccount`, async () => {
                const overrides = {
                    "ecrpull:grants": [
                        {
                            name: "ci-builders",
                            allowPatterns: true,
                            clusters: [STACK_A],
                            serviceAccounts: [{ namespace, name }],
                            repositories: ["platform/base"],
                        },
                    ],
                };
                let message = "";
                try {
                    await runEcrStack(registry(overrides), references);
                } catch (e) {
                    message = String(e);
                }
                expect(message).to.contain(
                    `ecrpull:grants[0].serviceAccounts[0] "${namespace}/${name}" admits every service account of every namespace of the grant's clusters`,
                );
            });
        }
    });

    describe("stack config", () => {
        const eksCases: [string, Record<string, unknown>, string][] = [
            ["a trust limit above AWS's maximum", { "ecrpull:limits": { trustPolicy: 8192 } }, "ecrpull:limits.trustPolicy 8192 is more than AWS allows (4096"],
            [
                "a role-policy limit above AWS's maximum",
                { "ecrpull:limits": { rolePolicy: 20480 } },
                "ecrpull:limits.rolePolicy 20480 is more than AWS allows (10240",
            ],
            [
                "a version YAML read as a number",
                { "ecrpull:cluster": { name: "apps-a", create: true, version: 1.3 } },
                'ecrpull:cluster.version 1.3 is a number, and YAML reads 1.30 as 1.3: quote it (e.g. version: "1.30").',
            ],
            [
                "a version EKS does not know",
                { "ecrpull:cluster": { name: "apps-a", create: true, version: "131" } },
                'ecrpull:cluster.version "131" is not a Kubernetes version EKS knows',
            ],
            [
                "an instance type without its size",
                { "ecrpull:cluster": { name: "apps-a", create: true, instanceType: "m6i" } },
                'ecrpull:cluster.instanceType "m6i" is not an EC2 instance type',
            ],
            [
                "a VPC ID of 3 digits",
                { "ecrpull:cluster": { name: "apps-a", create: true, vpcId: "vpc-123" } },
                'ecrpull:cluster.vpcId "vpc-123" is not a VPC ID',
            ],
            [
                "a maxSize below the default desiredCapacity",
                { "ecrpull:cluster": { name: "apps-a", create: true, maxSize: 1 } },
                "ecrpull:cluster.maxSize 1 is smaller than ecrpull:cluster.desiredCapacity 2 (the default): use minSize <= desiredCapacity <= maxSize.",
            ],
            [
                "a created cluster's setting on an adopted cluster",
                { "ecrpull:cluster": { name: "apps-a", create: false, nodeRoleArns: [], instanceType: "m6i.large" } },
                "ecrpull:cluster.instanceType is set, but applies only to a cluster this stack creates (cluster.create: true)",
            ],
            [
                "a node role ARN with a trailing slash",
                { "ecrpull:cluster": { name: "apps-a", create: false, nodeRoleArns: ["arn:aws:iam::444455556666:role/nodes/"] } },
                'ecrpull:cluster.nodeRoleArns[0] "arn:aws:iam::444455556666:role/nodes/" is not an IAM role ARN',
            ],
            [
                "a namespace YAML read as a number",
                { "ecrpull:workloads": [{ namespace: 2024, serviceAccount: "sync", grant: "ci-builders" }] },
                'ecrpull:workloads[0].namespace 2024 is a number, not text: YAML reads it so when it is not quoted. Quote it ("2024"), if that is the namespace you mean.',
            ],
        ];
        eksCases.push(
            [
                "a key in a namespace a typo away",
                { "ecrpul:createNamespaces": true },
                'ecrpull:createNamespaces is set as "ecrpul:createNamespaces", which no program reads (its namespace is "ecrpul"): write it as "ecrpull:createNamespaces".',
            ],
            [
                "a setting in a provider's namespace",
                { "aws:workloads": [] },
                'ecrpull:workloads is set as "aws:workloads", which no program reads (its namespace is "aws")',
            ],
        );
        for (const [what, config, message] of eksCases) {
            it(`EKS: refuses ${what}`, async () => {
                let error: unknown;
                try {
                    await runEksStack(clusterA(config));
                } catch (e) {
                    error = e;
                }
                expect(String(error)).to.contain(message);
                expect(resourcesBeforeFailure(error)).to.deep.equal([]);
            });
        }

        describe("EKS: a created cluster's subnets, read from AWS before anything is registered", () => {
            const subnets = {
                "subnet-0a1b2c3d": { vpcId: "vpc-0a1b2c3d", availabilityZone: "eu-west-1a" },
                "subnet-1a1b2c3d": { vpcId: "vpc-0a1b2c3d", availabilityZone: "eu-west-1a" },
                "subnet-2a1b2c3d": { vpcId: "vpc-0a1b2c3d", availabilityZone: "eu-west-1b" },
                "subnet-3a1b2c3d": { vpcId: "vpc-9f9f9f9f", availabilityZone: "eu-west-1c" },
            };
            const cluster = (vpcId: string | undefined, subnetIds: string[]) => ({
                ...clusterA({ "ecrpull:cluster": { name: "apps-a", create: true, ...(vpcId ? { vpcId } : {}), subnetIds } }),
                subnets,
                defaultVpcId: "vpc-0d0d0d0d",
            });
            const failure = async (run: ReturnType<typeof cluster>) => {
                try {
                    await runEksStack(run);
                } catch (e) {
                    return { message: String(e), registered: resourcesBeforeFailure(e) };
                }
                return { message: "", registered: [] };
            };

            it("refuses subnets all in one Availability Zone", async () => {
                const result = await failure(cluster("vpc-0a1b2c3d", ["subnet-0a1b2c3d", "subnet-1a1b2c3d"]));
                expect(result.message).to.contain("ecrpull:cluster.subnetIds are all in eu-west-1a: EKS needs subnets in at least two Availability Zones.");
                expect(result.registered).to.deep.equal([]);
            });

            it("refuses a subnet of another VPC, and one that does not exist", async () => {
                const result = await failure(cluster("vpc-0a1b2c3d", ["subnet-0a1b2c3d", "subnet-3a1b2c3d", "subnet-4a1b2c3d"]));
                expect(result.message).to.contain('ecrpull:cluster.subnetIds[1] "subnet-3a1b2c3d" is in vpc-9f9f9f9f, not in the cluster\'s VPC vpc-0a1b2c3d.');
                expect(result.message).to.contain('ecrpull:cluster.subnetIds[2] "subnet-4a1b2c3d" was not found in this account and region.');
            });

            it("without vpcId, expects the subnets in the default VPC and says so", async () => {
                const result = await failure(cluster(undefined, ["subnet-0a1b2c3d", "subnet-2a1b2c3d"]));
                expect(result.message).to.contain("is in vpc-0a1b2c3d, not in the cluster's VPC vpc-0d0d0d0d (the default VPC: set ecrpull:cluster.vpcId).");
            });

            it("accepts subnets of the VPC in two zones", async () => {
                const run = await runEksStack(cluster("vpc-0a1b2c3d", ["subnet-0a1b2c3d", "subnet-2a1b2c3d"]));
                expect(run.resources.find((r) => r.type === "eks:index:Cluster")?.inputs.subnetIds).to.deep.equal(["subnet-0a1b2c3d", "subnet-2a1b2c3d"]);
            });
        });

        it("EKS: leaves alone the providers' own keys and other namespaces a project keeps for itself", async () => {
            const run = await runEksStack(clusterA({ "kubernetes:cluster": "apps", "acme:grants": [], "aws:skipMetadataApiCheck": "true" }));
            expect(run.resources.length).to.be.greaterThan(0);
        });

        const ecrCases: [string, Record<string, unknown>, string][] = [
            ["a trust limit above AWS's maximum", { "ecrpull:limits": { trustPolicy: 8192 } }, "ecrpull:limits.trustPolicy 8192 is more than AWS allows (4096"],
            [
                "a role-policy limit above AWS's maximum",
                { "ecrpull:limits": { rolePolicy: 20480 } },
                "ecrpull:limits.rolePolicy 20480 is more than AWS allows (10240",
            ],
            ["a reserved tag key", { "ecrpull:tags": { "AWS:team": "x" } }, 'ecrpull:tags "AWS:team" is a reserved tag key'],
            ["a tag key with a character AWS refuses", { "ecrpull:tags": { "team!": "x" } }, 'ecrpull:tags "team!" is not a valid tag key'],
            [
                "a tag value that is null",
                { "ecrpull:tags": { team: null } },
                'ecrpull:tags.team null is not a string: tag values are strings (e.g. owner: "platform-team").',
            ],
            [
                "a KMS key in another region than the repository",
                {
                    "ecrpull:repositories": [
                        { name: "platform/base", kmsKeyArn: "arn:aws:kms:us-east-1:111122223333:key/1f2e3d4c-5b6a-4789-8abc-0123456789ab" },
                    ],
                },
                "is a key in us-east-1, but the repository is in eu-west-1: ECR only uses a key of the repository's own region.",
            ],
            [
                "a malformed stack name, reported at its key and never read as a StackReference",
                { "ecrpull:clusterStacks": ["acme/ecrpull/eks a"] },
                'ecrpull:clusterStacks[0] "acme/ecrpull/eks a" is not a Pulumi stack name',
            ],
        ];
        for (const [what, config, message] of ecrCases) {
            it(`ECR: refuses ${what}`, async () => {
                let error: unknown;
                try {
                    await runEcrStack(registry(config), references);
                } catch (e) {
                    error = e;
                }
                expect(String(error)).to.contain(message);
                expect(resourcesBeforeFailure(error).filter((r) => r.type !== "pulumi:pulumi:StackReference")).to.deep.equal([]);
                if (what.includes("StackReference")) {
                    expect(resourcesBeforeFailure(error).map((r) => r.name)).to.not.include("acme/ecrpull/eks a");
                }
            });
        }
    });

    describe("messages", () => {
        it("never render a value as [object Object] or suggest null as a value", () => {
            expect(describeValue({ a: 1 })).to.equal('{"a":1}');
            expect(describeValue(null)).to.equal("null");
        });

        it("tell a stack deployed by a newer release to upgrade the reader, not to downgrade the writer", async () => {
            let message = "";
            try {
                await runEcrStack(registry(), { ...references, [STACK_B]: { ...references[STACK_B], contractVersion: 9 } });
            } catch (e) {
                message = String(e);
            }
            expect(message).to.contain("is newer than the version this program reads (2)");
            expect(message).to.contain("upgrade this stack's ecrpull to that release");
        });
    });
});
