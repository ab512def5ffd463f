/**
 * Every Kubernetes object the EKS program creates (ServiceAccounts,
 * ConfigMaps, Namespaces) is a valid object of the Kubernetes API: it
 * validates against the Kubernetes OpenAPI schema (kubernetes-models), and
 * its names, label and annotation keys and values and ConfigMap keys follow
 * the API server's own rules (apimachinery validation), which the OpenAPI
 * schema does not express (it types `metadata.name` as a plain string).
 *
 * kubernetes-models is ESM only and its package exports have no `require`
 * condition, so neither ts-node's CommonJS `import` nor Node 20's require(esm)
 * can load it; a real dynamic `import()` (kept from the CommonJS transform by
 * `new Function`) can.
 */
import { expect } from "chai";
import { clusterRoleName, IAM_ROLE_NAME_MAX_LENGTH, PULL_ROLE_NAME_PREFIX } from "../components/iam/names";
import { RecordedResource } from "../tools/engine/mock-engine";
import { runEksStack } from "../tools/engine/two-stacks";
import { clusterA, clusterB, REGION } from "./support/fixtures";

/** A kubernetes-models class: construct from plain data, `validate()` throws on a schema violation. */
type ModelClass = new (data: Record<string, unknown>) => { validate(): void; toJSON(): Record<string, unknown> };

const importEsm = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<Record<string, unknown>>;

/** The Kubernetes kinds the EKS program may create, by Pulumi type token. */
const KUBERNETES_TYPES = ["kubernetes:core/v1:ServiceAccount", "kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:Namespace"] as const;

/** apiVersion and kind as a Pulumi Kubernetes type token implies them: `kubernetes:<group>/<version>:<Kind>`, group "core" is "". */
function typeMeta(type: string): { apiVersion: string; kind: string } {
    const match = /^kubernetes:([^/]+)\/([^:]+):(.+)$/.exec(type);
    if (!match) {
        throw new Error(`${type} is not a Kubernetes resource type token`);
    }
    const [, group, version, kind] = match;
    return { apiVersion: group === "core" ? version : `${group}/${version}`, kind };
}

async function loadModels(): Promise<Record<string, ModelClass>> {
    const models: Record<string, ModelClass> = {};
    for (const type of KUBERNETES_TYPES) {
        const { apiVersion, kind } = typeMeta(type);
        const module = await importEsm(`kubernetes-models/${apiVersion}/${kind}`);
        models[type] = module[kind] as ModelClass;
        expect(models[type], `kubernetes-models/${apiVersion}/${kind} exports ${kind}`).to.be.a("function");
    }
    return models;
}

// ---- The API server's rules the OpenAPI schema leaves out ------------------
// k8s.io/apimachinery/pkg/util/validation: IsDNS1123Label, IsDNS1123Subdomain,
// IsQualifiedName, IsValidLabelValue, IsConfigMapKey; annotations: total size
// at most 256 KiB (apimachinery/pkg/api/validation ValidateAnnotations).
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]+$/;

const isLabel = (s: string) => s.length <= 63 && DNS1123_LABEL.test(s);
const isSubdomain = (s: string) => s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
function isQualifiedName(key: string): boolean {
    const parts = key.split("/");
    if (parts.length > 2) return false;
    const name = parts[parts.length - 1];
    const prefixOk = parts.length === 1 || (parts[0] !== "" && isSubdomain(parts[0]));
    return prefixOk && name.length <= 63 && QUALIFIED_NAME_PART.test(name);
}

/** What the API server would refuse in an object the schema accepts; empty when nothing. */
function apiServerProblems(kind: string, object: Record<string, any>): string[] {
    const problems: string[] = [];
    const metadata = object.metadata ?? {};
    const name = String(metadata.name ?? "");
    // Namespaces are DNS-1123 labels; ServiceAccounts and ConfigMaps DNS-1123 subdomains.
    if (kind === "Namespace" ? !isLabel(name) : !isSubdomain(name)) {
        problems.push(`metadata.name ${JSON.stringify(name)} is not a DNS-1123 ${kind === "Namespace" ? "label" : "subdomain"}`);
    }
    if (kind !== "Namespace" && !isLabel(String(metadata.namespace ?? ""))) {
        problems.push(`metadata.namespace ${JSON.stringify(metadata.namespace)} is not a DNS-1123 label`);
    }
    for (const [key, value] of Object.entries<string>(metadata.labels ?? {})) {
        if (!isQualifiedName(key)) problems.push(`label key ${JSON.stringify(key)} is not a qualified name`);
        if (value.length > 63 || !LABEL_VALUE.test(value)) problems.push(`label ${key} value ${JSON.stringify(value)} is not a valid label value`);
    }
    let annotationBytes = 0;
    for (const [key, value] of Object.entries<string>(metadata.annotations ?? {})) {
        if (!isQualifiedName(key)) problems.push(`annotation key ${JSON.stringify(key)} is not a qualified name`);
        annotationBytes += Buffer.byteLength(key) + Buffer.byteLength(value);
    }
    if (annotationBytes > 256 * 1024) problems.push(`annotations total ${annotationBytes} bytes, more than 256 KiB`);
    if (kind === "ConfigMap") {
        for (const key of Object.keys(object.data ?? {})) {
            if (key.length > 253 || !CONFIG_MAP_KEY.test(key)) problems.push(`data key ${JSON.stringify(key)} is not a valid ConfigMap key`);
        }
    }
    return problems;
}

describe("Kubernetes objects of the EKS program", () => {
    let models: Record<string, ModelClass>;
    let objects: { stack: string; resource: RecordedResource }[];

    before(async () => {
        models = await loadModels();
        objects = [];
        // The fleet as it is, and cluster A creating its namespaces too.
        for (const stack of [clusterA(), clusterB(), clusterA({ "ecrpull:createNamespaces": true })]) {
            const run = await runEksStack(stack);
            const label = `${stack.name}${stack.config["ecrpull:createNamespaces"] ? " (createNamespaces)" : ""}`;
            objects.push(
                ...run.resources
                    .filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:index"))
                    .map((resource) => ({ stack: label, resource })),
            );
        }
    });

    /** The object as the API server receives it: the resource's inputs with the apiVersion and kind of its type. */
    function manifest(resource: RecordedResource): Record<string, unknown> {
        const meta = typeMeta(resource.type);
        // The provider sets both itself; if it ever sends others, they must agree with the type.
        if (resource.inputs.apiVersion !== undefined) expect(resource.inputs.apiVersion, resource.name).to.equal(meta.apiVersion);
        if (resource.inputs.kind !== undefined) expect(resource.inputs.kind, resource.name).to.equal(meta.kind);
        return { ...resource.inputs, ...meta };
    }

    it("creates only the kinds this test knows, and each of them", () => {
        const types = new Set(objects.map((o) => o.resource.type));
        expect([...types].sort()).to.deep.equal([...KUBERNETES_TYPES].sort());
        const count = (type: string) => objects.filter((o) => o.resource.type === type).length;
        // A: 3 service accounts, 1 ConfigMap (chained grant payments); B: 2 service accounts; A again with its 3 namespaces.
        expect([count(KUBERNETES_TYPES[0]), count(KUBERNETES_TYPES[1]), count(KUBERNETES_TYPES[2])]).to.deep.equal([8, 2, 3]);
    });

    it("validates every object against the Kubernetes OpenAPI schema", () => {
        for (const { stack, resource } of objects) {
            const model = new models[resource.type](manifest(resource));
            expect(() => model.validate(), `${stack} ${resource.type} ${resource.name}`).not.to.throw();
        }
    });

    it("gives every object names, labels, annotations and keys the API server accepts", () => {
        for (const { stack, resource } of objects) {
            const { kind } = typeMeta(resource.type);
            expect(apiServerProblems(kind, resource.inputs), `${stack} ${resource.type} ${resource.name}`).to.deep.equal([]);
        }
    });

    it("stays valid at the longest names the EKS config accepts", async () => {
        // Longest grant name both role names allow, longest namespace, a 253-character dotted service account name.
        const overhead = clusterRoleName("chaining", "g", REGION, "apps-a").length - 1;
        const grant = "g".repeat(Math.min(IAM_ROLE_NAME_MAX_LENGTH - overhead, IAM_ROLE_NAME_MAX_LENGTH - PULL_ROLE_NAME_PREFIX.length));
        const namespace = "n".repeat(63);
        const serviceAccount = `${"s".repeat(63)}.${"s".repeat(63)}.${"s".repeat(63)}.${"s".repeat(61)}`;
        expect(serviceAccount).to.have.length(253);
        const run = await runEksStack(
            clusterA({
                "ecrpull:createNamespaces": true,
                "ecrpull:workloads": [{ namespace, serviceAccount, grant, path: "chaining" }],
            }),
        );
        const created = run.resources.filter((r) => (KUBERNETES_TYPES as readonly string[]).includes(r.type));
        expect(created.map((r) => r.type).sort()).to.deep.equal([KUBERNETES_TYPES[1], KUBERNETES_TYPES[2], KUBERNETES_TYPES[0]].sort());
        for (const resource of created) {
            expect(() => new models[resource.type](manifest(resource)).validate(), resource.name).not.to.throw();
            expect(apiServerProblems(typeMeta(resource.type).kind, resource.inputs), resource.name).to.deep.equal([]);
        }
    });

    describe("the checks can fail", () => {
        it("the schema refuses a ConfigMap whose data value is a number, and an annotation that is not a string", () => {
            const configMap = new models["kubernetes:core/v1:ConfigMap"]({
                apiVersion: "v1",
                kind: "ConfigMap",
                metadata: { name: "ecr-pull-payments", namespace: "payments" },
                data: { config: 7 },
            });
            expect(() => configMap.validate()).to.throw(/data\/config must be string/);
            const serviceAccount = new models["kubernetes:core/v1:ServiceAccount"]({
                apiVersion: "v1",
                kind: "ServiceAccount",
                metadata: { name: "deployer", namespace: "payments", annotations: { "eks.amazonaws.com/role-arn": 111122223333 } },
            });
            expect(() => serviceAccount.validate()).to.throw("metadata/annotations/eks.amazonaws.com~1role-arn must be string");
        });

        it("the API server rules refuse an underscore in a ServiceAccount name, a label value too long, a bad ConfigMap key", () => {
            expect(apiServerProblems("ServiceAccount", { metadata: { name: "image_builder", namespace: "ci" } })).to.deep.equal([
                'metadata.name "image_builder" is not a DNS-1123 subdomain',
            ]);
            expect(apiServerProblems("Namespace", { metadata: { name: "team.a" } })).to.deep.equal(['metadata.name "team.a" is not a DNS-1123 label']);
            expect(
                apiServerProblems("ConfigMap", {
                    metadata: { name: "c", namespace: "n", labels: { "ecrpull.dev/grant": "x".repeat(64) } },
                    data: { "a/b": "" },
                }),
            ).to.deep.equal([`label ecrpull.dev/grant value "${"x".repeat(64)}" is not a valid label value`, 'data key "a/b" is not a valid ConfigMap key']);
        });
    });
});
