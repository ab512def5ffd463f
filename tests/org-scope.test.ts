/**
 * Organization scope (issue 13, part 1): a grant scoped to an AWS
 * organization or to OUs names no cluster; its pull role trusts the grant's
 * cluster-side roles by IAM path within the scope, and its repositories
 * admit node roles by tag within the scope.
 *
 * Every verdict is asked of two evaluators: the independent IAM simulator
 * (@cloud-copilot/iam-simulate, tests/support/simulate.ts) and the one the
 * access report uses (tools/report/evaluator.ts). Each case says what the
 * CONFIG means (the right principals allowed; every other principal of the
 * organization, and everyone outside it, refused), and both must agree
 * with it.
 */
import { expect } from "chai";
import { planRegistry, RegistryPlan } from "../components/registry/plan";
import { GrantSpec, RegistrySpec, validateRegistrySpec } from "../components/registry/spec";
import { planClusterAccess, nodePullTags } from "../components/cluster/plan";
import { readGrantDefinitions } from "../components/contract/grants";
import { nodePullTagKey, orgRolePath } from "../components/iam/org-scope";
import { policySize } from "../components/iam/policies";
import { Problems } from "../components/validation";
import { assumeRoleAllowed, MANAGED_POLICY_DOCUMENTS, podIdentityTags, pullAllowed, RoleDocuments } from "../tools/report/evaluator";
import { ECR_IMAGE_PULL_CALLS, ECR_PULL_ACTIONS } from "../components/iam/policies";
import { IamSimulator } from "./support/simulate";

const ORG = "o-a1b2c3d4e5";
const OTHER_ORG = "o-zzzzzzzzzz";
const ROOT = `${ORG}/r-ab12`;
const PLATFORM_OU = `${ROOT}/ou-ab12-11111111/`;
const REGISTRY = "999999999999";
const CONTEXT = { registryAccountId: REGISTRY, region: "eu-west-1", partition: "aws" };

const chained: GrantSpec = {
    name: "team-a",
    path: "chaining",
    scope: { organization: ORG },
    serviceAccounts: [{ namespace: "team-a", name: "builder" }],
    repositories: ["team-a/api"],
};
const podIdentity: GrantSpec = {
    name: "team-b",
    path: "podIdentity",
    scope: { organization: ORG, organizationalUnits: [`${PLATFORM_OU}*`] },
    serviceAccounts: [{ namespace: "team-b", name: "mirror" }],
    repositories: ["team-b/api"],
};
const SPEC: RegistrySpec = { clusters: [], repositories: [{ name: "team-a/api" }, { name: "team-b/api" }], grants: [chained, podIdentity] };

const roleOf = (plan: RegistryPlan, grant: string) => plan.roles.find((r) => r.grant === grant)!;
const repositoryOf = (plan: RegistryPlan, name: string) => plan.repositories.find((r) => r.settings.name === name)!;

describe("organization scope: the registry's documents", () => {
    const plan = planRegistry(SPEC, CONTEXT);

    it("writes one pull role per grant and no OIDC provider, and documents that name no cluster", () => {
        expect(plan.roles.map((r) => [r.roleName, r.clusters.length, r.shards])).to.deep.equal([
            ["ecr-pull-team-a", 0, 1],
            ["ecr-pull-team-b", 0, 1],
        ]);
        expect(plan.providers).to.deep.equal([]);
        expect(plan.overBudget).to.deep.equal([]);
        expect(roleOf(plan, "team-a").trustPolicy).to.equal(
            JSON.stringify({
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "ChainFromOrgClusterRoles",
                        Effect: "Allow",
                        Principal: { AWS: "*" },
                        Action: "sts:AssumeRole",
                        Condition: { ArnLike: { "aws:PrincipalArn": "arn:aws:iam::*:role/ecrpull/team-a/*" }, StringEquals: { "aws:PrincipalOrgID": ORG } },
                    },
                ],
            }),
        );
        const podTrust = JSON.parse(roleOf(plan, "team-b").trustPolicy);
        expect(podTrust.Statement).to.have.length(1);
        expect(podTrust.Statement[0].Principal).to.deep.equal({ AWS: "*" });
        expect(podTrust.Statement[0].Action).to.deep.equal(["sts:AssumeRole", "sts:TagSession"]);
        expect(podTrust.Statement[0].Condition).to.deep.equal({
            ArnLike: { "aws:PrincipalArn": "arn:aws:iam::*:role/ecrpull/team-b/*" },
            "ForAnyValue:StringLike": { "aws:PrincipalOrgPaths": `${PLATFORM_OU}*` },
            StringEquals: { "aws:RequestTag/kubernetes-namespace": "team-b", "aws:RequestTag/kubernetes-service-account": "mirror" },
        });
        const repoPolicy = JSON.parse(repositoryOf(plan, "team-a/api").repositoryPolicy!);
        expect(repoPolicy.Statement).to.have.length(2);
        expect(repoPolicy.Statement[0].Sid).to.equal("PullByGrantRoles");
        expect(repoPolicy.Statement[1].Sid).to.match(/^PullByOrgNodes[0-9A-F]{10}$/);
        expect(repoPolicy.Statement[1]).to.deep.include({ Principal: { AWS: "*" }, Action: [...ECR_PULL_ACTIONS] });
        expect(repoPolicy.Statement[1].Condition).to.deep.equal({
            Null: { "aws:Ec2InstanceSourceVpc": "false" },
            StringEquals: { "aws:PrincipalOrgID": ORG, [`aws:PrincipalTag/${nodePullTagKey("team-a")}`]: "true" },
        });
    });

    it("does not change when clusters are added: a cluster joins with its own EKS stack alone", () => {
        // Clusters of another, exact-scope grant: the organization-scoped grants' documents stay byte for byte.
        const cluster = (n: number) => ({
            name: `acme/ecrpull/eks-${n}`,
            accountId: `1111111111${String(n).padStart(2, "0")}`,
            issuerUrl: `https://oidc.eks.eu-west-1.amazonaws.com/id/${String(n).padStart(32, "A")}`,
            nodeRoleArns: [`arn:aws:iam::1111111111${String(n).padStart(2, "0")}:role/nodes`],
            clusterArn: `arn:aws:eks:eu-west-1:1111111111${String(n).padStart(2, "0")}:cluster/c${n}`,
        });
        const withClusters = (n: number): RegistrySpec => ({
            clusters: Array.from({ length: n }, (_, i) => cluster(i)),
            repositories: [...SPEC.repositories, { name: "other/api" }],
            grants: [
                ...SPEC.grants,
                {
                    name: "other",
                    clusters: Array.from({ length: n }, (_, i) => `acme/ecrpull/eks-${i}`),
                    serviceAccounts: [{ namespace: "x", name: "y" }],
                    repositories: ["other/api"],
                },
            ],
        });
        const small = planRegistry(withClusters(2), CONTEXT);
        const large = planRegistry(withClusters(40), CONTEXT);
        for (const grant of ["team-a", "team-b"]) {
            expect(roleOf(large, grant)).to.deep.equal(roleOf(small, grant));
            expect(roleOf(large, grant)).to.deep.equal(roleOf(plan, grant));
        }
        for (const repository of ["team-a/api", "team-b/api"]) {
            expect(repositoryOf(large, repository)).to.deep.equal(repositoryOf(plan, repository));
        }
        expect(policySize(roleOf(plan, "team-a").trustPolicy)).to.be.below(300);
    });

    it("says in the preview exactly whom each organization-scoped trust admits, and what closes the rest", () => {
        expect(plan.admissions).to.have.length(2);
        const [a, b] = plan.admissions;
        expect(a).to.include('grant "team-a" (scope: organization o-a1b2c3d4e5, path chaining)');
        expect(a).to.include("any role at IAM path /ecrpull/team-a/ in any account of organization o-a1b2c3d4e5");
        expect(a).to.include("arn:aws:iam::*:role/ecrpull/team-a/*");
        expect(a).to.include("tagged ecrpull.dev/node-pull/team-a=true");
        expect(a).to.include("policy/ecrpull-org-scope.scp.json");
        expect(b).to.include(`organizational unit ${PLATFORM_OU}* of organization ${ORG}`);
        expect(b).to.include("Pod Identity sessions tagged with service account team-b/mirror");
        // Many grants of one scope and path: one paragraph, not one each.
        const many = planRegistry(
            {
                clusters: [],
                repositories: SPEC.repositories,
                grants: ["x", "y", "z"].map((name) => ({ ...chained, name })),
            },
            CONTEXT,
        ).admissions;
        expect(many).to.have.length(1);
        expect(many[0]).to.match(
            /^grants "x", "y", "z" \(scope: organization o-a1b2c3d4e5, path chaining\): each pull role ecr-pull-<grant> trusts any role at IAM path \/ecrpull\/<grant>\//,
        );
    });
});

describe("organization scope: checks of the config", () => {
    const problemsOf = (grant: Record<string, unknown>) => {
        const problems = new Problems((p) => `ecrpull:${p}`);
        validateRegistrySpec(
            {
                clusters: [],
                repositories: [{ name: "team-a/api" }],
                grants: [{ serviceAccounts: [{ namespace: "a", name: "b" }], repositories: ["team-a/api"], name: "team-a", ...grant }],
            },
            problems,
        );
        return problems.list;
    };

    it("accepts an organization or OU scope on chaining and Pod Identity grants without clusters", () => {
        expect(problemsOf({ path: "chaining", scope: { organization: ORG } })).to.deep.equal([]);
        expect(
            problemsOf({ path: "podIdentity", scope: { organization: ORG, organizationalUnits: [`${PLATFORM_OU}*`, `${ROOT}/ou-ab12-22222222/`] } }),
        ).to.deep.equal([]);
    });

    it("refuses federation, a cluster list, shards and malformed IDs, each with the key and a valid form", () => {
        const [federation] = problemsOf({ scope: { organization: ORG } });
        expect(federation).to.match(/^ecrpull:grants\[0\]\.scope .* applies to paths "chaining" and "podIdentity" only: "federation" trusts an OIDC provider/);
        expect(problemsOf({ path: "chaining", scope: { organization: ORG }, clusters: ["acme/ecrpull/eks"] })[0]).to.match(
            /^ecrpull:grants\[0\]\.clusters .* remove clusters/,
        );
        expect(problemsOf({ path: "chaining", scope: { organization: ORG }, shards: 3 })[0]).to.match(
            /^ecrpull:grants\[0\]\.shards 3 splits a grant with a scope/,
        );
        expect(problemsOf({ path: "chaining", scope: { organization: "o-123" } })[0]).to.match(
            /^ecrpull:grants\[0\]\.scope\.organization "o-123" is not an AWS organization ID/,
        );
        expect(problemsOf({ path: "chaining", scope: { organization: ORG, organizationalUnits: ["ou-ab12-11111111"] } })[0]).to.match(
            /organizationalUnits\[0\] "ou-ab12-11111111" is not an organization path: use "<organization>\/<root>\/<ou>\/"/,
        );
        expect(problemsOf({ path: "chaining", scope: { organization: ORG, organizationalUnits: [`${OTHER_ORG}/r-ab12/ou-ab12-11111111/`] } })[0]).to.match(
            /is not in organization o-a1b2c3d4e5/,
        );
        expect(problemsOf({ path: "chaining", scope: { organization: ORG, accounts: ["1"] } })[0]).to.match(/scope\.accounts .*is not a scope setting/);
        // Without scope the cluster list is still required.
        expect(problemsOf({ path: "chaining" })[0]).to.match(/^ecrpull:grants\[0\]\.clusters/);
    });
});

describe("organization scope: the cluster side", () => {
    const identity = { registryAccountId: REGISTRY, clusterAccountId: "111111111111", region: "eu-west-1", clusterName: "blue" };
    const workloads = [
        { namespace: "team-a", serviceAccount: "builder", grant: "team-a", path: "chaining" },
        { namespace: "team-b", serviceAccount: "mirror", grant: "team-b", path: "podIdentity" },
        { namespace: "team-c", serviceAccount: "app", grant: "team-c", path: "chaining" },
    ];

    it("puts the roles of organization-scoped grants at /ecrpull/<grant>/ and leaves the others at /", () => {
        const plan = planClusterAccess(workloads, identity, ["team-a", "team-b"]);
        expect(plan.clusterRoles.map((r) => [r.grant, r.rolePath, r.roleArn])).to.deep.equal([
            ["team-a", "/ecrpull/team-a/", `arn:aws:iam::111111111111:role/ecrpull/team-a/${plan.clusterRoles[0].roleName}`],
            ["team-b", "/ecrpull/team-b/", `arn:aws:iam::111111111111:role/ecrpull/team-b/${plan.clusterRoles[1].roleName}`],
            ["team-c", "/", `arn:aws:iam::111111111111:role/${plan.clusterRoles[2].roleName}`],
        ]);
        expect(nodePullTags(["team-b", "team-a", "team-a"])).to.deep.equal({ "ecrpull.dev/node-pull/team-a": "true", "ecrpull.dev/node-pull/team-b": "true" });
    });

    it("learns the scope from the grant definitions the ECR stack reads", () => {
        const problems = new Problems((p) => `ecrpull:${p}`);
        const definitions = readGrantDefinitions([chained, podIdentity, { name: "team-c", path: "chaining", clusters: ["x"] }], problems);
        expect(problems.list).to.deep.equal([]);
        expect([...definitions.values()].filter((d) => d.scope).map((d) => d.name)).to.deep.equal(["team-a", "team-b"]);
        const bad = new Problems((p) => `ecrpull:${p}`);
        readGrantDefinitions([{ name: "team-a", path: "chaining", scope: { organization: "acme" } }], bad);
        expect(bad.list[0]).to.match(/^ecrpull:grants\[0\]\.scope\.organization "acme" is not an AWS organization ID/);
        const federated = new Problems((p) => `ecrpull:${p}`);
        readGrantDefinitions([{ name: "team-a", scope: { organization: ORG } }], federated);
        expect(federated.list).to.have.length(1);
        expect(federated.list[0]).to.match(/^ecrpull:grants\[0\]\.scope .*"federation" keeps exact scope/);
    });
});

/** A role somewhere in (or outside) the organization, with its documents. */
function role(
    arn: string,
    options: { org?: string; orgPath?: string; tags?: Record<string, string>; instanceVpc?: string; identity: { name: string; json: string }[] },
): RoleDocuments {
    return {
        arn,
        trustPolicy: "{}",
        identityPolicies: options.identity,
        tags: options.tags,
        organization: options.org ? { id: options.org, path: options.orgPath ?? `${options.org}/r-ab12/` } : undefined,
        instanceVpc: options.instanceVpc,
    };
}

describe("organization scope: both evaluators agree with the config", function () {
    this.timeout(60000);
    const sim = new IamSimulator();
    const plan = planRegistry(SPEC, CONTEXT);
    const pullRole = (grant: string): RoleDocuments => ({
        arn: roleOf(plan, grant).roleArn,
        trustPolicy: roleOf(plan, grant).trustPolicy,
        identityPolicies: [{ name: "pull", json: roleOf(plan, grant).rolePolicy }],
    });
    const cluster = planClusterAccess(
        [
            { namespace: "team-a", serviceAccount: "builder", grant: "team-a", path: "chaining" },
            { namespace: "team-b", serviceAccount: "mirror", grant: "team-b", path: "podIdentity" },
        ],
        { registryAccountId: REGISTRY, clusterAccountId: "111111111111", region: "eu-west-1", clusterName: "blue" },
        ["team-a", "team-b"],
    );
    const clusterRole = (grant: string) => cluster.clusterRoles.find((r) => r.grant === grant)!;
    const assumePolicy = (grant: string) => [{ name: "assume", json: clusterRole(grant).rolePolicy }];
    const nodePolicy = [
        { name: "AmazonEC2ContainerRegistryPullOnly", json: MANAGED_POLICY_DOCUMENTS["arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly"] },
    ];

    const contextOf = (caller: RoleDocuments): Record<string, string | string[]> => ({
        ...(caller.organization ? { "aws:PrincipalOrgID": caller.organization.id, "aws:PrincipalOrgPaths": [caller.organization.path] } : {}),
        ...Object.fromEntries(Object.entries(caller.tags ?? {}).map(([k, v]) => [`aws:PrincipalTag/${k}`, v])),
        ...(caller.instanceVpc ? { "aws:Ec2InstanceSourceVpc": caller.instanceVpc } : {}),
    });

    /** AssumeRole (and TagSession with tags) into a pull role: both evaluators, one answer. */
    async function assumes(caller: RoleDocuments, grant: string, sessionTags?: Record<string, string>): Promise<boolean> {
        const target = pullRole(grant);
        const ours = assumeRoleAllowed(caller, target, sessionTags).allowed;
        let theirs = true;
        for (const action of sessionTags ? (["sts:AssumeRole", "sts:TagSession"] as const) : (["sts:AssumeRole"] as const)) {
            const tags = sessionTags ? Object.fromEntries(Object.entries(sessionTags).map(([k, v]) => [k.replace(/^aws:RequestTag\//, ""), v])) : undefined;
            theirs &&= await sim.roleSession({
                principalRoleArn: caller.arn,
                identityPolicies: caller.identityPolicies,
                action,
                roleArn: target.arn,
                trustPolicy: target.trustPolicy,
                sessionTags: tags,
                context: contextOf(caller),
            });
        }
        expect(ours, `the report's evaluator and iam-simulate disagree on ${caller.arn} assuming ${target.arn}`).to.equal(theirs);
        return theirs;
    }

    /** A pull of a repository by a session of `caller`: both evaluators, one answer. */
    async function pulls(caller: RoleDocuments, repository: string): Promise<boolean> {
        const repo = repositoryOf(plan, repository);
        const ours = pullAllowed(caller, { name: repository, arn: repo.arn, policy: repo.repositoryPolicy }).allowed;
        let theirs = await sim.ecr({
            principalRoleArn: caller.arn,
            identityPolicies: caller.identityPolicies,
            action: "ecr:GetAuthorizationToken",
            context: contextOf(caller),
        });
        for (const action of ECR_IMAGE_PULL_CALLS) {
            theirs &&= await sim.ecr({
                principalRoleArn: caller.arn,
                identityPolicies: caller.identityPolicies,
                action,
                repositoryArn: repo.arn,
                repositoryPolicy: repo.repositoryPolicy,
                context: contextOf(caller),
            });
        }
        expect(ours, `the report's evaluator and iam-simulate disagree on ${caller.arn} pulling ${repository}`).to.equal(theirs);
        return theirs;
    }

    it("chaining: the cluster-side role at /ecrpull/team-a/ in the organization assumes the pull role; nobody else does", async () => {
        const arn = clusterRole("team-a").roleArn;
        const name = clusterRole("team-a").roleName;
        const identity = assumePolicy("team-a");
        expect(await assumes(role(arn, { org: ORG, identity }), "team-a")).to.equal(true);
        // A role of another account of the organization at the grant's path: admitted by the pattern (the documented trust).
        expect(await assumes(role(`arn:aws:iam::222222222222:role/ecrpull/team-a/anything`, { org: ORG, identity }), "team-a")).to.equal(true);
        // Every other principal of the organization, and everyone outside it, refused.
        expect(await assumes(role(`arn:aws:iam::111111111111:role/${name}`, { org: ORG, identity }), "team-a"), "same name at path /").to.equal(false);
        expect(await assumes(role(`arn:aws:iam::111111111111:role/ecrpull/team-b/${name}`, { org: ORG, identity }), "team-a"), "another grant's path").to.equal(
            false,
        );
        expect(await assumes(role(`arn:aws:iam::111111111111:role/ecrpull/${name}`, { org: ORG, identity }), "team-a"), "the parent path").to.equal(false);
        expect(await assumes(role(arn, { org: OTHER_ORG, identity }), "team-a"), "another organization").to.equal(false);
        expect(await assumes(role(arn, { identity }), "team-a"), "no organization").to.equal(false);
        expect(await assumes(role(arn, { org: ORG, identity }), "team-b"), "the other grant's pull role").to.equal(false);
    });

    it("Pod Identity on OUs: the association role at /ecrpull/team-b/ in the OU, for the grant's service account only", async () => {
        const arn = clusterRole("team-b").roleArn;
        const identity = assumePolicy("team-b");
        const nested = `${PLATFORM_OU}ou-ab12-22222222/`;
        const tags = (ns: string, sa: string) => podIdentityTags("arn:aws:eks:eu-west-1:111111111111:cluster/blue", ns, sa);
        expect(await assumes(role(arn, { org: ORG, orgPath: PLATFORM_OU, identity }), "team-b", tags("team-b", "mirror"))).to.equal(true);
        expect(await assumes(role(arn, { org: ORG, orgPath: nested, identity }), "team-b", tags("team-b", "mirror")), "an OU below").to.equal(true);
        expect(await assumes(role(arn, { org: ORG, orgPath: PLATFORM_OU, identity }), "team-b", tags("team-b", "other")), "another service account").to.equal(
            false,
        );
        expect(await assumes(role(arn, { org: ORG, orgPath: PLATFORM_OU, identity }), "team-b", tags("other", "mirror")), "another namespace").to.equal(false);
        expect(
            await assumes(role(arn, { org: ORG, orgPath: `${ROOT}/ou-ab12-33333333/`, identity }), "team-b", tags("team-b", "mirror")),
            "another OU",
        ).to.equal(false);
        expect(await assumes(role(arn, { org: ORG, orgPath: `${ROOT}/`, identity }), "team-b", tags("team-b", "mirror")), "the root's accounts").to.equal(
            false,
        );
        const elsewhere = arn.replace("/ecrpull/team-b/", "/");
        expect(await assumes(role(elsewhere, { org: ORG, orgPath: PLATFORM_OU, identity }), "team-b", tags("team-b", "mirror")), "path /").to.equal(false);
    });

    it("node pulls: node roles tagged for the grant, in its scope, pull its repositories and no others", async () => {
        // The kubelet pulls with the node role's EC2 instance credentials.
        const node = (account: string, options: { org?: string; orgPath?: string; tags?: Record<string, string>; instanceVpc?: string | false }) =>
            role(`arn:aws:iam::${account}:role/blue-nodes`, {
                ...options,
                instanceVpc: options.instanceVpc === false ? undefined : (options.instanceVpc ?? "vpc-0a1b2c3d"),
                identity: nodePolicy,
            });
        const tagged = (...grants: string[]) => nodePullTags(grants);
        expect(await pulls(node("111111111111", { org: ORG, tags: tagged("team-a") }), "team-a/api")).to.equal(true);
        expect(await pulls(node("111111111111", { org: ORG, tags: tagged("team-a") }), "team-b/api"), "another grant's repository").to.equal(false);
        expect(await pulls(node("111111111111", { org: ORG }), "team-a/api"), "untagged").to.equal(false);
        expect(await pulls(node("111111111111", { org: ORG, tags: { [nodePullTagKey("team-a")]: "false" } }), "team-a/api"), "tag value false").to.equal(false);
        expect(await pulls(node("111111111111", { org: OTHER_ORG, tags: tagged("team-a") }), "team-a/api"), "another organization").to.equal(false);
        expect(await pulls(node("111111111111", { tags: tagged("team-a") }), "team-a/api"), "no organization").to.equal(false);
        expect(await pulls(node("111111111111", { org: ORG, orgPath: PLATFORM_OU, tags: tagged("team-b") }), "team-b/api")).to.equal(true);
        expect(
            await pulls(node("111111111111", { org: ORG, orgPath: `${ROOT}/ou-ab12-33333333/`, tags: tagged("team-b") }), "team-b/api"),
            "another OU",
        ).to.equal(false);
        // The tag as a session tag (a web identity or another account's session may carry any): not EC2 instance credentials.
        expect(
            await pulls(node("111111111111", { org: ORG, tags: tagged("team-a"), instanceVpc: false }), "team-a/api"),
            "tag without instance credentials",
        ).to.equal(false);
    });

    it("every combination of role path, grant, place in the organization, session tags and credentials: allowed exactly where the config means it", async () => {
        // The config's meaning, written from the grants alone (never from the documents).
        const grants = { "team-a": chained, "team-b": podIdentity };
        // In the organization, and under one of its OUs when it lists some (a path ending in /* takes the OUs below).
        const inScope = (grant: GrantSpec, org: string | undefined, orgPath: string) => {
            const units = grant.scope!.organizationalUnits ?? [];
            return (
                org === grant.scope!.organization &&
                (units.length === 0 || units.some((u) => (u.endsWith("*") ? orgPath.startsWith(u.slice(0, -1)) : orgPath === u)))
            );
        };
        const places = [
            { org: ORG, orgPath: PLATFORM_OU },
            { org: ORG, orgPath: `${PLATFORM_OU}ou-ab12-22222222/` },
            { org: ORG, orgPath: `${ROOT}/ou-ab12-33333333/` },
            { org: OTHER_ORG, orgPath: `${OTHER_ORG}/r-zz99/` },
            { org: undefined, orgPath: "" },
        ];
        const rolePaths = ["/", "/ecrpull/", "/ecrpull/team-a/", "/ecrpull/team-b/", "/ecrpull/team-a/nested/", "/other/ecrpull/team-a/"];
        const serviceAccounts = [
            ["team-a", "builder"],
            ["team-b", "mirror"],
            ["team-b", "builder"],
        ];
        let checked = 0;
        let allowed = 0;
        for (const [target, grant] of Object.entries(grants)) {
            for (const place of places) {
                for (const rolePath of rolePaths) {
                    const caller = role(`arn:aws:iam::111111111111:role${rolePath}ecr-x-abc123`, {
                        ...place,
                        identity: [{ name: "assume", json: clusterRole(target).rolePolicy }],
                    });
                    const pathOk = rolePath.startsWith(`/ecrpull/${target}/`);
                    for (const [namespace, name] of grant.path === "podIdentity" ? serviceAccounts : [["-", "-"]]) {
                        const tags =
                            grant.path === "podIdentity" ? podIdentityTags("arn:aws:eks:eu-west-1:111111111111:cluster/any", namespace, name) : undefined;
                        const saOk = grant.path !== "podIdentity" || grant.serviceAccounts.some((sa) => sa.namespace === namespace && sa.name === name);
                        const expected = pathOk && saOk && inScope(grant, place.org, place.orgPath);
                        expect(
                            await assumes(caller, target, tags),
                            `${target} by ${caller.arn} at ${place.orgPath || "no organization"} as ${namespace}/${name}`,
                        ).to.equal(expected);
                        checked++;
                        allowed += expected ? 1 : 0;
                    }
                }
            }
        }
        for (const repository of ["team-a/api", "team-b/api"]) {
            const grant = Object.values(grants).find((g) => g.repositories.includes(repository))!;
            for (const place of places) {
                for (const tagged of [[], ["team-a"], ["team-b"], ["team-a", "team-b"]]) {
                    for (const instanceVpc of ["vpc-0a1b2c3d", false] as const) {
                        const caller = role("arn:aws:iam::111111111111:role/nodes", {
                            ...place,
                            tags: nodePullTags(tagged),
                            instanceVpc: instanceVpc || undefined,
                            identity: nodePolicy,
                        });
                        const expected = tagged.includes(grant.name) && instanceVpc !== false && inScope(grant, place.org, place.orgPath);
                        expect(await pulls(caller, repository), `${repository} by a node tagged [${tagged}] at ${place.orgPath || "no organization"}`).to.equal(
                            expected,
                        );
                        checked++;
                        allowed += expected ? 1 : 0;
                    }
                }
            }
        }
        // Both evaluators were asked each time (assumes/pulls compare them); print the tally for the docs.
        console.log(`      organization scope: ${checked} combinations, ${allowed} allowed, both evaluators agreeing with the config`);
        expect(allowed).to.be.greaterThan(0);
    });

    it("the pull roles pull their own grant's repositories only", async () => {
        expect(await pulls(pullRole("team-a"), "team-a/api")).to.equal(true);
        expect(await pulls(pullRole("team-a"), "team-b/api")).to.equal(false);
        expect(await pulls(pullRole("team-b"), "team-b/api")).to.equal(true);
        expect(orgRolePath("team-a")).to.equal("/ecrpull/team-a/");
    });
});
