import { expect } from "chai";

import { ClusterIdentity, ClusterPlan, clusterRoleTrustPolicy, planClusterAccess, ROLE_ARN_ANNOTATION } from "../components/cluster/plan";
import { AWS_CONFIG_KEY, CHAINED_PROFILE, CHAINED_TOKEN_FILE } from "../components/cluster/pod-settings";
import { WorkloadSpec } from "../components/cluster/spec";
import { clusterRoleName } from "../components/iam/names";
import { POD_IDENTITY_TAGS } from "../components/iam/policies";
import { allows, Request, roleSession, webIdentity } from "./support/iam";

// Parsed policy JSON, read loosely on purpose.

type Json = any;

const REGISTRY = "111122223333";
const CLUSTER_ACCOUNT = "444455556666";
const IDENTITY: ClusterIdentity = { registryAccountId: REGISTRY, clusterAccountId: CLUSTER_ACCOUNT, region: "eu-west-1", clusterName: "apps-a" };
const ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/AAAA1111";
const ISSUER_HOST_PATH = "oidc.eks.eu-west-1.amazonaws.com/id/AAAA1111";
/** The cluster account's own IAM OIDC provider: what a chained role trusts. */
const CLUSTER_PROVIDER = `arn:aws:iam::${CLUSTER_ACCOUNT}:oidc-provider/${ISSUER_HOST_PATH}`;
/** The registry account's provider for the same issuer: what a federated pull role trusts, never a cluster role. */
const REGISTRY_PROVIDER = `arn:aws:iam::${REGISTRY}:oidc-provider/${ISSUER_HOST_PATH}`;
const CLUSTER_ARN = `arn:aws:eks:eu-west-1:${CLUSTER_ACCOUNT}:cluster/apps-a`;

const pull = (grant: string) => `arn:aws:iam::${REGISTRY}:role/ecr-pull-${grant}`;
const CHAIN_ROLE = `arn:aws:iam::${CLUSTER_ACCOUNT}:role/${clusterRoleName("chaining", "payments", "eu-west-1", "apps-a")}`;
const POD_ROLE = `arn:aws:iam::${CLUSTER_ACCOUNT}:role/${clusterRoleName("podIdentity", "ml", "eu-west-1", "apps-a")}`;

/** One grant per access path; the chained grant spans two namespaces. */
function workloads(): WorkloadSpec[] {
    return [
        { namespace: "ci", serviceAccount: "image-builder", grant: "ci-builders" },
        { namespace: "payments", serviceAccount: "deployer", grant: "payments", path: "chaining" },
        { namespace: "payments", serviceAccount: "migrator", grant: "payments", path: "chaining" },
        { namespace: "settlement", serviceAccount: "deployer", grant: "payments", path: "chaining" },
        { namespace: "ml", serviceAccount: "trainer", grant: "ml", path: "podIdentity" },
    ];
}

/** A minimal reader for AWS shared config files: `[profile x]` sections of `key = value` lines. */
function parseAwsConfig(text: string): Record<string, Record<string, string>> {
    const profiles: Record<string, Record<string, string>> = {};
    let current: Record<string, string> | undefined;
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#")) {
            continue;
        }
        const section = /^\[profile ([^\]]+)\]$/.exec(line);
        if (section) {
            current = profiles[section[1]] = {};
            continue;
        }
        const pair = /^([a-z_]+)\s*=\s*(.+)$/.exec(line);
        if (!pair || !current) {
            throw new Error(`unexpected line in AWS config: ${JSON.stringify(raw)}`);
        }
        current[pair[1]] = pair[2];
    }
    return profiles;
}

describe("planClusterAccess", () => {
    let plan: ClusterPlan;
    const sa = (namespace: string, name: string) => plan.serviceAccounts.find((s) => s.namespace === namespace && s.name === name)!;
    const role = (grant: string) => plan.clusterRoles.find((r) => r.grant === grant)!;

    beforeEach(() => {
        plan = planClusterAccess(workloads(), IDENTITY);
    });

    it("knows the cluster's partition and ARN", () => {
        expect(plan.partition).to.equal("aws");
        expect(plan.clusterArn).to.equal(CLUSTER_ARN);
    });

    describe("service accounts", () => {
        it("annotates a federated service account with the registry's pull role", () => {
            expect(sa("ci", "image-builder")).to.deep.equal({
                namespace: "ci",
                name: "image-builder",
                grant: "ci-builders",
                path: "federation",
                annotations: { [ROLE_ARN_ANNOTATION]: pull("ci-builders") },
            });
            expect(ROLE_ARN_ANNOTATION).to.equal("eks.amazonaws.com/role-arn");
        });

        it("leaves a chained service account without annotation, so the IRSA webhook injects nothing the Go SDK would prefer to the profile", () => {
            for (const [ns, name] of [
                ["payments", "deployer"],
                ["payments", "migrator"],
                ["settlement", "deployer"],
            ]) {
                expect(sa(ns, name).path).to.equal("chaining");
                expect(sa(ns, name).annotations).to.deep.equal({});
            }
        });

        it("leaves a Pod Identity service account without annotation", () => {
            expect(sa("ml", "trainer")).to.deep.equal({ namespace: "ml", name: "trainer", grant: "ml", path: "podIdentity", annotations: {} });
        });

        it("plans one service account per workload, sorted by namespace and name", () => {
            expect(plan.serviceAccounts.map((s) => `${s.namespace}/${s.name}`)).to.deep.equal([
                "ci/image-builder",
                "ml/trainer",
                "payments/deployer",
                "payments/migrator",
                "settlement/deployer",
            ]);
        });
    });

    describe("cluster-account roles", () => {
        it("makes one role per chained or Pod Identity grant, none for federation", () => {
            expect(plan.clusterRoles.map((r) => [r.grant, r.path, r.roleName, r.roleArn, r.pullRoleArn])).to.deep.equal([
                ["ml", "podIdentity", clusterRoleName("podIdentity", "ml", "eu-west-1", "apps-a"), POD_ROLE, pull("ml")],
                ["payments", "chaining", clusterRoleName("chaining", "payments", "eu-west-1", "apps-a"), CHAIN_ROLE, pull("payments")],
            ]);
            expect(role("payments").serviceAccounts).to.deep.equal([
                { namespace: "payments", name: "deployer" },
                { namespace: "payments", name: "migrator" },
                { namespace: "settlement", name: "deployer" },
            ]);
            expect(role("ml").serviceAccounts).to.deep.equal([{ namespace: "ml", name: "trainer" }]);
        });

        it("each role may only assume its grant's pull role (Pod Identity also tags the session)", () => {
            const chained = role("payments").rolePolicy;
            expect(allows(chained, { action: "sts:AssumeRole", resource: pull("payments") })).to.equal(true);
            expect(allows(chained, { action: "sts:AssumeRole", resource: pull("ml") })).to.equal(false);
            expect(allows(chained, { action: "sts:TagSession", resource: pull("payments") })).to.equal(false);
            const pod = role("ml").rolePolicy;
            expect(allows(pod, { action: "sts:AssumeRole", resource: pull("ml") })).to.equal(true);
            expect(allows(pod, { action: "sts:TagSession", resource: pull("ml") })).to.equal(true);
            expect(allows(pod, { action: "sts:AssumeRole", resource: pull("payments") })).to.equal(false);
            for (const json of [chained, pod]) {
                expect(allows(json, { action: "ecr:BatchGetImage", resource: "*" })).to.equal(false);
            }
        });

        describe("clusterRoleTrustPolicy", () => {
            it("chaining: trusts the cluster account's OIDC provider, sub and aud pinned to the grant's service accounts", () => {
                const json = clusterRoleTrustPolicy(role("payments"), plan, IDENTITY, ISSUER);
                const doc: Json = JSON.parse(json);
                expect(doc.Statement).to.have.lengthOf(1);
                expect(doc.Statement[0].Principal).to.deep.equal({ Federated: CLUSTER_PROVIDER });
                expect(doc.Statement[0].Action).to.equal("sts:AssumeRoleWithWebIdentity");
                expect(doc.Statement[0].Condition).to.deep.equal({
                    StringEquals: {
                        [`${ISSUER_HOST_PATH}:aud`]: "sts.amazonaws.com",
                        [`${ISSUER_HOST_PATH}:sub`]: [
                            "system:serviceaccount:payments:deployer",
                            "system:serviceaccount:payments:migrator",
                            "system:serviceaccount:settlement:deployer",
                        ],
                    },
                });
            });

            it("chaining: admits only that grant's service accounts, through the cluster account's provider only", () => {
                const json = clusterRoleTrustPolicy(role("payments"), plan, IDENTITY, ISSUER);
                const via = (provider: string, ns: string, name: string, aud?: string) => allows(json, webIdentity(provider, ISSUER_HOST_PATH, ns, name, aud));
                expect(via(CLUSTER_PROVIDER, "payments", "deployer")).to.equal(true);
                expect(via(CLUSTER_PROVIDER, "payments", "migrator")).to.equal(true);
                expect(via(CLUSTER_PROVIDER, "settlement", "deployer")).to.equal(true);
                // other grants' service accounts, a name borrowed across namespaces, another audience
                expect(via(CLUSTER_PROVIDER, "ci", "image-builder")).to.equal(false);
                expect(via(CLUSTER_PROVIDER, "ml", "trainer")).to.equal(false);
                expect(via(CLUSTER_PROVIDER, "settlement", "migrator")).to.equal(false);
                expect(via(CLUSTER_PROVIDER, "payments", "deployer", "vault")).to.equal(false);
                // the registry account's provider for the same issuer is not this role's
                expect(via(REGISTRY_PROVIDER, "payments", "deployer")).to.equal(false);
                // nor may a role session or the Pod Identity service assume it
                expect(allows(json, roleSession(POD_ROLE, "sts:AssumeRole"))).to.equal(false);
            });

            it("Pod Identity: trusts pods.eks.amazonaws.com for this account, cluster and the grant's service accounts", () => {
                const json = clusterRoleTrustPolicy(role("ml"), plan, IDENTITY, ISSUER);
                const request = (context: Record<string, string>): Request => ({
                    principalType: "Service",
                    principal: "pods.eks.amazonaws.com",
                    action: "sts:AssumeRole",
                    context: {
                        "aws:SourceAccount": CLUSTER_ACCOUNT,
                        [POD_IDENTITY_TAGS.clusterArn]: CLUSTER_ARN,
                        [POD_IDENTITY_TAGS.namespace]: "ml",
                        [POD_IDENTITY_TAGS.serviceAccount]: "trainer",
                        ...context,
                    },
                });
                expect(allows(json, request({}))).to.equal(true);
                expect(allows(json, { ...request({}), action: "sts:TagSession" })).to.equal(true);
                expect(allows(json, request({ [POD_IDENTITY_TAGS.serviceAccount]: "deployer" }))).to.equal(false);
                expect(allows(json, request({ [POD_IDENTITY_TAGS.namespace]: "payments" }))).to.equal(false);
                expect(allows(json, request({ [POD_IDENTITY_TAGS.clusterArn]: `arn:aws:eks:eu-west-1:${CLUSTER_ACCOUNT}:cluster/apps-b` }))).to.equal(false);
                expect(allows(json, request({ "aws:SourceAccount": "777788889999" }))).to.equal(false);
                expect(json).to.not.include("oidc-provider");
            });
        });
    });

    describe("AWS config for chained workloads", () => {
        it("plans one ConfigMap per namespace of a chained grant, none for the other paths", () => {
            expect(plan.awsConfigs.map((c) => [c.namespace, c.grant, c.name])).to.deep.equal([
                ["payments", "payments", "ecr-pull-payments"],
                ["settlement", "payments", "ecr-pull-payments"],
            ]);
            expect(AWS_CONFIG_KEY).to.equal("config");
        });

        it("chains a source profile (web identity into the cluster role) into the target profile ecr-pull (the pull role)", () => {
            expect(CHAINED_PROFILE).to.equal("ecr-pull");
            for (const config of plan.awsConfigs) {
                const profiles = parseAwsConfig(config.content);
                const target = profiles["ecr-pull"];
                expect(target, "profile ecr-pull").to.not.equal(undefined);
                expect(target.role_arn).to.equal(pull("payments"));
                const source = profiles[target.source_profile];
                expect(source, `profile ${target.source_profile}`).to.not.equal(undefined);
                expect(target.source_profile).to.not.equal("ecr-pull");
                expect(source).to.deep.equal({
                    role_arn: CHAIN_ROLE,
                    web_identity_token_file: CHAINED_TOKEN_FILE,
                    region: "eu-west-1",
                    sts_regional_endpoints: "regional",
                });
                expect(target.region).to.equal("eu-west-1");
                // The IRSA webhook's path: pods of release 0.2 have their token there.
                expect(CHAINED_TOKEN_FILE).to.equal("/var/run/secrets/eks.amazonaws.com/serviceaccount/token");
                expect(Object.keys(profiles).sort()).to.deep.equal(["ecr-pull", target.source_profile].sort());
            }
        });
    });

    describe("the workloads output", () => {
        it("carries each workload's path, pull role and cluster-account role", () => {
            expect(plan.workloads).to.deep.equal([
                {
                    namespace: "ci",
                    serviceAccount: "image-builder",
                    grant: "ci-builders",
                    path: "federation",
                    roleArn: pull("ci-builders"),
                    clusterRoleArn: "",
                },
                { namespace: "ml", serviceAccount: "trainer", grant: "ml", path: "podIdentity", roleArn: pull("ml"), clusterRoleArn: POD_ROLE },
                {
                    namespace: "payments",
                    serviceAccount: "deployer",
                    grant: "payments",
                    path: "chaining",
                    roleArn: pull("payments"),
                    clusterRoleArn: CHAIN_ROLE,
                },
                {
                    namespace: "payments",
                    serviceAccount: "migrator",
                    grant: "payments",
                    path: "chaining",
                    roleArn: pull("payments"),
                    clusterRoleArn: CHAIN_ROLE,
                },
                {
                    namespace: "settlement",
                    serviceAccount: "deployer",
                    grant: "payments",
                    path: "chaining",
                    roleArn: pull("payments"),
                    clusterRoleArn: CHAIN_ROLE,
                },
            ]);
        });
    });

    describe("determinism and identity", () => {
        it("shuffled workloads give an identical plan", () => {
            const w = workloads();
            const shuffled = [w[3], w[0], w[4], w[2], w[1]];
            expect(shuffled.map((x) => x.serviceAccount)).to.not.deep.equal(w.map((x) => x.serviceAccount));
            expect(planClusterAccess(shuffled, IDENTITY)).to.deep.equal(plan);
            expect(planClusterAccess([...w].reverse(), IDENTITY)).to.deep.equal(plan);
        });

        it("another cluster of the same account gets other role names; the pull roles stay the same", () => {
            const other = planClusterAccess(workloads(), { ...IDENTITY, clusterName: "apps-b" });
            for (const r of other.clusterRoles) {
                expect(r.roleName).to.not.equal(role(r.grant).roleName);
                expect(r.pullRoleArn).to.equal(role(r.grant).pullRoleArn);
            }
        });

        it("builds every ARN in the region's partition", () => {
            const cn = planClusterAccess(workloads(), { ...IDENTITY, region: "cn-north-1" });
            expect(cn.partition).to.equal("aws-cn");
            expect(cn.clusterArn).to.equal(`arn:aws-cn:eks:cn-north-1:${CLUSTER_ACCOUNT}:cluster/apps-a`);
            for (const w of cn.workloads) {
                expect(w.roleArn).to.match(/^arn:aws-cn:iam::111122223333:role\/ecr-pull-/);
                expect(w.clusterRoleArn).to.match(/^(|arn:aws-cn:iam::444455556666:role\/ecr-(chain|podid)-)/);
            }
        });

        it("an empty workload list plans nothing", () => {
            const empty = planClusterAccess([], IDENTITY);
            expect([empty.serviceAccounts, empty.clusterRoles, empty.awsConfigs, empty.workloads]).to.deep.equal([[], [], [], []]);
        });
    });
});
