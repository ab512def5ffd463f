/**
 * Organization scope the way `pulumi up` runs it: the example project's
 * cluster stack (examples/organization-scope, eks-blue, a new cluster) and
 * its registry stack through the SDK's own language-host entry point,
 * against the test's resource monitor and fake cloud (tests/support/langhost).
 * Then the cluster that joins later (eks-green, adopted), alone: the
 * registry does not run again, and the green cluster's roles are admitted
 * by the registry's documents as created.
 */
import { expect } from "chai";
import * as path from "path";
import { effectiveStackConfig } from "../tools/state/esc";
import { assumeRoleAllowed } from "../tools/report/evaluator";
import { undeclaredDependencies } from "./support/langhost/dependencies";
import { canIsolateNetwork, LanghostRun, runLanghost } from "./support/langhost/run";
import { World } from "./support/langhost/world";
import { dependencyRegistrations, describeRun, REGION, REGISTRY_ACCOUNT } from "./support/langhost/scenarios";

const EXAMPLE = path.resolve(__dirname, "../examples/organization-scope");
const configOf = (stack: string) => effectiveStackConfig(path.join(EXAMPLE, `Pulumi.${stack}.yaml`)).config;
const BLUE_ACCOUNT = "444455556666";
const GREEN_ACCOUNT = "777788889999";
const GREEN_ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/6E6E6E6E6E6E6E6E6E6E6E6E6E6E6E6E";

describe("organization scope under the language host (pulumi up's run path)", function () {
    this.timeout(240000);
    const world = new World({
        [GREEN_ACCOUNT]: {
            roles: ["apps-green-nodes"],
            roleTags: { "apps-green-nodes": { "ecrpull.dev/node-pull/platform": "true" } },
            oidcProviders: [GREEN_ISSUER],
            clusters: { "apps-green": { issuerUrl: GREEN_ISSUER, namespaces: ["ci"] } },
        },
    });
    let blue: LanghostRun;
    let registry: LanghostRun;

    before(async function () {
        if (!canIsolateNetwork()) {
            this.skip();
        }
        blue = await runLanghost({ stack: "eks-blue", config: configOf("eks-blue"), mode: "up", accountId: BLUE_ACCOUNT, region: REGION, world });
        expect(blue.exitCode, describeRun(blue)).to.equal(0);
        registry = await runLanghost({
            stack: "ecr",
            config: configOf("ecr"),
            mode: "up",
            accountId: REGISTRY_ACCOUNT,
            region: REGION,
            world,
            stackReferences: { "acme/organization-scope/eks-blue": blue.stackOutputs! },
            msPerSecond: 10,
        });
    });

    const created = (run: LanghostRun, type: string) => run.registrations.filter((r) => r.type === type && r.kind === "custom");

    it("creates the scoped grants' cluster roles at /ecrpull/<grant>/ and tags the new node role, every input after what it names", () => {
        const roles = created(blue, "aws:iam/role:Role").map((r) => [String(r.inputs.name).replace(/-[0-9a-f]{6}$/, ""), r.inputs.path ?? "/"]);
        expect(roles.filter(([name]) => name.startsWith("ecr-")).sort()).to.deep.equal([
            ["ecr-chain-platform", "/ecrpull/platform/"],
            ["ecr-podid-payments", "/ecrpull/payments/"],
        ]);
        const nodeRole = created(blue, "aws:iam/role:Role").find((r) => r.urn.endsWith("node-role"))!;
        expect(nodeRole.inputs.tags).to.deep.equal({ "ecrpull.dev/node-pull/payments": "true", "ecrpull.dev/node-pull/platform": "true" });
        expect(undeclaredDependencies(dependencyRegistrations(blue))).to.deep.equal([]);
    });

    it("the registry completes with one role per grant and no OIDC provider for the scoped ones, and warns whom they admit", () => {
        expect(registry.exitCode, describeRun(registry)).to.equal(0);
        expect(registry.diagnostics.filter((d) => d.severity === "error")).to.deep.equal([]);
        expect(
            created(registry, "aws:iam/role:Role")
                .map((r) => r.inputs.name)
                .sort(),
        ).to.deep.equal(["ecr-pull-mirrors", "ecr-pull-payments", "ecr-pull-platform"]);
        // The one provider is the exact-scope federated grant's (mirrors, for eks-blue's issuer).
        expect(created(registry, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")).to.have.length(1);
        const warnings = registry.diagnostics.filter((d) => d.severity === "warning").map((d) => d.message);
        expect(warnings.filter((w) => w.includes("trusts any role at IAM path /ecrpull/"))).to.have.length(2);
        expect(undeclaredDependencies(dependencyRegistrations(registry))).to.deep.equal([]);
    });

    it("a cluster that joins later deploys alone, and the registry's trust as created admits its role", async () => {
        const green = await runLanghost({ stack: "eks-green", config: configOf("eks-green"), mode: "up", accountId: GREEN_ACCOUNT, region: REGION, world });
        expect(green.exitCode, describeRun(green)).to.equal(0);
        const role = created(green, "aws:iam/role:Role").find((r) => String(r.inputs.name).startsWith("ecr-chain-platform-"))!;
        expect(role.inputs.path).to.equal("/ecrpull/platform/");
        // Only the cluster's own stack ran: the registry's roles are as the first run created them.
        const trust = String(created(registry, "aws:iam/role:Role").find((r) => r.inputs.name === "ecr-pull-platform")!.inputs.assumeRolePolicy);
        const pullRole = { arn: `arn:aws:iam::${REGISTRY_ACCOUNT}:role/ecr-pull-platform`, trustPolicy: trust, identityPolicies: [] };
        const inline = created(green, "aws:iam/rolePolicy:RolePolicy").find((r) => r.urn.includes("platform"))!;
        const greenRole = {
            arn: `arn:aws:iam::${GREEN_ACCOUNT}:role/ecrpull/platform/${String(role.inputs.name)}`,
            trustPolicy: "{}",
            identityPolicies: [{ name: "assume", json: String(inline.inputs.policy) }],
            organization: { id: "o-a1b2c3d4e5", path: "o-a1b2c3d4e5/r-ab12/" },
        };
        expect(assumeRoleAllowed(greenRole, pullRole).allowed).to.equal(true);
        expect(assumeRoleAllowed({ ...greenRole, organization: { id: "o-zzzzzzzzzz", path: "o-zzzzzzzzzz/r-ab12/" } }, pullRole).allowed).to.equal(false);
    });

    it("refuses the joining cluster, before creating anything, while its adopted node role lacks the tag", async () => {
        const untagged = new World({
            [GREEN_ACCOUNT]: {
                roles: ["apps-green-nodes"],
                roleTags: { "apps-green-nodes": {} },
                oidcProviders: [GREEN_ISSUER],
                clusters: { "apps-green": { issuerUrl: GREEN_ISSUER, namespaces: ["ci"] } },
            },
        });
        const run = await runLanghost({
            stack: "eks-green",
            config: configOf("eks-green"),
            mode: "preview",
            accountId: GREEN_ACCOUNT,
            region: REGION,
            world: untagged,
        });
        expect(run.exitCode).to.not.equal(0);
        expect(run.stderr + run.diagnostics.map((d) => d.message).join("\n")).to.include(
            "aws iam tag-role --role-name apps-green-nodes --tags Key=ecrpull.dev/node-pull/platform,Value=true",
        );
        expect(run.registrations.filter((r) => r.type.startsWith("aws:"))).to.deep.equal([]);
    });
});
