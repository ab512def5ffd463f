/**
 * What the EKS stack does with objects that are already there (issue 12):
 * under the language host, `pulumi up` in the engine's order against a fake
 * cloud that already holds them.
 *
 * - A ServiceAccount made by Helm or by hand: `existingServiceAccount: true`
 *   annotates and labels it by server-side apply (a ServiceAccountPatch),
 *   never creates or deletes it; without it, `up` stops with the Kubernetes
 *   API's AlreadyExists (the README says which setting to use).
 * - A namespace with `createNamespaces: true`: AlreadyExists likewise (the
 *   README says to leave createNamespaces false for namespaces that exist);
 *   namespaces the stack creates are kept on destroy (retainOnDelete).
 * - The cluster account's IAM OIDC provider and the Pod Identity add-on of
 *   an adopted cluster: refused before anything is registered when told to
 *   create one that someone else made; taken as the stack's own when they
 *   carry its owner tag.
 */
import { expect } from "chai";
import { OWNER_TAG } from "../components/cluster/cluster-pull-access";
import { LanghostRun, runLanghost } from "./support/langhost/run";
import { ADOPTED_CLUSTER, ADOPTED_ISSUER, ADOPTED_NODE_ROLE, CLUSTER_ACCOUNT, describeRun, eksConfig, REGION } from "./support/langhost/scenarios";
import { World, WorldFixture } from "./support/langhost/world";

const errors = (run: LanghostRun) => run.diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
const registered = (run: LanghostRun) => run.registrations.filter((r) => r.kind !== "stack" && r.kind !== "read");
/** The harness runs stacks of the organization "acme" (run.ts). */
const OWNER = "acme/ecrpull/eks";

/** An adopted cluster with Helm's ServiceAccount ci/image-builder and the namespaces ci, payments and ml. */
function world(
    extra: { addonTags?: Record<string, string>; oidcProviderTags?: Record<string, string>; serviceAccountAnnotations?: Record<string, string> } = {},
): WorldFixture {
    return {
        [CLUSTER_ACCOUNT]: {
            roles: ["apps-b-nodes"],
            oidcProviders: [ADOPTED_ISSUER],
            oidcProviderTags: extra.oidcProviderTags ? { [ADOPTED_ISSUER]: extra.oidcProviderTags } : undefined,
            clusters: {
                [ADOPTED_CLUSTER]: {
                    issuerUrl: ADOPTED_ISSUER,
                    addons: ["eks-pod-identity-agent"],
                    addonTags: extra.addonTags ? { "eks-pod-identity-agent": extra.addonTags } : undefined,
                    namespaces: ["ci", "payments", "ml"],
                    objects: [
                        {
                            kind: "ServiceAccount",
                            namespace: "ci",
                            name: "image-builder",
                            annotations: extra.serviceAccountAnnotations,
                            fieldManager: "eksctl",
                        },
                    ],
                },
            },
        },
    };
}

function adopted(cluster: Record<string, unknown> = {}, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return eksConfig({
        "ecrpull:cluster": { name: ADOPTED_CLUSTER, create: false, nodeRoleArns: [ADOPTED_NODE_ROLE], ...cluster },
        "ecrpull:createNamespaces": false,
        ...overrides,
    });
}

const workloads = (existing: boolean) => [
    { namespace: "ci", serviceAccount: "image-builder", grant: "ci-builders", ...(existing ? { existingServiceAccount: true } : {}) },
    { namespace: "payments", serviceAccount: "release-deployer", grant: "payments", path: "chaining" },
    { namespace: "ml", serviceAccount: "model-sync", grant: "ml-models", path: "podIdentity" },
];

const up = (config: Record<string, unknown>, fixture: WorldFixture, mode: "up" | "preview" = "up") =>
    runLanghost({ stack: "eks", config, mode, accountId: CLUSTER_ACCOUNT, region: REGION, world: new World(fixture) });

describe("objects that already exist, under the language host", function () {
    this.timeout(180_000);

    it("a ServiceAccount made by Helm: without existingServiceAccount, up stops with the API's AlreadyExists", async () => {
        const run = await up(adopted({}, { "ecrpull:workloads": workloads(false) }), world());
        expect(run.exitCode, describeRun(run)).to.not.equal(0);
        expect(errors(run).join("\n")).to.contain('serviceaccounts "image-builder" already exists');
    });

    it("with existingServiceAccount: true, it is annotated by server-side apply and up completes", async () => {
        const run = await up(adopted({}, { "ecrpull:workloads": workloads(true) }), world());
        expect(run.exitCode, describeRun(run)).to.equal(0);
        const patch = registered(run).find((r) => r.type === "kubernetes:core/v1:ServiceAccountPatch");
        expect(patch?.inputs.metadata).to.deep.include({ name: "image-builder", namespace: "ci" });
        expect(patch?.inputs.metadata.annotations).to.deep.equal({
            "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/ecr-pull-ci-builders",
            "pulumi.com/patchForce": "true",
        });
        expect(
            registered(run)
                .filter((r) => r.type === "kubernetes:core/v1:ServiceAccount")
                .map((r) => r.inputs.metadata.name),
        ).to.not.include("image-builder");
    });

    it("a ServiceAccount eksctl annotated with the seed recipe's role: the patch takes the annotation over instead of failing on a conflict", async () => {
        const seedRole = "arn:aws:iam::111122223333:role/eks-ecr-pull";
        const run = await up(
            adopted({}, { "ecrpull:workloads": workloads(true) }),
            world({ serviceAccountAnnotations: { "eks.amazonaws.com/role-arn": seedRole } }),
        );
        expect(run.exitCode, describeRun(run)).to.equal(0);
        const patch = registered(run).find((r) => r.type === "kubernetes:core/v1:ServiceAccountPatch");
        expect(patch?.inputs.metadata.annotations["eks.amazonaws.com/role-arn"]).to.equal("arn:aws:iam::111122223333:role/ecr-pull-ci-builders");
    });

    it("a namespace that exists with createNamespaces: true stops up with AlreadyExists; created namespaces are kept on destroy", async () => {
        const run = await up(adopted({}, { "ecrpull:workloads": workloads(true), "ecrpull:createNamespaces": true }), world());
        expect(run.exitCode, describeRun(run)).to.not.equal(0);
        expect(errors(run).join("\n")).to.match(/namespaces "(ci|ml|payments)" already exists/);
        const namespaces = registered(run).filter((r) => r.type === "kubernetes:core/v1:Namespace");
        expect(namespaces.length).to.be.greaterThan(0);
        expect(
            namespaces.every((n) => n.retainOnDelete === true),
            JSON.stringify(namespaces.map((n) => n.retainOnDelete)),
        ).to.equal(true);
    });

    it('an OIDC provider someone else made, with oidcProvider "create": refused before anything is registered', async () => {
        const run = await up(adopted({ oidcProvider: "create" }), world(), "preview");
        expect(errors(run).join("\n")).to.contain('ecrpull:cluster.oidcProvider is "create", but this account already has the IAM OIDC provider');
        expect(errors(run).join("\n")).to.contain(`aws iam tag-open-id-connect-provider`);
        expect(registered(run)).to.deep.equal([]);
    });

    it('the Pod Identity add-on someone else installed, with podIdentityAgent "install": refused before anything is registered', async () => {
        const run = await up(adopted({ podIdentityAgent: "install" }), world(), "preview");
        expect(errors(run).join("\n")).to.contain('ecrpull:cluster.podIdentityAgent is "install", but the eks-pod-identity-agent add-on is already installed');
        expect(registered(run)).to.deep.equal([]);
    });

    it("the add-on and the provider this stack installed (its owner tag) are its own: the next run goes on", async () => {
        const tagged = world({ addonTags: { [OWNER_TAG]: OWNER }, oidcProviderTags: { [OWNER_TAG]: OWNER } });
        const run = await up(adopted({ podIdentityAgent: "install", oidcProvider: "create" }), tagged, "preview");
        expect(errors(run), describeRun(run)).to.deep.equal([]);
        const addon = registered(run).find((r) => r.type === "aws:eks/addon:Addon");
        expect(addon?.inputs.tags).to.deep.include({ [OWNER_TAG]: OWNER });
    });
});
