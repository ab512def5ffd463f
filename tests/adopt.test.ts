/**
 * Adopting what the seed recipes left in the registry account: the IAM OIDC
 * provider of a cluster's issuer, a pull role trusted with no `sub`
 * condition (seed "Accessing AWS ECR from an EKS cluster in another account
 * using the OIDC method") and a repository full of images.
 *
 * - The import file names exactly the URNs the program registers (derived
 *   here as Pulumi derives them, not by the code under test), with the IDs
 *   each provider imports by; what it adopts keeps every property whose
 *   change would replace it; nothing adopted is ever deleted by the stack.
 * - Entries that name nothing, and adopted resources that cannot be taken
 *   over without a replacement or a loss, are refused before anything is
 *   registered, with the key and the remedy.
 * - The preview says whose access the package's trust removes, checked
 *   against an IAM policy evaluator.
 */
import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { trustChange } from "../components/iam/trust-change";
import { ValidationError } from "../components/validation";
import { ExistingRegistryFixture } from "../tools/engine/fake-cloud";
import { RecordedResource, resourcesBeforeFailure } from "../tools/engine/mock-engine";
import { runEcrStack, runEksStack } from "../tools/engine/two-stacks";
import { adoptedResources, ImportFile, importFileFor } from "../tools/state/import-file";
import { clusterA, clusterB, ISSUER_B, registry, REGISTRY_ACCOUNT, STACK_A, STACK_B } from "./support/fixtures";
import { IamSimulator } from "./support/simulate";
import { comparableFromMock } from "./support/langhost/bridge";
import { runLanghost, World, WorldFixture } from "./support/langhost/run";
import {
    ADOPTED_ISSUER,
    ADOPTED_WORLD,
    adoptedClusterConfig,
    CLUSTER_ACCOUNT as LH_CLUSTER,
    describeRun,
    ecrConfig,
    EKS_STACK as LH_EKS_STACK,
    REGION as LH_REGION,
    REGISTRY_ACCOUNT as LH_REGISTRY,
} from "./support/langhost/scenarios";

const HOST_B = ISSUER_B.replace(/^https:\/\//, "");
const PROVIDER_B = `arn:aws:iam::${REGISTRY_ACCOUNT}:oidc-provider/${HOST_B}`;
const ROLE = "ecr-pull-ci-builders";
const ROLE_ARN = `arn:aws:iam::${REGISTRY_ACCOUNT}:role/${ROLE}`;

/** The seed's trust, as its article writes it: the provider, and no condition at all. */
const SEED_TRUST = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Federated: PROVIDER_B }, Action: "sts:AssumeRoleWithWebIdentity" }],
});

/** What the seed recipe leaves in the registry account. */
const SEED: ExistingRegistryFixture = {
    oidcProviderArns: [PROVIDER_B],
    repositories: { "platform/base": { taggedImages: 120, untaggedImages: 3, imageTagMutability: "MUTABLE" }, "payments/api": { taggedImages: 4 } },
    roles: { [ROLE]: { assumeRolePolicy: SEED_TRUST } },
};
const ADOPT = { oidcProviders: [STACK_B], repositories: ["platform/base", "payments/api"], pullRoles: ["ci-builders"] };

interface AdoptingRun {
    readonly resources: readonly RecordedResource[];
    readonly warnings: readonly string[];
    readonly error?: string;
    readonly issuerOfCluster: Record<string, string>;
}

async function runAdopting(adopt: unknown, existing: ExistingRegistryFixture, overrides: Record<string, unknown> = {}): Promise<AdoptingRun> {
    const [a, b] = [await runEksStack(clusterA()), await runEksStack(clusterB())];
    const references = { [STACK_A]: a.outputs as Record<string, unknown>, [STACK_B]: b.outputs as Record<string, unknown> };
    const issuerOfCluster = { [STACK_A]: String(a.outputs.oidcIssuerUrl), [STACK_B]: String(b.outputs.oidcIssuerUrl) };
    const warnings: string[] = [];
    const warn = pulumi.log.warn;
    (pulumi.log as { warn: typeof pulumi.log.warn }).warn = async (message: string) => {
        warnings.push(message);
    };
    try {
        const run = await runEcrStack({ ...registry({ "ecrpull:adopt": adopt, ...overrides }), existingRegistry: existing }, references);
        return { resources: run.resources, warnings, issuerOfCluster };
    } catch (error) {
        expect(error, String(error)).to.be.instanceOf(ValidationError);
        return { resources: resourcesBeforeFailure(error), warnings, error: (error as Error).message, issuerOfCluster };
    } finally {
        (pulumi.log as { warn: typeof pulumi.log.warn }).warn = warn;
    }
}

/** The URN Pulumi gives an import entry (pulumi/pulumi `resource.NewURN`: parent types joined by `$`). */
function urnsOf(file: ImportFile, stack: string, project: string): string[] {
    const byName = new Map(file.resources.map((e) => [e.name, e]));
    const chain = (name: string): string => {
        const entry = byName.get(name)!;
        return entry.parent ? `${chain(entry.parent)}$${entry.type}` : entry.type;
    };
    return file.resources.map((e) => `urn:pulumi:${stack}::${project}::${chain(e.name)}::${e.logicalName}`);
}

/**
 * Properties whose change makes the AWS provider replace the resource
 * (terraform-provider-aws, ForceNew in internal/service/ecr/repository.go,
 * iam/role.go, iam/openid_connect_provider.go), with the value an unset
 * input takes (role.go: path defaults to "/").
 */
const REPLACING: Record<string, Record<string, unknown>> = {
    "aws:ecr/repository:Repository": { name: undefined, encryptionConfigurations: [{ encryptionType: "AES256" }] },
    "aws:iam/role:Role": { name: undefined, path: "/" },
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": { url: undefined },
};

/** What `pulumi import` reads into the state for each seed resource: its ID and the replacing properties. */
function importedState(type: string, id: string): Record<string, unknown> {
    switch (type) {
        case "aws:ecr/repository:Repository":
            return { name: id, encryptionConfigurations: [{ encryptionType: "AES256" }] };
        case "aws:iam/role:Role":
            return { name: id, path: "/" };
        default:
            return { url: `https://${id.replace(/^arn:aws:iam::\d{12}:oidc-provider\//, "")}` };
    }
}

describe("adopting the seed recipe's registry resources", function () {
    this.timeout(60000);
    let run: AdoptingRun;
    let file: ImportFile;
    before(async () => {
        run = await runAdopting(ADOPT, SEED);
        expect(run.error, run.error).to.equal(undefined);
        file = importFileFor(run.resources, adoptedResources(run.resources, ADOPT, REGISTRY_ACCOUNT, run.issuerOfCluster));
    });

    /** The run's resources by the URN the engine gives them (the mock monitor qualifies a grandchild's type by its parent's alone). */
    const engineView = () => {
        const [, stack, project] = /^urn:pulumi:([^:]+)::([^:]+)::/.exec(run.resources[0].urn)!;
        return { stack, project, registered: comparableFromMock(run.resources, stack, project) };
    };

    it("writes an import file whose every URN is one the program registers, parents before children", () => {
        const { stack, project, registered: byUrn } = engineView();
        const registered = new Set(Object.keys(byUrn));
        const urns = urnsOf(file, stack, project);
        for (const urn of urns) {
            expect(registered.has(urn), urn).to.equal(true);
        }
        expect(urns).to.include(
            `urn:pulumi:${stack}::${project}::ecrpull:index:RegistryAccess$ecrpull:index:PullRole$aws:iam/role:Role::registry-ci-builders-role`,
        );
        file.resources.forEach((entry, i) => {
            if (entry.parent) {
                expect(
                    file.resources.findIndex((e) => e.name === entry.parent),
                    entry.name,
                ).to.be.lessThan(i);
            }
        });
    });

    it("imports each adopted resource by the ID its provider reads it with, and its components as empty components", () => {
        const imported = file.resources.filter((e) => !e.component).map((e) => [e.type, e.logicalName, e.id]);
        expect(imported).to.deep.equal([
            ["aws:iam/openIdConnectProvider:OpenIdConnectProvider", `registry-oidc-${HOST_B}`, PROVIDER_B],
            ["aws:iam/role:Role", "registry-ci-builders-role", ROLE],
            ["aws:ecr/repository:Repository", "registry-payments/api-repository", "payments/api"],
            ["aws:ecr/repository:Repository", "registry-platform/base-repository", "platform/base"],
        ]);
        const components = file.resources.filter((e) => e.component).map((e) => [e.type, e.logicalName, "id" in e]);
        expect(components).to.deep.equal([
            ["ecrpull:index:RegistryAccess", "registry", false],
            ["ecrpull:index:PullRole", "registry-ci-builders", false],
            ["ecrpull:index:PullRepository", "registry-payments/api", false],
            ["ecrpull:index:PullRepository", "registry-platform/base", false],
        ]);
    });

    it("registers no property whose change would replace an adopted resource", () => {
        const { stack, project, registered: byUrn } = engineView();
        const urns = urnsOf(file, stack, project);
        file.resources.forEach((entry, i) => {
            if (entry.component) {
                return;
            }
            const inputs = byUrn[urns[i]].inputs as Record<string, unknown>;
            const state = importedState(entry.type, entry.id!);
            for (const [property, unset] of Object.entries(REPLACING[entry.type])) {
                expect(inputs[property] ?? unset, `${entry.logicalName} ${property}`).to.deep.equal(state[property]);
            }
        });
    });

    it("never deletes what it adopted, and still deletes what it created when it leaves the program", () => {
        const adopted = adoptedResources(run.resources, ADOPT, REGISTRY_ACCOUNT, run.issuerOfCluster);
        expect(adopted.map((r) => [r.name, r.retainOnDelete])).to.deep.equal([
            [`registry-oidc-${HOST_B}`, true],
            ["registry-ci-builders-role", true],
            ["registry-payments/api-repository", true],
            ["registry-platform/base-repository", true],
        ]);
        // payments/api says retainOnDelete: false in the fixture; adopted, it is kept all the same.
        const created = run.resources.filter(
            (r) => (r.type === "aws:iam/role:Role" || r.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider") && !adopted.includes(r),
        );
        expect(created.length).to.be.greaterThan(0);
        for (const resource of created) {
            expect(resource.retainOnDelete, resource.name).to.equal(false);
        }
    });

    it("says in the preview whose access the package's trust removes, what the tag setting changes and which images expire", () => {
        const issuerA = run.issuerOfCluster[STACK_A].replace(/^https:\/\//, "");
        expect(run.warnings).to.deep.equal([
            "adopted repository payments/api: its tag mutability changes from MUTABLE to IMMUTABLE: a push that moves an existing tag will be refused; set imageTagMutability: MUTABLE to keep it.",
            "adopted repository platform/base: 3 of its images are untagged, and its lifecycle policy expires untagged images 14 days after their push; raise untaggedExpiryDays to keep them longer.",
            "adopted repository platform/base: its tag mutability changes from MUTABLE to IMMUTABLE: a push that moves an existing tag will be refused; set imageTagMutability: MUTABLE to keep it.",
            `adopted pull role ${ROLE}: its trust narrows; losing access: every service account of the cluster with issuer ${HOST_B} except system:serviceaccount:ci:image-builder. Newly admitted: system:serviceaccount:ci:image-builder of ${issuerA}.`,
        ]);
    });
});

describe("adoption entries that cannot be honoured are refused before anything is registered", function () {
    this.timeout(60000);
    const cases: [string, unknown, ExistingRegistryFixture, Record<string, unknown>, string[]][] = [
        [
            "a repository the config does not list",
            { repositories: ["platform/bsae"] },
            SEED,
            {},
            [
                '[ecrpull:adopt.repositories[0]] "platform/bsae" is not one of the repositories listed, nor a replica of one (<name>@<replica region>): add it to repositories (with the settings it has) to adopt it.',
            ],
        ],
        [
            "a pull role named by its role name",
            { pullRoles: [ROLE] },
            SEED,
            {},
            [
                `[ecrpull:adopt.pullRoles[0]] "${ROLE}" is not the key of a pull role this registry has ("ci-builders", "payments", "ml"). Name the grant, not the role: "ci-builders".`,
            ],
        ],
        [
            "a provider of another account",
            { oidcProviders: [PROVIDER_B.replace(REGISTRY_ACCOUNT, "444455556666")] },
            SEED,
            {},
            [
                `[ecrpull:adopt.oidcProviders[0]] "${PROVIDER_B.replace(REGISTRY_ACCOUNT, "444455556666")}" is in account 444455556666, not in the registry account ${REGISTRY_ACCOUNT}: only the registry account's own providers can be adopted.`,
            ],
        ],
        [
            "an unknown key",
            { roles: ["ci-builders"] },
            SEED,
            {},
            ["[ecrpull:adopt.roles] is not a known setting: use one of oidcProviders, repositories, pullRoles."],
        ],
        [
            "a repository that does not exist",
            { repositories: ["ml/models"] },
            SEED,
            {},
            ['[ecrpull:adopt.repositories] "ml/models" does not exist in this account and region: leave it out of adopt, and the stack creates it.'],
        ],
        [
            "a repository encrypted with KMS, configured for AES-256",
            { repositories: ["platform/base"] },
            {
                repositories: {
                    "platform/base": { encryptionType: "KMS", kmsKey: "arn:aws:kms:eu-west-1:111122223333:key/0f0e0d0c-0b0a-4099-8877-665544332211" },
                },
            },
            {},
            [
                '[ecrpull:repositories] "platform/base" is adopted and encrypted with KMS with arn:aws:kms:eu-west-1:111122223333:key/0f0e0d0c-0b0a-4099-8877-665544332211, not AES-256: ECR cannot change a repository\'s encryption, and the provider would replace the repository, which fails on its name and would lose its images. Set its kmsKeyArn to "arn:aws:kms:eu-west-1:111122223333:key/0f0e0d0c-0b0a-4099-8877-665544332211".',
            ],
        ],
        [
            "a repository with more images than the lifecycle policy keeps",
            { repositories: ["platform/base"] },
            { repositories: { "platform/base": { taggedImages: 250, imageTagMutability: "IMMUTABLE" } } },
            {},
            [
                '[ecrpull:repositories] "platform/base" is adopted and holds 250 images, and its lifecycle policy would keep the last 200: ECR would expire the oldest 50 within a day. Set its keepLastImages to at least 250 (at most 10000), or remove the images you do not need first.',
            ],
        ],
        [
            "a role at another path than /",
            { pullRoles: ["ci-builders"] },
            { roles: { [ROLE]: { path: "/service-role/", assumeRolePolicy: SEED_TRUST } } },
            {},
            [
                `[ecrpull:adopt.pullRoles] role ${ROLE} has path /service-role/, so its ARN is arn:aws:iam::${REGISTRY_ACCOUNT}:role/service-role/${ROLE}, not ${ROLE_ARN}, where the EKS stacks look for it: IAM cannot move a role. Leave it out of adopt and rename it, or delete it once the stack's own role serves its pods.`,
            ],
        ],
        [
            "a provider that does not exist",
            { oidcProviders: [PROVIDER_B] },
            {},
            {},
            [`[ecrpull:adopt.oidcProviders] ${PROVIDER_B} does not exist in this account: leave it out of adopt, and the stack creates it.`],
        ],
    ];
    for (const [what, adopt, existing, overrides, problems] of cases) {
        it(what, async () => {
            const result = await runAdopting(adopt, existing, overrides);
            expect(result.error).to.be.a("string");
            expect(result.error!.split("\n").slice(problems.length > 1 ? 1 : 0)).to.deep.equal(
                problems.length > 1 ? problems.map((p) => `  ${p}`) : [`Stack "ecr" (ECR program): ${problems[0].replace(/^\[([^\]]+)\]/, "$1")}`],
            );
            expect(result.resources.filter((r) => r.type.startsWith("aws:")).map((r) => r.name)).to.deep.equal([]);
        });
    }
});

describe("the trust change the preview reports, held against an IAM evaluator", () => {
    const simulator = new IamSimulator();
    const issuerA = "oidc.eks.eu-west-1.amazonaws.com/id/A0A0A0A0A0A0A0A0A0A0A0A0A0A0A0A0";
    const providerA = `arn:aws:iam::${REGISTRY_ACCOUNT}:oidc-provider/${issuerA}`;
    const packageTrust = JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Principal: { Federated: [PROVIDER_B] },
                Action: ["sts:AssumeRoleWithWebIdentity"],
                Condition: { StringEquals: { [`${HOST_B}:aud`]: ["sts.amazonaws.com"], [`${HOST_B}:sub`]: ["system:serviceaccount:ci:image-builder"] } },
            },
            {
                Effect: "Allow",
                Principal: { Federated: [providerA] },
                Action: ["sts:AssumeRoleWithWebIdentity"],
                Condition: { StringEquals: { [`${issuerA}:aud`]: ["sts.amazonaws.com"], [`${issuerA}:sub`]: ["system:serviceaccount:ci:image-builder"] } },
            },
        ],
    });
    const token = (trustPolicy: string, providerArn: string, issuerHostPath: string, namespace: string, serviceAccount: string) =>
        simulator.webIdentity({ roleArn: ROLE_ARN, trustPolicy, providerArn, issuerHostPath, namespace, serviceAccount, audience: "sts.amazonaws.com" });

    it("lists as losing access exactly the service accounts the evaluator admits before and refuses after", async () => {
        const change = trustChange(SEED_TRUST, packageTrust);
        expect(change.lost).to.deep.equal([`every service account of the cluster with issuer ${HOST_B} except system:serviceaccount:ci:image-builder`]);
        expect(change.gained).to.deep.equal([`system:serviceaccount:ci:image-builder of ${issuerA}`]);
        // Before: every service account of B; after: only ci/image-builder of B (and of A).
        for (const [namespace, name] of [
            ["ci", "image-builder"],
            ["ci", "image-scanner"],
            ["kube-system", "aws-node"],
            ["payments", "deployer"],
        ]) {
            const before = await token(SEED_TRUST, PROVIDER_B, HOST_B, namespace, name);
            const after = await token(packageTrust, PROVIDER_B, HOST_B, namespace, name);
            expect(before, `${namespace}/${name} before`).to.equal(true);
            expect(after, `${namespace}/${name} after`).to.equal(namespace === "ci" && name === "image-builder");
        }
        expect(await token(SEED_TRUST, providerA, issuerA, "ci", "image-builder"), "A before").to.equal(false);
        expect(await token(packageTrust, providerA, issuerA, "ci", "image-builder"), "A after").to.equal(true);
    });

    it("reports a chained seed's trust of a whole cluster-account role as lost when the package trusts its own role", async () => {
        const seedRole = "arn:aws:iam::444455556666:role/eks-ecr-access";
        const packageRole = "arn:aws:iam::444455556666:role/ecr-chain-payments-0a1b2c";
        const seed = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: seedRole }, Action: "sts:AssumeRole" }] });
        const chained = JSON.stringify({
            Version: "2012-10-17",
            Statement: [
                {
                    Effect: "Allow",
                    Principal: { AWS: ["arn:aws:iam::444455556666:root"] },
                    Action: ["sts:AssumeRole"],
                    Condition: { ArnEquals: { "aws:PrincipalArn": [packageRole] } },
                },
            ],
        });
        expect(trustChange(seed, chained)).to.deep.equal({ lost: [`role ${seedRole}`], gained: [`role ${packageRole}`] });
        const assume = (trustPolicy: string, principalRoleArn: string) =>
            simulator.roleSession({
                principalRoleArn,
                identityPolicies: [
                    {
                        name: "assume",
                        json: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }] }),
                    },
                ],
                action: "sts:AssumeRole",
                roleArn: ROLE_ARN,
                trustPolicy,
            });
        expect([await assume(seed, seedRole), await assume(chained, seedRole)]).to.deep.equal([true, false]);
        expect([await assume(seed, packageRole), await assume(chained, packageRole)]).to.deep.equal([false, true]);
        expect(trustChange(chained, chained)).to.deep.equal({ lost: [], gained: [] });
    });
});

describe("the migration order of docs/migration.md runs", function () {
    this.timeout(60000);
    it("eks without workloads, then ecr adopting, then eks with the existing ServiceAccount patched to the new role", async () => {
        // 1. The cluster adopted, no workloads yet: it exports the issuer.
        const first = await runEksStack(clusterB({ "ecrpull:workloads": [] }));
        expect(first.resources.filter((r) => r.type.startsWith("kubernetes:core/v1:ServiceAccount"))).to.deep.equal([]);
        // 2. The registry adopts the seed's provider and repository, and creates the pull role.
        const grants = [
            { name: "ci-builders", clusters: [STACK_B], serviceAccounts: [{ namespace: "ci", name: "image-builder" }], repositories: ["platform/base"] },
        ];
        const ecr = await runEcrStack(
            {
                ...registry({
                    "ecrpull:clusterStacks": [STACK_B],
                    "ecrpull:repositories": [{ name: "platform/base", imageTagMutability: "MUTABLE" }],
                    "ecrpull:grants": grants,
                    "ecrpull:adopt": { oidcProviders: [STACK_B], repositories: ["platform/base"] },
                }),
                existingRegistry: { oidcProviderArns: [PROVIDER_B], repositories: { "platform/base": { taggedImages: 12 } } },
            },
            { [STACK_B]: first.outputs as Record<string, unknown> },
        );
        expect(ecr.resources.find((r) => r.type === "aws:iam/role:Role")?.inputs.name).to.equal(ROLE);
        // 3. The workload, on the ServiceAccount eksctl made: patched to name the new role.
        const third = await runEksStack(
            clusterB({ "ecrpull:workloads": [{ namespace: "ci", serviceAccount: "image-builder", grant: "ci-builders", existingServiceAccount: true }] }),
        );
        const patch = third.resources.find((r) => r.type === "kubernetes:core/v1:ServiceAccountPatch");
        expect(patch?.inputs.metadata.annotations["eks.amazonaws.com/role-arn"]).to.equal(ROLE_ARN);
    });
});

describe("adoption as `pulumi up` runs it (the language host, the engine's URNs, a cloud that refuses duplicates)", function () {
    this.timeout(240_000);
    const KEY = "arn:aws:kms:eu-west-1:111122223333:key/1f2e3d4c-5b6a-4789-8abc-0123456789ab";
    const ADOPTED_PROVIDER = `arn:aws:iam::${LH_REGISTRY}:oidc-provider/${ADOPTED_ISSUER.replace(/^https:\/\//, "")}`;
    const seedTrust = JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Federated: ADOPTED_PROVIDER }, Action: "sts:AssumeRoleWithWebIdentity" }],
    });
    /** The cluster account as most users have it, and the registry account as the seed recipe left it. */
    const seedWorld = (): WorldFixture => ({
        ...ADOPTED_WORLD,
        [LH_REGISTRY]: {
            oidcProviders: [ADOPTED_ISSUER],
            roles: ["ecr-pull-ci-builders"],
            repositories: ["platform/base-images", "payments/api"],
            registry: {
                oidcProviderArns: [ADOPTED_PROVIDER],
                repositories: {
                    "platform/base-images": { imageTagMutability: "IMMUTABLE", taggedImages: 12 },
                    "payments/api": { encryptionType: "KMS", kmsKey: KEY, imageTagMutability: "IMMUTABLE", taggedImages: 3 },
                },
                roles: { "ecr-pull-ci-builders": { assumeRolePolicy: seedTrust } },
            },
        },
    });
    const adopt = { oidcProviders: [LH_EKS_STACK], repositories: ["platform/base-images", "payments/api"], pullRoles: ["ci-builders"] };
    let world: World;
    let eksOutputs: Record<string, unknown>;
    before(async () => {
        world = new World(seedWorld());
        const eks = await runLanghost({ stack: "eks", config: adoptedClusterConfig(), mode: "up", accountId: LH_CLUSTER, region: LH_REGION, world });
        expect(eks.exitCode, describeRun(eks)).to.equal(0);
        eksOutputs = eks.stackOutputs!;
    });
    const ecrUp = (config: Record<string, unknown>, state?: Map<string, { id: string; outputs: Record<string, unknown> }>) =>
        runLanghost({
            stack: "ecr",
            config,
            mode: "up",
            accountId: LH_REGISTRY,
            region: LH_REGION,
            world,
            stackReferences: { [LH_EKS_STACK]: eksOutputs },
            state,
        });

    it("without adoption, the first up stops on what the seed made, with AWS's own errors", async () => {
        const run = await ecrUp(ecrConfig());
        // The engine stops the update at the first failed create, whatever the program's exit code.
        expect(run.stoppedBy, describeRun(run)).to.be.a("string");
        const errors = run.diagnostics
            .filter((d) => d.severity === "error")
            .map((d) => d.message)
            .join("\n");
        expect(errors).to.match(/EntityAlreadyExists|RepositoryAlreadyExistsException/);
    });

    it("with the import file taken into the state, up completes: nothing adopted is created, every URN of the file is one the program registers", async () => {
        // The file `ecrpull plan --import-file` writes, from the same config on the mock engine.
        const references = { [LH_EKS_STACK]: eksOutputs };
        const config = ecrConfig({ "ecrpull:adopt": adopt });
        const mock = await runEcrStack({ config, accountId: LH_REGISTRY, region: LH_REGION, existingRegistry: seedWorld()[LH_REGISTRY].registry }, references);
        const file = importFileFor(mock.resources, adoptedResources(mock.resources, adopt, LH_REGISTRY, { [LH_EKS_STACK]: String(eksOutputs.oidcIssuerUrl) }));
        // What `pulumi import --file` puts into the state: each entry under the URN Pulumi forms for it.
        const urns = urnsOf(file, "ecr", "ecrpull");
        const state = new Map(file.resources.flatMap((e, i) => (e.component ? [] : [[urns[i], { id: e.id!, outputs: {} }] as const])));
        expect(state.size).to.equal(4);

        const run = await ecrUp(config, state);
        expect(run.exitCode, describeRun(run)).to.equal(0);
        const registered = new Map(run.registrations.map((r) => [r.urn, r]));
        for (const urn of urns) {
            expect(registered.has(urn), `${urn} is registered by the program`).to.equal(true);
        }
        for (const urn of state.keys()) {
            expect(registered.get(urn)!.status, urn).to.equal("existing");
            expect(registered.get(urn)!.retainOnDelete, urn).to.equal(true);
        }
        expect(run.creations.filter((c) => state.has(c.urn))).to.deep.equal([]);
        expect(run.failures).to.deep.equal([]);
        // The preview's notice about the seed's trust reached the engine as a warning.
        const warnings = run.diagnostics.filter((d) => d.severity === "warning").map((d) => d.message);
        expect(warnings.some((w) => w.startsWith("adopted pull role ecr-pull-ci-builders: its trust narrows; losing access: every service account"))).to.equal(
            true,
        );
    });
});

describe("a read the deployer may not make is reported as such, never taken for absence", function () {
    this.timeout(60000);
    it("adopting with credentials that lack iam:GetRole and ecr:ListImages: names each permission, nothing registered", async () => {
        const [a, b] = [await runEksStack(clusterA()), await runEksStack(clusterB())];
        const references = { [STACK_A]: a.outputs as Record<string, unknown>, [STACK_B]: b.outputs as Record<string, unknown> };
        const error = await runEcrStack(
            {
                ...registry({ "ecrpull:adopt": ADOPT }),
                existingRegistry: SEED,
                deniedInvokes: ["aws:iam/getRole:getRole", "aws:ecr/getImages:getImages"],
            },
            references,
        ).then(
            () => undefined,
            (e: unknown) => e as ValidationError & { recordedResources?: RecordedResource[] },
        );
        expect(error).to.be.instanceOf(ValidationError);
        const problems = error!.problems.map((p) => p.replace(/ \(reading .*?\): the deploying role/, " (…): the deploying role"));
        expect(problems).to.deep.equal([
            "ecrpull:adopt the images of payments/api could not be read, so whether it exists is not known (…): the deploying role needs ecr:ListImages; nothing was created.",
            "ecrpull:adopt the images of platform/base could not be read, so whether it exists is not known (…): the deploying role needs ecr:ListImages; nothing was created.",
            "ecrpull:adopt the role ecr-pull-ci-builders could not be read, so whether it exists is not known (…): the deploying role needs iam:GetRole; nothing was created.",
        ]);
        expect(error!.problems[0]).to.contain("AccessDenied");
        expect(resourcesBeforeFailure(error).filter((r) => r.type.startsWith("aws:"))).to.deep.equal([]);
    });

    it("an adopted cluster's OIDC provider that cannot be read is not reported as missing", async () => {
        const error = await runEksStack({
            ...clusterB({ "ecrpull:workloads": [{ namespace: "payments", serviceAccount: "deployer", grant: "payments", path: "chaining" }] }),
            deniedInvokes: ["aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider"],
        }).then(
            () => undefined,
            (e: unknown) => e as ValidationError,
        );
        expect(error!.problems).to.have.length(1);
        expect(error!.problems[0]).to.match(
            /^the IAM OIDC provider for https:\/\/oidc\.eks\.eu-west-1\.amazonaws\.com\/id\/B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0 could not be read, so whether it exists is not known \(.*AccessDenied.*\): the deploying role needs iam:ListOpenIDConnectProviders and iam:GetOpenIDConnectProvider; nothing was created\.$/,
        );
    });
});
