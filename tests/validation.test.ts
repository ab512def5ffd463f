import { expect } from "chai";

import { validateWorkloads } from "../components/cluster/spec";
import { checkWorkloadsAgainstGrants, readEksStackOutputs, ReferencedCluster, WorkloadExport } from "../components/contract/stack-outputs";
import { pullRoleArn } from "../components/iam/names";
import { GrantSpec, validateRegistrySpec } from "../components/registry/spec";
import { argKey, configKey, Problems, ValidationError } from "../components/validation";
import { ConfigReader, readEcrStackConfig, readEksStackConfig } from "../stacks/config";

// Untyped input on purpose: these tests feed values the types would forbid.

type Loose = any;

// ---- Fixtures ---------------------------------------------------------------

const ISSUER_A = "https://oidc.eks.eu-west-1.amazonaws.com/id/AAAA1111";
const ISSUER_B = "https://oidc.eks.us-east-1.amazonaws.com/id/BBBB2222";
const THUMB = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";
const CLUSTER_A = "acme/ecrpull/eks-a";
const CLUSTER_B = "acme/ecrpull/eks-b";

function baseSpec(): Loose {
    return {
        clusters: [
            { name: CLUSTER_A, accountId: "444455556666", issuerUrl: ISSUER_A, thumbprint: THUMB, nodeRoleArns: ["arn:aws:iam::444455556666:role/nodes-a"] },
            { name: CLUSTER_B, accountId: "777788889999", issuerUrl: ISSUER_B, nodeRoleArns: ["arn:aws:iam::777788889999:role/nodes-b"] },
        ],
        repositories: [{ name: "team-a/api" }, { name: "team-b/worker" }, { name: "shared/base" }],
        grants: [
            { name: "team-a", clusters: [CLUSTER_A], serviceAccounts: [{ namespace: "team-a", name: "builder" }], repositories: ["team-a/api", "shared/base"] },
            { name: "team-b", clusters: [CLUSTER_B], serviceAccounts: [{ namespace: "team-b", name: "deployer" }], repositories: ["team-b/worker"] },
        ],
    };
}

function baseWorkloads(): Loose[] {
    return [
        { namespace: "ci", serviceAccount: "image-builder", grant: "ci-builders" },
        { namespace: "payments", serviceAccount: "release-deployer", grant: "payments" },
    ];
}

function baseEksConfig(): Record<string, Loose> {
    return {
        program: "eks",
        registryAccountId: "111122223333",
        cluster: { name: "apps-prod-euw1", create: true, version: "1.31", instanceType: "m6i.large", desiredCapacity: 3, minSize: 2, maxSize: 6 },
        oidcThumbprint: "fetch",
        createNamespaces: true,
        workloads: baseWorkloads(),
    };
}

function baseEcrConfig(): Record<string, Loose> {
    return {
        program: "ecr",
        clusterStacks: ["acme/ecrpull/eks"],
        repositories: [{ name: "team-a/api" }],
        grants: [],
        tags: { owner: "platform-team" },
    };
}

const EKS_STACK = "acme/ecrpull/eks";
const CLUSTER_ARN = "arn:aws:eks:eu-west-1:444455556666:cluster/apps-prod-euw1";
const CHAIN_ROLE_A = "arn:aws:iam::444455556666:role/ecr-chain-team-a-aaaaaa";
const PODID_ROLE_B = "arn:aws:iam::777788889999:role/ecr-podid-team-b-bbbbbb";

/** A workload export of grant "payments" on path "chaining". */
const chainedExport = (serviceAccount: string, clusterRoleArn: string): Loose => ({
    namespace: "payments",
    serviceAccount,
    grant: "payments",
    path: "chaining",
    roleArn: "arn:aws:iam::111122223333:role/ecr-pull-payments",
    clusterRoleArn,
});

function baseOutputs(): Record<string, Loose> {
    return {
        contractVersion: 2,
        oidcIssuerUrl: ISSUER_A,
        oidcThumbprint: THUMB,
        accountId: "444455556666",
        region: "eu-west-1",
        clusterName: "apps-prod-euw1",
        clusterArn: CLUSTER_ARN,
        nodeRoleArns: ["arn:aws:iam::444455556666:role/nodes-a"],
        workloads: [
            {
                namespace: "ci",
                serviceAccount: "image-builder",
                grant: "ci-builders",
                path: "federation",
                roleArn: "arn:aws:iam::111122223333:role/ecr-pull-ci-builders",
                clusterRoleArn: "",
            },
        ],
    };
}

const fakeConfig = (values: Record<string, unknown>): ConfigReader => ({ get: (k) => values[k], keys: () => Object.keys(values) });

// ---- Runners: each throws the ValidationError its caller would throw ---------

const REGISTRY_SUBJECT = 'RegistryAccess "registry"';
const EKS_SUBJECT = `Stack "${EKS_STACK}" (EKS program)`;
const ECR_SUBJECT = 'Stack "acme/ecrpull/ecr" (ECR program)';

function runRegistry(mutate: (spec: Loose) => void): void {
    const spec = baseSpec();
    mutate(spec);
    const problems = new Problems(argKey);
    validateRegistrySpec(spec, problems);
    problems.throwIfAny(REGISTRY_SUBJECT);
}

function runWorkloads(mutate: (workloads: Loose[]) => unknown): void {
    const workloads = baseWorkloads();
    const value = mutate(workloads) ?? workloads;
    const problems = new Problems(configKey("ecrpull"));
    validateWorkloads(value, problems);
    problems.throwIfAny(EKS_SUBJECT);
}

function runEksConfig(mutate: (values: Record<string, Loose>) => void): void {
    const values = baseEksConfig();
    mutate(values);
    readEksStackConfig(fakeConfig(values), EKS_STACK);
}

function runEcrConfig(mutate: (values: Record<string, Loose>) => void): void {
    const values = baseEcrConfig();
    mutate(values);
    const problems = new Problems(configKey("ecrpull"));
    readEcrStackConfig(fakeConfig(values), problems);
    problems.throwIfAny(ECR_SUBJECT);
}

function runOutputs(mutate: (values: Record<string, Loose>) => void): ReferencedCluster | undefined {
    const values = baseOutputs();
    mutate(values);
    const problems = new Problems((path) => `stack "${EKS_STACK}" output ${path}`);
    const cluster = readEksStackOutputs(EKS_STACK, values, problems);
    problems.throwIfAny(ECR_SUBJECT);
    return cluster;
}

const REGISTRY_ACCOUNT = "111122223333";
const roleArnOf = (grant: string) => pullRoleArn({ partition: "aws", registryAccountId: REGISTRY_ACCOUNT, grant });

function baseGrants(): GrantSpec[] {
    return [
        { name: "ci-builders", clusters: [EKS_STACK], serviceAccounts: [{ namespace: "ci", name: "image-builder" }], repositories: ["ci/cache"] },
        {
            name: "payments",
            clusters: ["acme/ecrpull/eks-other"],
            serviceAccounts: [{ namespace: "payments", name: "release-deployer" }],
            repositories: ["payments/api"],
        },
    ];
}

function runCrossCheck(workload: Partial<WorkloadExport>): void {
    const w: WorkloadExport = {
        namespace: "ci",
        serviceAccount: "image-builder",
        grant: "ci-builders",
        path: "federation",
        roleArn: roleArnOf("ci-builders"),
        clusterRoleArn: "",
        ...workload,
    };
    const referenced: ReferencedCluster[] = [
        {
            cluster: { name: EKS_STACK, accountId: "444455556666", issuerUrl: ISSUER_A, thumbprint: "", nodeRoleArns: [] },
            region: "eu-west-1",
            clusterName: "apps-prod-euw1",
            workloads: [w],
        },
    ];
    const problems = new Problems((path) => path);
    checkWorkloadsAgainstGrants(referenced, baseGrants(), (grant) => roleArnOf(grant.name), problems);
    problems.throwIfAny(ECR_SUBJECT);
}

/** Runs `run`, which must throw a ValidationError, and returns it. */
function validationErrorOf(run: () => unknown): ValidationError {
    expect(run).to.throw(ValidationError);
    try {
        run();
    } catch (e) {
        return e as ValidationError;
    }
    throw new Error("unreachable: run() threw above");
}

// ---- Expected explanations (the text after "<key> <value> ") --------------------

const ACCOUNT = 'is not an AWS account ID: use the 12 digits, as a quoted string (e.g. "111122223333").';
const ISSUER_HOW =
    'use the cluster\'s issuer as `aws eks describe-cluster` prints it, e.g. "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE" (https, no trailing slash).';
const ISSUER_BAD = `is not a valid OIDC issuer URL: ${ISSUER_HOW}`;
const ISSUER_TYPE = `is not an issuer URL: ${ISSUER_HOW}`;
const THUMBPRINT = "is not a thumbprint: use 40 lowercase hex digits (the SHA-1 of the issuer's top CA certificate), or leave it empty.";
const NAMESPACE =
    "is not a valid namespace: use lowercase letters, digits and '-', starting and ending with a letter or digit (RFC 1123 label, at most 63 characters).";
const SERVICE_ACCOUNT =
    "is not a valid service account name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (RFC 1123 subdomain, at most 253 characters).";
const REPOSITORY =
    "is not a valid ECR repository name: use 2 to 256 lowercase letters, digits and '.', '_', '-' between them, with '/' between path parts (e.g. \"team-a/api\").";
const TAG_FILTER =
    "is not a tag filter ECR accepts: use 1 to 128 letters, digits and '.', '_', '-', with at most 2 '*' wildcards (e.g. \"latest\", \"dev-*\").";
const GRANT = "is not a valid grant name: use lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. \"team-a\").";
const ROLE_ARN = 'is not an IAM role ARN: use "arn:aws:iam::<12-digit account>:role/<name>".';
const KNOWN_CLUSTERS = `use one of the clusters listed ("${CLUSTER_A}", "${CLUSTER_B}").`;
const KNOWN_REPOSITORIES = 'use one of the repositories listed ("shared/base", "team-a/api", "team-b/worker").';
const EKS_KEYS = "program, registryAccountId, cluster, oidcThumbprint, createNamespaces, workloads, limits, grants, nodePullGrants";
const OUTPUT_KEYS = "contractVersion, oidcIssuerUrl, oidcThumbprint, accountId, region, clusterName, clusterArn, nodeRoleArns, workloads";
const OUT = `stack "${EKS_STACK}" output`;

// ---- The table ------------------------------------------------------------------

interface Case {
    readonly name: string;
    readonly subject: string;
    readonly run: () => unknown;
    readonly problems: readonly string[];
}

const long = (n: number, c = "a") => c.repeat(n);

const cases: Case[] = [
    // -- validateRegistrySpec: clusters
    ...(
        [
            [
                "account ID with 11 digits",
                (s: Loose) => Object.assign(s.clusters[0], { accountId: "44445555666", nodeRoleArns: [] }),
                [`[clusters[0].accountId] "44445555666" ${ACCOUNT}`],
            ],
            ["account ID as a number", (s: Loose) => (s.clusters[0].accountId = 444455556666), [`[clusters[0].accountId] 444455556666 ${ACCOUNT}`]],
            [
                "account ID with letters",
                (s: Loose) => Object.assign(s.clusters[1], { accountId: "77778888999O", nodeRoleArns: [] }),
                [`[clusters[1].accountId] "77778888999O" ${ACCOUNT}`],
            ],
            [
                "account ID missing",
                (s: Loose) => Object.assign(s.clusters[1], { accountId: undefined, nodeRoleArns: [] }),
                [`[clusters[1].accountId] (missing) ${ACCOUNT}`],
            ],
            [
                "issuer over http",
                (s: Loose) => (s.clusters[0].issuerUrl = "http://oidc.eks.eu-west-1.amazonaws.com/id/AAAA1111"),
                [`[clusters[0].issuerUrl] "http://oidc.eks.eu-west-1.amazonaws.com/id/AAAA1111" ${ISSUER_BAD}`],
            ],
            ["issuer with trailing slash", (s: Loose) => (s.clusters[0].issuerUrl = `${ISSUER_A}/`), [`[clusters[0].issuerUrl] "${ISSUER_A}/" ${ISSUER_BAD}`]],
            ["issuer with a query", (s: Loose) => (s.clusters[0].issuerUrl = `${ISSUER_A}?x=1`), [`[clusters[0].issuerUrl] "${ISSUER_A}?x=1" ${ISSUER_BAD}`]],
            [
                "issuer with a fragment",
                (s: Loose) => (s.clusters[0].issuerUrl = `${ISSUER_A}#top`),
                [`[clusters[0].issuerUrl] "${ISSUER_A}#top" ${ISSUER_BAD}`],
            ],
            [
                "issuer with a user name",
                (s: Loose) => (s.clusters[0].issuerUrl = "https://me@oidc.example.com/id/X"),
                [`[clusters[0].issuerUrl] "https://me@oidc.example.com/id/X" ${ISSUER_BAD}`],
            ],
            [
                "issuer not a URL",
                (s: Loose) => (s.clusters[1].issuerUrl = "oidc.eks.us-east-1.amazonaws.com/id/BBBB2222"),
                [`[clusters[1].issuerUrl] "oidc.eks.us-east-1.amazonaws.com/id/BBBB2222" ${ISSUER_BAD}`],
            ],
            ["issuer not a string", (s: Loose) => (s.clusters[1].issuerUrl = 42), [`[clusters[1].issuerUrl] 42 ${ISSUER_TYPE}`]],
            ["issuer missing", (s: Loose) => delete s.clusters[1].issuerUrl, [`[clusters[1].issuerUrl] (missing) ${ISSUER_TYPE}`]],
            [
                "thumbprint not hex",
                (s: Loose) => (s.clusters[0].thumbprint = "not-a-thumbprint"),
                [`[clusters[0].thumbprint] "not-a-thumbprint" ${THUMBPRINT}`],
            ],
            [
                "thumbprint in upper case",
                (s: Loose) => (s.clusters[0].thumbprint = THUMB.toUpperCase()),
                [`[clusters[0].thumbprint] "${THUMB.toUpperCase()}" ${THUMBPRINT}`],
            ],
            [
                "thumbprint one digit short",
                (s: Loose) => (s.clusters[0].thumbprint = THUMB.slice(1)),
                [`[clusters[0].thumbprint] "${THUMB.slice(1)}" ${THUMBPRINT}`],
            ],
            [
                "node role in another account than the cluster's",
                (s: Loose) => (s.clusters[0].nodeRoleArns = ["arn:aws:iam::999988887777:role/nodes-a"]),
                [
                    `[clusters[0].nodeRoleArns[0]] "arn:aws:iam::999988887777:role/nodes-a" is not in the cluster's account 444455556666: node roles live in the cluster's account.`,
                ],
            ],
            ["node role not an ARN", (s: Loose) => (s.clusters[1].nodeRoleArns = ["nodes-b"]), [`[clusters[1].nodeRoleArns[0]] "nodes-b" ${ROLE_ARN}`]],
            [
                "node roles not a list",
                (s: Loose) => (s.clusters[1].nodeRoleArns = "arn:aws:iam::777788889999:role/nodes-b"),
                [`[clusters[1].nodeRoleArns] "arn:aws:iam::777788889999:role/nodes-b" is not a list: use a YAML list of node role ARNs.`],
            ],
            [
                "cluster name empty",
                (s: Loose) => Object.assign(s.clusters, { 2: { ...s.clusters[1], name: "" } }),
                [`[clusters[2].name] "" is not a cluster name: use the EKS stack's name (e.g. "acme/ecrpull/eks").`],
            ],
            [
                "cluster entry not a mapping",
                (s: Loose) => s.clusters.push("acme/ecrpull/eks-c"),
                [`[clusters[2]] "acme/ecrpull/eks-c" is not an object: use a YAML mapping with name, accountId, issuerUrl, nodeRoleArns.`],
            ],
            [
                "clusters not a list",
                (s: Loose) => Object.assign(s, { clusters: {}, grants: [] }),
                ["[clusters] {} is not a list: use a YAML list of clusters."],
            ],
            [
                "unknown cluster key nodeRoles",
                (s: Loose) => (s.clusters[0].nodeRoles = []),
                ["[clusters[0].nodeRoles] is not a known setting: use one of name, accountId, issuerUrl, thumbprint, nodeRoleArns, clusterArn, clusterRoles."],
            ],
            [
                "duplicate cluster",
                (s: Loose) => s.clusters.push({ ...s.clusters[0] }),
                [`[clusters[2]] "${CLUSTER_A}" is the same cluster as [clusters[0]]: list each cluster once.`],
            ],

            // -- validateRegistrySpec: repositories
            ["repository name in upper case", (s: Loose) => s.repositories.push({ name: "Team/API" }), [`[repositories[3].name] "Team/API" ${REPOSITORY}`]],
            ["repository name of one character", (s: Loose) => s.repositories.push({ name: "a" }), [`[repositories[3].name] "a" ${REPOSITORY}`]],
            ["repository name starting with -", (s: Loose) => s.repositories.push({ name: "-x" }), [`[repositories[3].name] "-x" ${REPOSITORY}`]],
            [
                "repository name of 257 characters",
                (s: Loose) => s.repositories.push({ name: long(257) }),
                [`[repositories[3].name] "${long(257)}" ${REPOSITORY}`],
            ],
            ["repository name with //", (s: Loose) => s.repositories.push({ name: "team-a//api" }), [`[repositories[3].name] "team-a//api" ${REPOSITORY}`]],
            [
                "duplicate repository",
                (s: Loose) => s.repositories.push({ name: "shared/base" }),
                ['[repositories[3]] "shared/base" is the same repository as [repositories[2]]: list each repository once.'],
            ],
            [
                "imageTagMutability in lower case",
                (s: Loose) => (s.repositories[0].imageTagMutability = "immutable"),
                [
                    '[repositories[0].imageTagMutability] "immutable" is not one of "IMMUTABLE", "MUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION".',
                ],
            ],
            [
                "IMMUTABLE_WITH_EXCLUSION without filters",
                (s: Loose) => (s.repositories[0].imageTagMutability = "IMMUTABLE_WITH_EXCLUSION"),
                [
                    '[repositories[0].imageTagMutabilityExclusionFilters] is missing: "IMMUTABLE_WITH_EXCLUSION" needs from 1 to 5 tag filters, e.g. ["latest", "dev-*"].',
                ],
            ],
            [
                "exclusion filters with plain IMMUTABLE",
                (s: Loose) => (s.repositories[0].imageTagMutabilityExclusionFilters = ["latest"]),
                [
                    '[repositories[0].imageTagMutabilityExclusionFilters] ["latest"] applies only with imageTagMutability "IMMUTABLE_WITH_EXCLUSION" or "MUTABLE_WITH_EXCLUSION": set one of those, or leave the filters out.',
                ],
            ],
            [
                "six exclusion filters",
                (s: Loose) =>
                    Object.assign(s.repositories[0], {
                        imageTagMutability: "MUTABLE_WITH_EXCLUSION",
                        imageTagMutabilityExclusionFilters: ["a", "b", "c", "d", "e", "f"],
                    }),
                ["[repositories[0].imageTagMutabilityExclusionFilters] has 6 filters; ECR accepts from 1 to 5."],
            ],
            [
                "exclusion filters that ECR refuses",
                (s: Loose) =>
                    Object.assign(s.repositories[0], {
                        imageTagMutability: "IMMUTABLE_WITH_EXCLUSION",
                        imageTagMutabilityExclusionFilters: ["v*-*-*", "feature/x", "", long(129), 7, "latest", "latest"],
                    }),
                [
                    "[repositories[0].imageTagMutabilityExclusionFilters] has 7 filters; ECR accepts from 1 to 5.",
                    `[repositories[0].imageTagMutabilityExclusionFilters[0]] "v*-*-*" has 3 wildcards; ECR allows at most 2 "*" in a filter.`,
                    `[repositories[0].imageTagMutabilityExclusionFilters[1]] "feature/x" ${TAG_FILTER}`,
                    `[repositories[0].imageTagMutabilityExclusionFilters[2]] "" ${TAG_FILTER}`,
                    `[repositories[0].imageTagMutabilityExclusionFilters[3]] "${long(129)}" ${TAG_FILTER}`,
                    `[repositories[0].imageTagMutabilityExclusionFilters[4]] 7 ${TAG_FILTER}`,
                    '[repositories[0].imageTagMutabilityExclusionFilters[6]] "latest" is the same tag filter as [repositories[0].imageTagMutabilityExclusionFilters[5]]: list each tag filter once.',
                ],
            ],
            [
                "keepLastImages 0",
                (s: Loose) => (s.repositories[0].keepLastImages = 0),
                ["[repositories[0].keepLastImages] 0 is not a whole number from 1 to 10000."],
            ],
            [
                "untaggedExpiryDays 1.5",
                (s: Loose) => (s.repositories[1].untaggedExpiryDays = 1.5),
                ["[repositories[1].untaggedExpiryDays] 1.5 is not a whole number from 1 to 3650."],
            ],
            [
                "untaggedExpiryDays as text",
                (s: Loose) => (s.repositories[1].untaggedExpiryDays = "14"),
                ['[repositories[1].untaggedExpiryDays] "14" is text, not a number: write it without quotes (a whole number from 1 to 3650).'],
            ],
            [
                "kmsKeyArn not an ARN",
                (s: Loose) => (s.repositories[2].kmsKeyArn = "alias/ecr"),
                ['[repositories[2].kmsKeyArn] "alias/ecr" is not a KMS key ARN: use "arn:aws:kms:<region>:<account>:key/<key-id>".'],
            ],
            [
                "scanOnPush as text",
                (s: Loose) => (s.repositories[0].scanOnPush = "yes"),
                ['[repositories[0].scanOnPush] "yes" is not a boolean: use true or false.'],
            ],
            [
                "unknown repository key keepLast",
                (s: Loose) => (s.repositories[0].keepLast = 10),
                [
                    "[repositories[0].keepLast] is not a known setting: use one of name, imageTagMutability, imageTagMutabilityExclusionFilters, scanOnPush, kmsKeyArn, keepLastImages, untaggedExpiryDays, retainOnDelete, forceDelete, replicaKmsKeyArns.",
                ],
            ],

            // -- validateRegistrySpec: grants
            ["grant name with upper case and a space", (s: Loose) => (s.grants[0].name = "Team A"), [`[grants[0].name] "Team A" ${GRANT}`]],
            ["grant name ending in -", (s: Loose) => (s.grants[1].name = "team-b-"), [`[grants[1].name] "team-b-" ${GRANT}`]],
            [
                "grant name too long for the role name",
                (s: Loose) => (s.grants[0].name = long(56)),
                [
                    `[grants[0].name] "${long(56)}" makes the role name "ecr-pull-${long(56)}" 65 characters long; IAM allows 64: use a grant name of at most 55 characters.`,
                ],
            ],
            ["duplicate grant", (s: Loose) => (s.grants[1].name = "team-a"), ['[grants[1]] "team-a" is the same grant as [grants[0]]: list each grant once.']],
            [
                "grant names an unknown cluster",
                (s: Loose) => (s.grants[0].clusters = ["acme/ecrpull/eks-c"]),
                [`[grants[0].clusters[0]] "acme/ecrpull/eks-c" is not a known cluster: ${KNOWN_CLUSTERS}`],
            ],
            [
                "grant names an unknown repository",
                (s: Loose) => (s.grants[0].repositories = ["team-a/api", "shared/bsae"]),
                [`[grants[0].repositories[1]] "shared/bsae" is not a known repository: ${KNOWN_REPOSITORIES}`],
            ],
            [
                "grant names a cluster twice",
                (s: Loose) => s.grants[0].clusters.push(CLUSTER_A),
                [`[grants[0].clusters[1]] "${CLUSTER_A}" is the same cluster as [grants[0].clusters[0]]: list each cluster once.`],
            ],
            [
                "grant names a repository twice",
                (s: Loose) => s.grants[1].repositories.push("team-b/worker"),
                ['[grants[1].repositories[1]] "team-b/worker" is the same repository as [grants[1].repositories[0]]: list each repository once.'],
            ],
            ["grant with no clusters", (s: Loose) => (s.grants[0].clusters = []), ["[grants[0].clusters] is empty: a grant must name at least one cluster."]],
            [
                "grant with no service accounts",
                (s: Loose) => (s.grants[0].serviceAccounts = []),
                ["[grants[0].serviceAccounts] is empty: a grant must name at least one service account as { namespace, name }."],
            ],
            [
                "grant with no repositories",
                (s: Loose) => (s.grants[1].repositories = []),
                ["[grants[1].repositories] is empty: a grant must name at least one repository."],
            ],
            [
                "grant key misspelt as repositorys",
                (s: Loose) => {
                    s.grants[0].repositorys = s.grants[0].repositories;
                    delete s.grants[0].repositories;
                },
                [
                    "[grants[0].repositorys] is not a known setting: use one of name, clusters, serviceAccounts, repositories, path, shards, allowPatterns, allowEveryServiceAccount, scope.",
                    "[grants[0].repositories] is missing: set it to a YAML list of repository names.",
                ],
            ],
            ["grants not a list", (s: Loose) => (s.grants = { name: "team-a" }), ['[grants] {"name":"team-a"} is not a list: use a YAML list of grants.']],
            [
                "grant clusters not a list",
                (s: Loose) => (s.grants[1].clusters = CLUSTER_B),
                [`[grants[1].clusters] "${CLUSTER_B}" is not a list: use a YAML list of cluster names.`],
            ],
            [
                "service account entry is a string",
                (s: Loose) => (s.grants[0].serviceAccounts = ["team-a/builder"]),
                ['[grants[0].serviceAccounts[0]] "team-a/builder" is not an object: use a YAML mapping with namespace and name.'],
            ],
            [
                "namespace Team_A",
                (s: Loose) => (s.grants[0].serviceAccounts[0].namespace = "Team_A"),
                [`[grants[0].serviceAccounts[0].namespace] "Team_A" ${NAMESPACE}`],
            ],
            [
                "namespace of 64 characters",
                (s: Loose) => (s.grants[1].serviceAccounts[0].namespace = long(64, "n")),
                [`[grants[1].serviceAccounts[0].namespace] "${long(64, "n")}" ${NAMESPACE}`],
            ],
            [
                "service account with upper case and _",
                (s: Loose) => (s.grants[0].serviceAccounts[0].name = "Image_Builder"),
                [`[grants[0].serviceAccounts[0].name] "Image_Builder" ${SERVICE_ACCOUNT}`],
            ],
            [
                "service account ending in .",
                (s: Loose) => (s.grants[1].serviceAccounts[0].name = "deployer."),
                [`[grants[1].serviceAccounts[0].name] "deployer." ${SERVICE_ACCOUNT}`],
            ],
            [
                "service account of 254 characters",
                (s: Loose) => (s.grants[1].serviceAccounts[0].name = long(254, "s")),
                [`[grants[1].serviceAccounts[0].name] "${long(254, "s")}" ${SERVICE_ACCOUNT}`],
            ],
            [
                "service account twice in a grant",
                (s: Loose) => s.grants[0].serviceAccounts.push({ namespace: "team-a", name: "builder" }),
                [
                    '[grants[0].serviceAccounts[1]] "team-a/builder" is the same service account as [grants[0].serviceAccounts[0]]: list each service account once.',
                ],
            ],
            [
                "unknown service account key serviceAccount",
                (s: Loose) => (s.grants[1].serviceAccounts[0] = { namespace: "team-b", serviceAccount: "deployer" }),
                [
                    "[grants[1].serviceAccounts[0].serviceAccount] is not a known setting: use one of namespace, name.",
                    `[grants[1].serviceAccounts[0].name] (missing) ${SERVICE_ACCOUNT}`,
                ],
            ],

            // -- validateRegistrySpec: access paths
            [
                "unknown grant path",
                (s: Loose) => (s.grants[0].path = "irsa"),
                ['[grants[0].path] "irsa" is not one of "federation", "chaining", "podIdentity".'],
            ],
            [
                "chaining grant whose cluster provides no chaining role for it",
                (s: Loose) => {
                    s.grants[0].path = "chaining";
                    // A chaining role of another grant does not serve this one.
                    s.clusters[0].clusterRoles = [{ grant: "team-b", path: "chaining", roleArn: CHAIN_ROLE_A }];
                },
                [
                    `[grants[0].clusters[0]] "${CLUSTER_A}" provides no chaining role for grant "team-a": add a workload of grant "team-a" with path "chaining" to that cluster's ecrpull:workloads, so that its stack exports the role (output workloads[].clusterRoleArn; for RegistryAccess args, the cluster's clusterRoles).`,
                ],
            ],
            [
                "podIdentity grant whose cluster has no clusterArn",
                (s: Loose) => {
                    s.grants[1].path = "podIdentity";
                    s.clusters[1].clusterRoles = [{ grant: "team-b", path: "podIdentity", roleArn: PODID_ROLE_B }];
                },
                [
                    `[grants[1].clusters[0]] "${CLUSTER_B}" has no clusterArn, which grant "team-b" (path "podIdentity") needs to pin its session tags: deploy that cluster's stack with this release (output clusterArn).`,
                ],
            ],
            [
                "chaining grant whose cluster provides a podIdentity role for it instead",
                (s: Loose) => {
                    s.grants[1].path = "chaining";
                    s.clusters[1].clusterRoles = [{ grant: "team-b", path: "podIdentity", roleArn: PODID_ROLE_B }];
                },
                [
                    `[grants[1].clusters[0]] "${CLUSTER_B}" provides a podIdentity role for grant "team-b", whose path here is "chaining": set the same path in ecrpull:grants and in that stack's ecrpull:workloads.`,
                ],
            ],
            [
                "clusterArn not an EKS ARN",
                (s: Loose) => (s.clusters[0].clusterArn = "apps-prod-euw1"),
                ['[clusters[0].clusterArn] "apps-prod-euw1" is not an EKS cluster ARN: use "arn:aws:eks:<region>:<account>:cluster/<name>".'],
            ],
            [
                "cluster role on path federation",
                (s: Loose) => (s.clusters[0].clusterRoles = [{ grant: "team-a", path: "federation", roleArn: CHAIN_ROLE_A }]),
                ['[clusters[0].clusterRoles[0].path] "federation" is not one of "chaining", "podIdentity".'],
            ],
            [
                "cluster role listed twice for one grant and path",
                (s: Loose) =>
                    (s.clusters[0].clusterRoles = [
                        { grant: "team-a", path: "chaining", roleArn: CHAIN_ROLE_A },
                        { grant: "team-a", path: "chaining", roleArn: "arn:aws:iam::444455556666:role/other" },
                    ]),
                ['[clusters[0].clusterRoles[1]] "team-a/chaining" is the same grant and path as [clusters[0].clusterRoles[0]]: list each grant and path once.'],
            ],
        ] as [string, (s: Loose) => unknown, string[]][]
    ).map(([name, mutate, problems]): Case => ({ name: `validateRegistrySpec: ${name}`, subject: REGISTRY_SUBJECT, run: () => runRegistry(mutate), problems })),

    // -- validateWorkloads
    ...(
        [
            ["namespace CI", (w: Loose[]) => void (w[0].namespace = "CI"), [`ecrpull:workloads[0].namespace "CI" ${NAMESPACE}`]],
            [
                "service account with a space",
                (w: Loose[]) => void (w[1].serviceAccount = "release deployer"),
                [`ecrpull:workloads[1].serviceAccount "release deployer" ${SERVICE_ACCOUNT}`],
            ],
            [
                "the same service account twice",
                (w: Loose[]) => void w.push({ namespace: "ci", serviceAccount: "image-builder", grant: "payments" }),
                ['ecrpull:workloads[2] "ci/image-builder" is the same service account as ecrpull:workloads[0]: list each service account once.'],
            ],
            ["grant with _", (w: Loose[]) => void (w[0].grant = "ci_builders"), [`ecrpull:workloads[0].grant "ci_builders" ${GRANT}`]],
            [
                "grant too long",
                (w: Loose[]) => void (w[1].grant = long(60, "g")),
                [
                    `ecrpull:workloads[1].grant "${long(60, "g")}" makes the role name "ecr-pull-${long(60, "g")}" 69 characters long; IAM allows 64: use a grant name of at most 55 characters.`,
                ],
            ],
            [
                "key misspelt as grants",
                (w: Loose[]) => void (w[0] = { namespace: "ci", serviceAccount: "image-builder", grants: "ci-builders" }),
                [
                    "ecrpull:workloads[0].grants is not a known setting: use one of namespace, serviceAccount, grant, path, shards, existingServiceAccount.",
                    `ecrpull:workloads[0].grant (missing) ${GRANT}`,
                ],
            ],
            [
                "unknown path",
                (w: Loose[]) => void (w[0].path = "irsa"),
                ['ecrpull:workloads[0].path "irsa" is not one of "federation", "chaining", "podIdentity".'],
            ],
            [
                "path differing within one grant",
                (w: Loose[]) => void w.push({ namespace: "ci", serviceAccount: "image-scanner", grant: "ci-builders", path: "chaining" }),
                [
                    'ecrpull:workloads[2].path "chaining" differs from the path "federation" of ecrpull:workloads[0], which has the same grant "ci-builders": all workloads of a grant use its one path.',
                ],
            ],
            [
                "grant of 48 characters on path chaining",
                (w: Loose[]) => void Object.assign(w[1], { grant: long(48, "g"), path: "chaining" }),
                [
                    `ecrpull:workloads[1].grant "${long(48, "g")}" is too long for path "chaining": its cluster-account role name would be 65 characters, and IAM allows 64; use a grant name of at most 47 characters.`,
                ],
            ],
            [
                "workloads not a list",
                () => ({ namespace: "ci" }),
                ['ecrpull:workloads {"namespace":"ci"} is not a list: use a YAML list of { namespace, serviceAccount, grant, path } workloads.'],
            ],
        ] as [string, (w: Loose[]) => unknown, string[]][]
    ).map(([name, mutate, problems]): Case => ({ name: `validateWorkloads: ${name}`, subject: EKS_SUBJECT, run: () => runWorkloads(mutate), problems })),

    // -- readEksStackConfig
    ...(
        [
            [
                "registryAccountId missing",
                (v: Loose) => delete v.registryAccountId,
                ["ecrpull:registryAccountId is missing: set it to the 12-digit ID of the account that holds the ECR repositories."],
            ],
            ["registryAccountId as a number", (v: Loose) => (v.registryAccountId = 111122223333), [`ecrpull:registryAccountId 111122223333 ${ACCOUNT}`]],
            [
                "cluster missing",
                (v: Loose) => delete v.cluster,
                ["ecrpull:cluster is missing: set { name, create } (and nodeRoleArns for an existing cluster)."],
            ],
            [
                "cluster not a mapping",
                (v: Loose) => (v.cluster = "apps-prod-euw1"),
                ['ecrpull:cluster "apps-prod-euw1" is not an object: use a YAML mapping with name, create and nodeRoleArns.'],
            ],
            [
                "existing cluster without nodeRoleArns",
                (v: Loose) => (v.cluster = { name: "apps-prod-euw1", create: false }),
                [
                    "ecrpull:cluster.nodeRoleArns is missing: an existing cluster's node roles cannot be read from EKS: list the role ARN of each node group (or [] if its nodes never pull from the registry).",
                ],
            ],
            [
                "created cluster with nodeRoleArns",
                (v: Loose) => (v.cluster.nodeRoleArns = ["arn:aws:iam::444455556666:role/nodes"]),
                ["ecrpull:cluster.nodeRoleArns is set, but a created cluster gets its own node role: remove it, or set cluster.create to false."],
            ],
            [
                "existing cluster with a node role listed twice",
                (v: Loose) =>
                    (v.cluster = { name: "apps", create: false, nodeRoleArns: ["arn:aws:iam::444455556666:role/n", "arn:aws:iam::444455556666:role/n"] }),
                [
                    'ecrpull:cluster.nodeRoleArns[1] "arn:aws:iam::444455556666:role/n" is the same node role as ecrpull:cluster.nodeRoleArns[0]: list each node role once.',
                ],
            ],
            [
                "existing cluster with a bad node role",
                (v: Loose) => (v.cluster = { name: "apps", create: false, nodeRoleArns: ["role/n"] }),
                [`ecrpull:cluster.nodeRoleArns[0] "role/n" ${ROLE_ARN}`],
            ],
            ["cluster.create as text", (v: Loose) => (v.cluster.create = "yes"), ['ecrpull:cluster.create "yes" is not a boolean: use true or false.']],
            [
                "cluster.name with a space",
                (v: Loose) => (v.cluster.name = "apps prod"),
                ["ecrpull:cluster.name \"apps prod\" is not an EKS cluster name: use 1 to 100 letters, digits, '-' and '_', starting with a letter or digit."],
            ],
            [
                "cluster.version as a number",
                (v: Loose) => (v.cluster.version = 1.31),
                ['ecrpull:cluster.version 1.31 is a number, and YAML reads 1.30 as 1.3: quote it (e.g. version: "1.31").'],
            ],
            [
                "minSize larger than maxSize",
                (v: Loose) => {
                    delete v.cluster.desiredCapacity;
                    Object.assign(v.cluster, { minSize: 7, maxSize: 6 });
                },
                ["ecrpull:cluster.minSize 7 is larger than ecrpull:cluster.maxSize 6: use minSize <= desiredCapacity <= maxSize."],
            ],
            ["maxSize above 450", (v: Loose) => (v.cluster.maxSize = 451), ["ecrpull:cluster.maxSize 451 is not a whole number from 0 to 450."]],
            [
                "bad subnet ID",
                (v: Loose) => (v.cluster.subnetIds = ["subnet-12345678", "subnet-xyz"]),
                ['ecrpull:cluster.subnetIds[1] "subnet-xyz" is not a subnet ID: use "subnet-" and 8 or 17 hex digits.'],
            ],
            [
                "unknown cluster key nodeRole",
                (v: Loose) => (v.cluster.nodeRole = "x"),
                [
                    "ecrpull:cluster.nodeRole is not a known setting: use one of name, create, nodeRoleArns, oidcProvider, podIdentityAgent, version, instanceType, desiredCapacity, minSize, maxSize, vpcId, subnetIds.",
                ],
            ],
            [
                "cluster.oidcProvider on a created cluster",
                (v: Loose) => (v.cluster.oidcProvider = "create"),
                [
                    "ecrpull:cluster.oidcProvider is set, but applies only to an existing cluster: a created cluster gets its own IAM OIDC provider and the Pod Identity agent. Remove it, or set cluster.create to false.",
                ],
            ],
            [
                "cluster.podIdentityAgent maybe",
                (v: Loose) => (v.cluster = { name: "apps", create: false, nodeRoleArns: [], podIdentityAgent: "maybe" }),
                ['ecrpull:cluster.podIdentityAgent "maybe" is not one of "present", "install".'],
            ],
            [
                "cluster.oidcProvider in upper case",
                (v: Loose) => (v.cluster = { name: "apps", create: false, nodeRoleArns: [], oidcProvider: "Create" }),
                ['ecrpull:cluster.oidcProvider "Create" is not one of "existing", "create".'],
            ],
            ["oidcThumbprint sometimes", (v: Loose) => (v.oidcThumbprint = "sometimes"), ['ecrpull:oidcThumbprint "sometimes" is not one of "fetch", "omit".']],
            ["createNamespaces as text", (v: Loose) => (v.createNamespaces = "true"), ['ecrpull:createNamespaces "true" is not a boolean: use true or false.']],
            [
                "unknown top-level key workload",
                (v: Loose) => (v.workload = v.workloads),
                [`ecrpull:workload is not a setting of the EKS program: use one of ${EKS_KEYS}.`],
            ],
        ] as [string, (v: Loose) => unknown, string[]][]
    ).map(([name, mutate, problems]): Case => ({ name: `readEksStackConfig: ${name}`, subject: EKS_SUBJECT, run: () => runEksConfig(mutate), problems })),

    // -- readEcrStackConfig
    ...(
        [
            [
                "clusterStacks missing",
                (v: Loose) => delete v.clusterStacks,
                [
                    'ecrpull:clusterStacks is missing: list the EKS stacks to serve, e.g. ["acme/ecrpull/eks"] ([] when every grant has an organization scope, which reads no cluster stack).',
                ],
            ],
            [
                "clusterStacks not a list",
                (v: Loose) => (v.clusterStacks = "acme/ecrpull/eks"),
                ['ecrpull:clusterStacks "acme/ecrpull/eks" is not a list: use a YAML list of stack names.'],
            ],
            [
                "stack name acme//eks",
                (v: Loose) => (v.clusterStacks = ["acme//eks"]),
                ['ecrpull:clusterStacks[0] "acme//eks" is not a Pulumi stack name: use "<organization>/<project>/<stack>" (e.g. "acme/ecrpull/eks").'],
            ],
            [
                "the same stack twice",
                (v: Loose) => v.clusterStacks.push("acme/ecrpull/eks"),
                ['ecrpull:clusterStacks[1] "acme/ecrpull/eks" is the same stack as ecrpull:clusterStacks[0]: list each stack once.'],
            ],
            [
                "repositories missing",
                (v: Loose) => delete v.repositories,
                ['ecrpull:repositories is missing: list the repositories to create, e.g. [{ name: "team-a/api" }].'],
            ],
            [
                "top-level key misspelt as repositorys",
                (v: Loose) => {
                    v.repositorys = v.repositories;
                    delete v.repositories;
                },
                [
                    "ecrpull:repositorys is not a setting of the ECR program: use one of program, clusterStacks, repositories, grants, limits, nodePullScope, tags, adopt, replicaRegions.",
                    'ecrpull:repositories is missing: list the repositories to create, e.g. [{ name: "team-a/api" }].',
                ],
            ],
            [
                "tag value a number",
                (v: Loose) => (v.tags.team = 5),
                ['ecrpull:tags.team 5 is not a string: tag values are strings, so quote it (e.g. team: "5").'],
            ],
            [
                "tags not a mapping",
                (v: Loose) => (v.tags = ["owner=platform"]),
                ['ecrpull:tags ["owner=platform"] is not an object: use a YAML mapping with tag keys and string values.'],
            ],
        ] as [string, (v: Loose) => unknown, string[]][]
    ).map(([name, mutate, problems]): Case => ({ name: `readEcrStackConfig: ${name}`, subject: ECR_SUBJECT, run: () => runEcrConfig(mutate), problems })),

    // -- readEksStackOutputs
    ...(
        [
            [
                "oidcIssuerUrl missing",
                (v: Loose) => delete v.oidcIssuerUrl,
                [
                    `${OUT} oidcIssuerUrl is missing: run \`pulumi up\` on stack "${EKS_STACK}" with this package's EKS program first; it exports ${OUTPUT_KEYS}.`,
                ],
            ],
            [
                "contractVersion 1 (an earlier release)",
                (v: Loose) => (v.contractVersion = 1),
                [
                    `${OUT} contractVersion 1 is older than the version this program reads (2): run \`pulumi up\` on stack "acme/ecrpull/eks" with this release of ecrpull first, so that both stacks speak the same contract.`,
                ],
            ],
            [
                "contractVersion as text",
                (v: Loose) => (v.contractVersion = "2"),
                [`${OUT} contractVersion "2" is not the version this program reads (2): deploy both stacks from the same release of this package.`],
            ],
            [
                "workloads not a list",
                (v: Loose) => (v.workloads = {}),
                [`${OUT} workloads {} is not a list of { namespace, serviceAccount, grant, path, roleArn, clusterRoleArn }.`],
            ],
            [
                "workload roleArn not a string",
                (v: Loose) => (v.workloads[0].roleArn = 7),
                [`${OUT} workloads[0].roleArn 7 is not a string: expected { namespace, serviceAccount, grant, path, roleArn, clusterRoleArn }.`],
            ],
            [
                "thumbprint not hex",
                (v: Loose) => (v.oidcThumbprint = "zz"),
                [`${OUT} oidcThumbprint "zz" is not a thumbprint: expected 40 lowercase hex digits or "".`],
            ],
            ["issuer with trailing slash", (v: Loose) => (v.oidcIssuerUrl = `${ISSUER_A}/`), [`${OUT} oidcIssuerUrl "${ISSUER_A}/" ${ISSUER_BAD}`]],
            [
                "region not a region",
                (v: Loose) => (v.region = "Ireland"),
                [`${OUT} region "Ireland" is not an AWS region: use a region code such as "eu-west-1".`],
            ],
            ["nodeRoleArns not a list", (v: Loose) => (v.nodeRoleArns = null), [`${OUT} nodeRoleArns null is not a list of role ARNs.`]],
            [
                "clusterArn not an EKS ARN",
                (v: Loose) => (v.clusterArn = "apps-prod-euw1"),
                [`${OUT} clusterArn "apps-prod-euw1" is not an EKS cluster ARN: expected "arn:aws:eks:<region>:<account>:cluster/<name>".`],
            ],
            [
                "workload path not a string",
                (v: Loose) => (v.workloads[0].path = null),
                [`${OUT} workloads[0].path null is not a string: expected { namespace, serviceAccount, grant, path, roleArn, clusterRoleArn }.`],
            ],
            [
                "two workloads of one chained grant naming different cluster roles",
                (v: Loose) =>
                    v.workloads.push(
                        chainedExport("deployer", "arn:aws:iam::444455556666:role/ecr-chain-payments-aaaaaa"),
                        chainedExport("migrator", "arn:aws:iam::444455556666:role/ecr-chain-payments-bbbbbb"),
                    ),
                [
                    `${OUT} workloads[2].clusterRoleArn "arn:aws:iam::444455556666:role/ecr-chain-payments-bbbbbb" differs from "arn:aws:iam::444455556666:role/ecr-chain-payments-aaaaaa" of workloads[1], which has the same grant "payments": a cluster has one chaining role per grant. Redeploy that stack with this release.`,
                ],
            ],
        ] as [string, (v: Loose) => unknown, string[]][]
    ).map(([name, mutate, problems]): Case => ({ name: `readEksStackOutputs: ${name}`, subject: ECR_SUBJECT, run: () => runOutputs(mutate), problems })),

    // -- checkWorkloadsAgainstGrants
    ...(
        [
            [
                "unknown grant",
                { grant: "ci", roleArn: roleArnOf("ci") },
                [
                    `stack "${EKS_STACK}" output workloads[0] (ci/image-builder) uses grant "ci", which this registry does not have: add it to ecrpull:grants, or use one of "ci-builders", "payments" in that stack's ecrpull:workloads.`,
                ],
            ],
            [
                "grant does not list the cluster",
                { namespace: "payments", serviceAccount: "release-deployer", grant: "payments", roleArn: roleArnOf("payments") },
                [
                    `stack "${EKS_STACK}" output workloads[0] (payments/release-deployer) uses grant "payments", which does not list cluster "${EKS_STACK}": add it to that grant's clusters.`,
                ],
            ],
            [
                "grant does not admit the service account",
                { serviceAccount: "image-scanner" },
                [
                    `stack "${EKS_STACK}" output workloads[0] (ci/image-scanner) uses grant "ci-builders", which does not admit service account ci/image-scanner: add { namespace: ci, name: image-scanner } to that grant's serviceAccounts.`,
                ],
            ],
            [
                "roleArn in another registry account",
                { roleArn: "arn:aws:iam::999988887777:role/ecr-pull-ci-builders" },
                [
                    `stack "${EKS_STACK}" output workloads[0] (ci/image-builder) expects the pull role "arn:aws:iam::999988887777:role/ecr-pull-ci-builders", but this registry creates "arn:aws:iam::111122223333:role/ecr-pull-ci-builders" for that cluster: set ecrpull:registryAccountId in stack "${EKS_STACK}" to this registry's account.`,
                ],
            ],
            [
                "workload path differs from its grant's path",
                { path: "chaining", clusterRoleArn: "arn:aws:iam::444455556666:role/ecr-chain-ci-builders-aaaaaa" },
                [
                    `stack "${EKS_STACK}" output workloads[0] (ci/image-builder) reaches grant "ci-builders" by path "chaining", but that grant's path is "federation": set the same path in ecrpull:grants and in that stack's ecrpull:workloads.`,
                ],
            ],
        ] as [string, Partial<WorkloadExport>, string[]][]
    ).map(([name, workload, problems]): Case => ({
        name: `checkWorkloadsAgainstGrants: ${name}`,
        subject: ECR_SUBJECT,
        run: () => runCrossCheck(workload),
        problems,
    })),
];

// ---- Tests --------------------------------------------------------------------------

describe("validation", () => {
    describe("the valid inputs the table starts from", () => {
        it("validateRegistrySpec accepts the base spec", () => expect(() => runRegistry(() => undefined)).to.not.throw());
        it("validateWorkloads accepts the base workloads", () => expect(() => runWorkloads(() => undefined)).to.not.throw());
        it("readEksStackConfig accepts the base config and reads it", () => {
            const values = baseEksConfig();
            const config = readEksStackConfig(fakeConfig(values), EKS_STACK);
            expect(config.registryAccountId).to.equal("111122223333");
            expect(config.cluster.create).to.equal(true);
            expect(config.cluster.nodeRoleArns).to.deep.equal([]);
            expect(config.oidcThumbprint).to.equal("fetch");
            expect(config.workloads).to.deep.equal(baseWorkloads());
        });
        it("readEksStackConfig defaults oidcThumbprint, createNamespaces and workloads", () => {
            const config = readEksStackConfig(
                fakeConfig({ registryAccountId: "111122223333", cluster: { name: "apps", create: false, nodeRoleArns: [] } }),
                EKS_STACK,
            );
            expect(config.oidcThumbprint).to.equal("fetch");
            expect(config.createNamespaces).to.equal(false);
            expect(config.workloads).to.deep.equal([]);
            expect(config.cluster.create).to.equal(false);
        });
        it("readEcrStackConfig accepts the base config and reads it", () => {
            const problems = new Problems(configKey("ecrpull"));
            const config = readEcrStackConfig(fakeConfig(baseEcrConfig()), problems);
            expect(problems.list).to.deep.equal([]);
            expect(config.clusterStacks).to.deep.equal(["acme/ecrpull/eks"]);
            expect(config.tags).to.deep.equal({ owner: "platform-team" });
        });
        it("readEksStackOutputs accepts the base outputs and builds the cluster", () => {
            const read = runOutputs((v) => (v.nodeRoleArns = ["arn:aws:iam::444455556666:role/z", "arn:aws:iam::444455556666:role/a"]));
            expect(read!.cluster).to.deep.equal({
                name: EKS_STACK,
                accountId: "444455556666",
                issuerUrl: ISSUER_A,
                thumbprint: THUMB,
                nodeRoleArns: ["arn:aws:iam::444455556666:role/a", "arn:aws:iam::444455556666:role/z"],
                clusterArn: CLUSTER_ARN,
                clusterRoles: [],
            });
        });
        it("readEksStackOutputs accepts a missing or empty thumbprint as empty", () => {
            expect(runOutputs((v) => delete v.oidcThumbprint)!.cluster.thumbprint).to.equal("");
            expect(runOutputs((v) => (v.oidcThumbprint = ""))!.cluster.thumbprint).to.equal("");
        });
        it("checkWorkloadsAgainstGrants accepts a matching workload", () => expect(() => runCrossCheck({})).to.not.throw());

        it("validateRegistrySpec accepts one grant per path when every cluster serves its grants", () => {
            expect(() =>
                runRegistry((s) => {
                    s.clusters[0].clusterArn = CLUSTER_ARN;
                    s.clusters[0].clusterRoles = [{ grant: "team-a", path: "chaining", roleArn: CHAIN_ROLE_A }];
                    s.clusters[1].clusterArn = "arn:aws:eks:us-east-1:777788889999:cluster/apps-b";
                    s.clusters[1].clusterRoles = [{ grant: "team-b", path: "podIdentity", roleArn: PODID_ROLE_B }];
                    s.grants[0].path = "chaining";
                    s.grants[1].path = "podIdentity";
                    s.grants.push({
                        name: "shared",
                        path: "federation",
                        clusters: [CLUSTER_A, CLUSTER_B],
                        serviceAccounts: [{ namespace: "ci", name: "builder" }],
                        repositories: ["shared/base"],
                    });
                }),
            ).to.not.throw();
        });

        it("validateWorkloads accepts every path, and a 47-character grant on chaining and podIdentity", () => {
            expect(() =>
                runWorkloads((w) => {
                    w.push({ namespace: "ml", serviceAccount: "trainer", grant: long(47, "g"), path: "podIdentity" });
                    w.push({ namespace: "ml", serviceAccount: "scorer", grant: long(47, "g"), path: "podIdentity" });
                    w.push({ namespace: "batch", serviceAccount: "runner", grant: long(47, "h"), path: "chaining" });
                    w[0].path = "federation";
                }),
            ).to.not.throw();
        });

        it("readEksStackConfig defaults oidcProvider and podIdentityAgent, and reads them for an existing cluster", () => {
            const created = readEksStackConfig(fakeConfig(baseEksConfig()), EKS_STACK);
            expect([created.cluster.oidcProvider, created.cluster.podIdentityAgent]).to.deep.equal(["existing", "present"]);
            const adopted = readEksStackConfig(
                fakeConfig({
                    ...baseEksConfig(),
                    cluster: { name: "apps", create: false, nodeRoleArns: [], oidcProvider: "create", podIdentityAgent: "install" },
                }),
                EKS_STACK,
            );
            expect([adopted.cluster.oidcProvider, adopted.cluster.podIdentityAgent]).to.deep.equal(["create", "install"]);
        });

        it("readEksStackOutputs builds one cluster role per chained or Pod Identity grant, none for federation", () => {
            const podRole = "arn:aws:iam::444455556666:role/ecr-podid-ml-aaaaaa";
            const chainRole = "arn:aws:iam::444455556666:role/ecr-chain-payments-aaaaaa";
            const read = runOutputs((v) =>
                v.workloads.push(
                    {
                        namespace: "ml",
                        serviceAccount: "trainer",
                        grant: "ml",
                        path: "podIdentity",
                        roleArn: "arn:aws:iam::111122223333:role/ecr-pull-ml",
                        clusterRoleArn: podRole,
                    },
                    chainedExport("deployer", chainRole),
                    chainedExport("migrator", chainRole),
                ),
            );
            expect(read!.cluster.clusterRoles).to.deep.equal([
                { grant: "ml", path: "podIdentity", roleArn: podRole },
                { grant: "payments", path: "chaining", roleArn: chainRole },
            ]);
            expect(read!.workloads).to.have.lengthOf(4);
        });

        it("checkWorkloadsAgainstGrants accepts a chained workload of a chained grant", () => {
            const problems = new Problems((path) => path);
            const grants = baseGrants().map((g) => (g.name === "ci-builders" ? { ...g, path: "chaining" } : g));
            checkWorkloadsAgainstGrants(
                [
                    {
                        cluster: { name: EKS_STACK, accountId: "444455556666", issuerUrl: ISSUER_A, nodeRoleArns: [] },
                        region: "eu-west-1",
                        clusterName: "apps-prod-euw1",
                        workloads: [
                            {
                                namespace: "ci",
                                serviceAccount: "image-builder",
                                grant: "ci-builders",
                                path: "chaining",
                                roleArn: roleArnOf("ci-builders"),
                                clusterRoleArn: CHAIN_ROLE_A,
                            },
                        ],
                    },
                ],
                grants,
                (grant) => roleArnOf(grant.name),
                problems,
            );
            expect(problems.list).to.deep.equal([]);
        });
    });

    describe("invalid inputs: exact messages", () => {
        it("the table has at least 40 distinct cases", () => {
            expect(cases.length).to.be.at.least(40);
            expect(new Set(cases.map((c) => c.name)).size).to.equal(cases.length);
            expect(new Set(cases.map((c) => JSON.stringify(c.problems))).size).to.equal(cases.length);
        });

        for (const c of cases) {
            it(c.name, () => {
                const error = validationErrorOf(c.run);
                expect(error.subject).to.equal(c.subject);
                expect(error.problems).to.deep.equal(c.problems);
                expect(error.message).to.equal(
                    c.problems.length === 1
                        ? `${c.subject}: ${c.problems[0]}`
                        : `${c.subject}: ${c.problems.length} problems:\n${c.problems.map((p) => `  - ${p}`).join("\n")}`,
                );
                expect(error.name).to.equal("ValidationError");
            });
        }

        it('no message says "undefined" or "[object Object]", and each starts with the key', () => {
            for (const c of cases) {
                const error = validationErrorOf(c.run);
                for (const problem of error.problems) {
                    expect(problem, c.name).to.not.include("undefined");
                    expect(problem, c.name).to.not.include("[object Object]");
                    expect(problem, c.name).to.match(/^(\[[^\]\s]+\]|ecrpull:[A-Za-z]|stack "[^"]+" output [a-zA-Z])/);
                }
            }
        });
    });

    describe("every problem at once", () => {
        it("an EKS config with six problems reports all six", () => {
            const values = {
                registryAccountId: "1111",
                cluster: { name: "apps", create: false },
                oidcThumbprint: "sometimes",
                createNamespaces: "yes",
                workloads: [{ namespace: "CI", serviceAccount: "image-builder", grant: "ci-builders" }],
                workload: [],
            };
            const error = validationErrorOf(() => readEksStackConfig(fakeConfig(values), EKS_STACK));
            expect(error.problems).to.have.lengthOf(6);
            expect(error.problems).to.deep.equal([
                `ecrpull:workload is not a setting of the EKS program: use one of ${EKS_KEYS}.`,
                `ecrpull:registryAccountId "1111" ${ACCOUNT}`,
                "ecrpull:cluster.nodeRoleArns is missing: an existing cluster's node roles cannot be read from EKS: list the role ARN of each node group (or [] if its nodes never pull from the registry).",
                'ecrpull:oidcThumbprint "sometimes" is not one of "fetch", "omit".',
                'ecrpull:createNamespaces "yes" is not a boolean: use true or false.',
                `ecrpull:workloads[0].namespace "CI" ${NAMESPACE}`,
            ]);
            expect(error.message.split("\n")[0]).to.equal(`${EKS_SUBJECT}: 6 problems:`);
            expect(error.message.split("\n")).to.have.lengthOf(7);
        });

        it("a registry spec with problems in clusters, repositories and grants reports all of them", () => {
            const error = validationErrorOf(() =>
                runRegistry((s) => {
                    s.clusters[0].accountId = 1;
                    s.repositories[0].keepLastImages = 0;
                    s.repositories.push({ name: "Bad" });
                    s.grants[1].name = "Team-B";
                    s.grants[1].serviceAccounts[0].namespace = "Team_B";
                }),
            );
            expect(error.problems).to.deep.equal([
                `[clusters[0].accountId] 1 ${ACCOUNT}`,
                "[repositories[0].keepLastImages] 0 is not a whole number from 1 to 10000.",
                `[repositories[3].name] "Bad" ${REPOSITORY}`,
                `[grants[1].name] "Team-B" ${GRANT}`,
                `[grants[1].serviceAccounts[0].namespace] "Team_B" ${NAMESPACE}`,
            ]);
            expect(error.message.startsWith(`${REGISTRY_SUBJECT}: 5 problems:\n  - [clusters[0].accountId] 1 `)).to.equal(true);
        });

        it("an EKS stack missing several outputs names every missing one", () => {
            const error = validationErrorOf(() =>
                runOutputs((v) => {
                    delete v.accountId;
                    delete v.workloads;
                }),
            );
            expect(error.problems.map((p) => p.split(" is missing")[0])).to.deep.equal([`${OUT} accountId`, `${OUT} workloads`]);
        });
    });

    describe("regressions: holes found in review, now closed", () => {
        // Regression, fixed: checkUnique is given the list *filtered* to well-formed items, so after a
        // malformed entry its indexes are wrong. Here it reports
        // `[repositories[3]] "shared/base" is the same repository as [repositories[2]]`, pointing at
        // team-b/worker; the duplicate is repositories[4] of repositories[3]. Same in
        // grants, clusters, grant clusters/repositories/serviceAccounts, clusterStacks
        // and workloads.
        it("a duplicate after a malformed entry is reported at its real index", () => {
            const error = validationErrorOf(() => runRegistry((s) => (s.repositories = ["team-c/api", ...s.repositories, { name: "shared/base" }])));
            expect(error.problems).to.deep.equal([
                '[repositories[0]] "team-c/api" is not an object: use a YAML mapping with name and optional settings.',
                '[repositories[4]] "shared/base" is the same repository as [repositories[3]]: list each repository once.',
            ]);
            const refs = validationErrorOf(() => runRegistry((s) => (s.grants[0].clusters = [7, CLUSTER_A, CLUSTER_A])));
            expect(refs.problems).to.deep.equal([
                `[grants[0].clusters[0]] 7 is not a known cluster: ${KNOWN_CLUSTERS}`,
                `[grants[0].clusters[2]] "${CLUSTER_A}" is the same cluster as [grants[0].clusters[1]]: list each cluster once.`,
            ]);
        });

        // Regression, fixed: checkIssuerUrl validates `new URL(value)` but the code then uses the raw
        // value, and the WHATWG parser forgives a lot: it strips leading/trailing white
        // space and tabs/newlines anywhere, adds the missing "//" of "https:host", and
        // reports an empty "?" or "#" as no query/fragment. All of these pass today and
        // end up verbatim in the OIDC provider URL, its ARN and the trust condition keys
        // (e.g. "https:oidc..." is not stripped by issuerHostPath, giving the key
        // "https:oidc.example.com/id/X:sub"). IAM also says the URL "should not contain a
        // port number" (CreateOpenIDConnectProvider). components/cluster/thumbprint.ts
        // parseIssuerUrl already refuses white space, "?", "#" and a password.
        it("refuses issuer URLs that only the forgiving URL parser accepts", () => {
            const bad = [
                ` ${ISSUER_A}`,
                `${ISSUER_A} `,
                "https://oidc.eks.eu-west-1.amazonaws.com/id/AAAA\n1111",
                "https:oidc.eks.eu-west-1.amazonaws.com/id/AAAA1111",
                `${ISSUER_A}?`,
                `${ISSUER_A}#`,
                "https://:secret@oidc.eks.eu-west-1.amazonaws.com/id/AAAA1111",
                "https://oidc.eks.eu-west-1.amazonaws.com:8443/id/AAAA1111",
            ];
            for (const url of bad) {
                const error = validationErrorOf(() => runRegistry((s) => (s.clusters[0].issuerUrl = url)));
                expect(error.problems, JSON.stringify(url)).to.deep.equal([`[clusters[0].issuerUrl] ${JSON.stringify(url)} ${ISSUER_BAD}`]);
            }
        });

        // Regression, fixed: a malformed accountId string is reported, and then every node role is
        // reported again as "not in the cluster's account 44445555666" (the mismatch check
        // runs against the bad value). The number case does not cascade; the string case
        // should not either: one mistake, one message.
        it("a bad cluster accountId is reported once, not again for every node role", () => {
            const error = validationErrorOf(() => runRegistry((s) => (s.clusters[0].accountId = "44445555666")));
            expect(error.problems).to.deep.equal([`[clusters[0].accountId] "44445555666" ${ACCOUNT}`]);
        });

        // Regression, fixed: the minSize/maxSize message tells the user "use minSize <= desiredCapacity
        // <= maxSize", but desiredCapacity is never compared: desiredCapacity 10 with
        // maxSize 6 (or 1 with minSize 2) passes and fails later in the EKS API.
        it("desiredCapacity outside minSize..maxSize is refused", () => {
            const above = validationErrorOf(() => runEksConfig((v) => (v.cluster.desiredCapacity = 10)));
            expect(above.problems).to.have.lengthOf(1);
            expect(above.problems[0]).to.match(/^ecrpull:cluster\.desiredCapacity 10 .*maxSize 6/);
            const below = validationErrorOf(() => runEksConfig((v) => (v.cluster.desiredCapacity = 1)));
            expect(below.problems).to.have.lengthOf(1);
            expect(below.problems[0]).to.match(/^ecrpull:cluster\.desiredCapacity 1 .*minSize 2/);
        });

        // Regression, fixed: the subnet check's message says "8 or 17 hex digits" (true of real subnet
        // IDs) but its regex is {8,17}, so "subnet-0123456789" (10 digits) passes.
        it("a subnet ID with 10 hex digits is refused, as the message says", () => {
            const error = validationErrorOf(() => runEksConfig((v) => (v.cluster.subnetIds = ["subnet-0123456789", "subnet-0123abcd"])));
            expect(error.problems).to.deep.equal([
                'ecrpull:cluster.subnetIds[0] "subnet-0123456789" is not a subnet ID: use "subnet-" and 8 or 17 hex digits.',
            ]);
        });

        // Regression (message), fixed: a workload export that is not an object (e.g. "x") gives four
        // messages "workloads[0].namespace (missing) is not a string", ... which never show
        // the bad entry. One message naming workloads[0] and its value is clearer.
        it("a workload export that is not an object is reported once, with its value", () => {
            const error = validationErrorOf(() => runOutputs((v) => (v.workloads = ["x"])));
            expect(error.problems).to.have.lengthOf(1);
            expect(error.problems[0]).to.match(/^stack "acme\/ecrpull\/eks" output workloads\[0\] "x" is not an object/);
        });

        // Regression (message), fixed: a required key that is absent reads "[grants[0].repositories]
        // (missing) is not a list: use a YAML list of repository names." The same file
        // has Problems.missing() for this; "is missing: ..." says what happened directly
        // ("(missing) is not a list" reads as if a list were given in the wrong form).
        it("a grant without repositories says the key is missing", () => {
            const error = validationErrorOf(() => runRegistry((s) => delete s.grants[0].repositories));
            expect(error.problems).to.have.lengthOf(1);
            expect(error.problems[0]).to.match(/^\[grants\[0\]\.repositories\] is missing: /);
        });

        // Regression (message), fixed: this once read "ecrpull:tags.team 5 is not a
        // string: tag values are strings.", the rule without the remedy; a YAML number must be quoted, as the
        // cluster.version message says (quote it, e.g. "5").
        it("a numeric tag value says to quote it", () => {
            const error = validationErrorOf(() => runEcrConfig((v) => (v.tags.team = 5)));
            expect(error.problems).to.have.lengthOf(1);
            expect(error.problems[0]).to.match(/^ecrpull:tags\.team 5 is not a string: .*quote/);
        });
    });

    describe("access paths: holes found while testing them", () => {
        // Regression, fixed: validateClusters checks that node roles live in the cluster's account, but not
        // cluster roles (clusterRoles[].roleArn), though docs/aws-facts.md says the chaining IRSA role and
        // the Pod Identity association role both live in the cluster's account. Today a role of
        // any account is accepted, and the grant's pull role then trusts that account's role
        // (chainingTrustPolicy / podIdentityTargetTrustPolicy name its account root).
        it("a cluster role in another account than the cluster's is refused", () => {
            const error = validationErrorOf(() =>
                runRegistry((s) => {
                    s.grants[0].path = "chaining";
                    s.clusters[0].clusterRoles = [{ grant: "team-a", path: "chaining", roleArn: "arn:aws:iam::999988887777:role/ecr-chain-team-a-aaaaaa" }];
                }),
            );
            expect(error.problems).to.have.lengthOf(1);
            expect(error.problems[0]).to.match(
                /^\[clusters\[0\]\.clusterRoles\[0\]\.roleArn\] "arn:aws:iam::999988887777:role\/ecr-chain-team-a-aaaaaa" .*444455556666/,
            );
        });

        // Regression, fixed: readEksStackOutputs checks only that a workload's path and clusterRoleArn are
        // strings. A chained workload with clusterRoleArn "" (or a path that is no access path)
        // passes, and the ECR stack then reports it as
        //   ecrpull:clusterStacks[0].clusterRoles[0].roleArn "" is not an IAM role ARN: ...
        //   ecrpull:clusterStacks[0].clusterRoles[0].path "bogus" is not one of "chaining", "podIdentity".
        // naming a config key that does not exist (clusterStacks[0] is a stack name) and neither
        // the stack output nor the workload. It should be reported at the output, like the other
        // output checks.
        it("a chained workload export without a cluster role, or with an unknown path, is reported at that output", () => {
            const empty = validationErrorOf(() => runOutputs((v) => v.workloads.push(chainedExport("deployer", ""))));
            expect(empty.problems).to.have.lengthOf(1);
            expect(empty.problems[0]).to.match(/^stack "acme\/ecrpull\/eks" output workloads\[1\]\.clusterRoleArn "" /);
            const bogus = validationErrorOf(() => runOutputs((v) => (v.workloads[0].path = "bogus")));
            expect(bogus.problems).to.have.lengthOf(1);
            expect(bogus.problems[0]).to.match(/^stack "acme\/ecrpull\/eks" output workloads\[0\]\.path "bogus" /);
        });
    });
});
