/**
 * Other languages get the components through `pulumi package add`, which
 * runs this package as a plugin (PulumiPlugin.yaml) and asks it for its
 * schema. The schema is generated here in-process, as the Node.js language
 * host does (cmd/run-plugin: the components the entry point exports, the
 * provider named after package.json), and one component is constructed
 * through the provider on the mock engine, as a Python program's call would.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import * as ts from "typescript";
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental";
import * as entryPoint from "../index";
import { runProgram } from "../tools/engine/mock-engine";
import { ACCOUNT_A, REGISTRY_ACCOUNT, REGION } from "./support/fixtures";

const ROOT = path.resolve(__dirname, "..");
const packageJson = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

/** The provider name the language host derives from package.json (`@scope/name` serves as `name`). */
const providerName = String(packageJson.name).replace(/^@[^/]+\//, "");

interface SchemaProperty {
    readonly description?: string;
    readonly type?: string;
    readonly $ref?: string;
}
interface Schema {
    readonly name: string;
    readonly resources: Record<
        string,
        {
            isComponent: boolean;
            description?: string;
            inputProperties: Record<string, SchemaProperty>;
            requiredInputs?: string[];
            properties: Record<string, SchemaProperty>;
        }
    >;
    readonly types: Record<string, { properties: Record<string, SchemaProperty> }>;
}

/** Each component class declared in components/, with the properties of its `args` interface, read from the source. */
function componentsInSource(): { className: string; typeToken: string; argsProperties: string[]; optional: string[] }[] {
    const files = (fs.readdirSync(path.join(ROOT, "components"), { recursive: true }) as string[])
        .filter((f) => f.endsWith(".ts"))
        .map((f) => path.join(ROOT, "components", f));
    const program = ts.createProgram(files, { strict: true, skipLibCheck: true });
    const checker = program.getTypeChecker();
    const found: { className: string; typeToken: string; argsProperties: string[]; optional: string[] }[] = [];
    for (const file of files) {
        const source = program.getSourceFile(file)!;
        source.forEachChild((node) => {
            if (
                !ts.isClassDeclaration(node) ||
                !node.name ||
                !node.heritageClauses?.some((h) => h.types.some((t) => t.expression.getText(source).endsWith("ComponentResource")))
            ) {
                return;
            }
            const constructor = node.members.find(ts.isConstructorDeclaration)!;
            const args = constructor.parameters.find((p) => p.name.getText(source) === "args")!;
            const argsType = checker.getTypeAtLocation(args.type!);
            const properties = argsType.getProperties();
            const superCall = source.text.slice(constructor.pos, constructor.end).match(/super\("([^"]+)"/)!;
            found.push({
                className: node.name.text,
                typeToken: superCall[1],
                argsProperties: properties.map((p) => p.name).sort(),
                optional: properties
                    .filter((p) => (p.flags & ts.SymbolFlags.Optional) !== 0)
                    .map((p) => p.name)
                    .sort(),
            });
        });
    }
    return found;
}

describe("multi-language: the plugin schema and a construct through the component provider", function () {
    this.timeout(120_000);
    let schema: Schema;
    let provider: ComponentProvider;
    const sourceComponents = componentsInSource();

    before(async () => {
        provider = new ComponentProvider({ components: getPulumiComponents(entryPoint), name: providerName, dirname: ROOT });
        schema = JSON.parse(await provider.getSchema()) as Schema;
    });

    it("has a PulumiPlugin.yaml for the Node.js runtime, and a provider name that is a valid package name", () => {
        const manifest = yaml.load(fs.readFileSync(path.join(ROOT, "PulumiPlugin.yaml"), "utf8")) as { runtime: string };
        expect(manifest.runtime).to.equal("nodejs");
        expect(providerName).to.equal("ecrpull");
        expect(schema.name).to.equal("ecrpull");
    });

    it("serves every component of components/, under the type token it registers with", () => {
        expect(sourceComponents.map((c) => c.className).sort()).to.deep.equal([
            "ClusterPullAccess",
            "ExistingCluster",
            "ManagedCluster",
            "PullRepository",
            "PullRole",
            "RegistryAccess",
        ]);
        for (const component of sourceComponents) {
            // The provider constructs a component by the token in the schema; the
            // component must register under that same token.
            expect(component.typeToken, component.className).to.equal(`${providerName}:index:${component.className}`);
            expect(() => ComponentProvider.validateResourceType(providerName, component.typeToken)).not.to.throw();
            expect(schema.resources[component.typeToken], component.typeToken).to.exist;
            expect(schema.resources[component.typeToken].isComponent).to.equal(true);
            // The class's JSDoc is what other languages' SDKs show for it.
            expect(schema.resources[component.typeToken].description, `${component.className} has a description`).to.be.a("string").and.not.equal("");
        }
        expect(Object.keys(schema.resources).sort()).to.deep.equal(sourceComponents.map((c) => c.typeToken).sort());
    });

    it("has every field of each args interface as an input, required exactly when the interface requires it", () => {
        for (const component of sourceComponents) {
            const resource = schema.resources[component.typeToken];
            expect(Object.keys(resource.inputProperties).sort(), component.className).to.deep.equal(component.argsProperties);
            const required = component.argsProperties.filter((p) => !component.optional.includes(p));
            expect([...(resource.requiredInputs ?? [])].sort(), component.className).to.deep.equal(required);
        }
    });

    it("describes the nested specs (clusters, grants, repositories, workloads) as object types with all their fields", () => {
        const grant = schema.types["ecrpull:index:GrantSpec"];
        expect(Object.keys(grant.properties).sort()).to.deep.equal([
            "allowEveryServiceAccount",
            "allowPatterns",
            "clusters",
            "name",
            "path",
            "repositories",
            "scope",
            "serviceAccounts",
            "shards",
        ]);
        expect((grant as { required?: string[] }).required ?? []).to.not.include("clusters");
        expect(Object.keys(schema.types["ecrpull:index:OrganizationScope"].properties).sort()).to.deep.equal(["organization", "organizationalUnits"]);
        expect(schema.types["ecrpull:index:ClusterSpec"].properties).to.include.keys("issuerUrl", "nodeRoleArns", "clusterArn", "clusterRoles");
        expect(schema.types["ecrpull:index:WorkloadSpec"].properties).to.include.keys("namespace", "serviceAccount", "grant", "path", "shards");
    });

    it("documents every input, output and nested field from its JSDoc, as the other languages' SDKs show it", () => {
        const undocumented: string[] = [];
        const check = (where: string, properties: Record<string, SchemaProperty>) => {
            for (const [key, property] of Object.entries(properties)) {
                if (!property.description) undocumented.push(`${where}.${key}`);
            }
        };
        for (const [token, resource] of Object.entries(schema.resources)) {
            check(`${token} input`, resource.inputProperties);
            check(`${token} output`, resource.properties);
        }
        for (const [token, type] of Object.entries(schema.types)) {
            check(token, type.properties);
        }
        expect(undocumented).to.deep.equal([]);
    });

    it("exposes the components' Outputs, and keeps TypeScript-only plans out of the schema", () => {
        expect(Object.keys(schema.resources["ecrpull:index:RegistryAccess"].properties).sort()).to.deep.equal([
            "oidcProviderArns",
            "pullRoleArns",
            "replicaRepositoryUrls",
            "repositoryUrls",
        ]);
        expect(Object.keys(schema.resources["ecrpull:index:ClusterPullAccess"].properties).sort()).to.deep.equal(["clusterArn", "podSpecs", "workloads"]);
        expect(Object.keys(schema.resources["ecrpull:index:PullRole"].properties)).to.include.members(["arn", "name"]);
    });

    it("constructs a RegistryAccess from plain inputs, as a Python or YAML program's call arrives, and registers its children", async () => {
        const issuerUrl = "https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF";
        const inputs = {
            registryAccountId: REGISTRY_ACCOUNT,
            region: REGION,
            clusters: [{ name: "apps", accountId: ACCOUNT_A, issuerUrl, nodeRoleArns: [`arn:aws:iam::${ACCOUNT_A}:role/apps-nodes`] }],
            repositories: [{ name: "team/api" }],
            grants: [{ name: "team", clusters: ["apps"], serviceAccounts: [{ namespace: "team", name: "api" }], repositories: ["team/api"] }],
        };
        const { resources, outputs } = await runProgram(
            async () => {
                const result = await provider.construct("shared", `${providerName}:index:RegistryAccess`, inputs, {});
                return { urn: result.urn, pullRoleArns: result.state.pullRoleArns };
            },
            { stack: "plugin", config: {}, accountId: REGISTRY_ACCOUNT, region: REGION },
        );
        expect(outputs.urn).to.equal("urn:pulumi:plugin::ecrpull::ecrpull:index:RegistryAccess::shared");
        expect(outputs.pullRoleArns).to.deep.equal({ team: `arn:aws:iam::${REGISTRY_ACCOUNT}:role/ecr-pull-team` });
        expect(resources.filter((r) => r.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider").map((r) => r.inputs.url)).to.deep.equal([issuerUrl]);
        expect(resources.filter((r) => r.type === "aws:ecr/repositoryPolicy:RepositoryPolicy")).to.have.length(1);
    });

    it("rejects a construct of a type the package does not have, naming it", async () => {
        let message = "";
        try {
            await provider.construct("x", `${providerName}:index:NoSuchThing`, {}, {});
        } catch (error) {
            message = (error as Error).message;
        }
        expect(message).to.equal("Component class not found for 'NoSuchThing'");
    });
});
