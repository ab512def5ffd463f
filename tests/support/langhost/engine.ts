/**
 * A fake Pulumi engine for one program run: the `ResourceMonitor` and
 * `Engine` gRPC services the Node.js SDK talks to under `pulumi up` and
 * `pulumi preview`, implemented on the SDK's own generated protos.
 *
 * It behaves as the engine does where it matters to this package:
 * - A RegisterResource response is sent only once every resource the request
 *   depends on (`dependencies`, `propertyDependencies`, the provider
 *   reference; a component stands for its children) has been created, and a
 *   create takes a simulated time per type, with at most `parallel` creates
 *   at once. Independent resources are created concurrently.
 * - At the moment of creation the fake cloud (`world.ts`) checks what the
 *   real service checks; a failed create is reported as an error diagnostic
 *   on the resource, the deployment stops, and every registration still
 *   waiting is answered UNAVAILABLE ("resource monitor shut down while
 *   waiting on step's done channel"), as pkg/resource/deploy/source_eval.go
 *   does.
 * - In a preview nothing is created: responses carry the inputs only, so
 *   what a provider computes stays unknown, as in a first preview.
 * - Invoke errors are returned as the engine wraps them ("invocation of TOKEN
 *   returned an error: ...", source_eval.go).
 */
import * as grpc from "@grpc/grpc-js";
import { recordAlias, RecordedAlias } from "../../../tools/engine/mock-engine";
import { FakeCloud, fakeId, fakeInvoke, fakeState, STACK_REFERENCE_TYPE } from "../../../tools/engine/fake-cloud";
import { createSeconds, Place, World } from "./world";
import { decodeProperties, encodeProperties, UNKNOWN_VALUE } from "./wire";

/* eslint-disable @typescript-eslint/no-require-imports */
const resproto = require("@pulumi/pulumi/proto/resource_pb");
const resrpc = require("@pulumi/pulumi/proto/resource_grpc_pb");
const engproto = require("@pulumi/pulumi/proto/engine_pb");
const engrpc = require("@pulumi/pulumi/proto/engine_grpc_pb");
const structproto = require("google-protobuf/google/protobuf/struct_pb");
const emptyproto = require("google-protobuf/google/protobuf/empty_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

export type RegistrationKind = "stack" | "component" | "remote" | "custom" | "provider" | "read";

/** One RegisterResource (or ReadResource) request as the engine received it. */
export interface Registration {
    /** Order of arrival, from 0. */
    readonly seq: number;
    readonly kind: RegistrationKind;
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    /** Parent URN ("" for the stack itself). */
    readonly parent: string;
    readonly custom: boolean;
    readonly remote: boolean;
    /** Provider reference `urn::id` ("" for the default provider). */
    readonly provider: string;
    /** Providers by package, as a component passes them to its children. */
    readonly providers: Readonly<Record<string, string>>;
    readonly dependencies: readonly string[];
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
    /** Inputs, decoded: secrets unwrapped, output values replaced by their values, unknowns as `unknown`. */
    readonly inputs: Record<string, any>;
    readonly secretInputs: readonly string[];
    readonly protect: boolean | undefined;
    readonly retainOnDelete: boolean | undefined;
    readonly deletedWith: string;
    readonly ignoreChanges: readonly string[];
    readonly replaceOnChanges: readonly string[];
    readonly additionalSecretOutputs: readonly string[];
    readonly aliases: readonly RecordedAlias[];
    readonly importId: string;
    readonly version: string;
    /** The ID the provider gave it ("" until created, and in a preview). */
    id: string;
    /** What the engine answered (provider state; inputs only in a preview); for components, their registered outputs. */
    outputs: Record<string, any> | undefined;
    /** `existing`: the stack's state already held it (e.g. after `pulumi import`), so nothing was created. */
    status: "waiting" | "creating" | "created" | "failed" | "skipped" | "registered" | "existing";
}

export interface Diagnostic {
    readonly severity: "debug" | "info" | "warning" | "error";
    readonly urn: string;
    readonly message: string;
    /** "program": sent by the program through Engine.Log; "engine": the engine's own (a failed step). */
    readonly source: "program" | "engine";
    readonly ephemeral: boolean;
    /** Simulated seconds since the program's first registration. */
    readonly at: number;
}

/** A create the fake cloud received, in the order they started. */
export interface Creation {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    /** Simulated seconds since the program's first registration. */
    readonly startedAt: number;
    finishedAt?: number;
    outcome?: "created" | "failed";
    error?: string;
}

export interface InvokeRecord {
    readonly token: string;
    readonly args: Record<string, any>;
    readonly outcome: "ok" | "error" | "unknown";
    readonly error?: string;
}

export interface EngineOptions {
    readonly project: string;
    readonly stack: string;
    readonly organization: string;
    readonly preview: boolean;
    readonly parallel: number;
    /** The account and region the program's AWS credentials point at. */
    readonly place: Place;
    readonly world: World;
    readonly stackReferences?: FakeCloud["stackReferences"];
    /** Config as the program receives it, for GetDeploymentInfo. */
    readonly config: Readonly<Record<string, string>>;
    /** Real milliseconds per simulated second. */
    readonly msPerSecond: number;
    /**
     * What the stack's state holds before the run, by URN (after `pulumi
     * import`, say): registering one is no create, and the cloud is not
     * asked. Inputs that would replace it are the test's to compare.
     */
    readonly state?: ReadonlyMap<string, { readonly id: string; readonly outputs: Record<string, any> }>;
}

/**
 * What this monitor implements, so what it answers to SupportsFeature and
 * GetDeploymentInfo. Transforms, hooks, parameterized packages and state
 * migrations are not implemented, so they are not claimed.
 */
export const SUPPORTED_FEATURES: Readonly<Record<string, number>> = {
    secrets: 0,
    resourceReferences: 1,
    outputValues: 2,
    aliasSpecs: 3,
    deletedWith: 5,
    replaceWith: 6,
    invokeDependsOn: 14,
};

class Deferred {
    readonly promise: Promise<void>;
    resolve!: () => void;
    reject!: (e: Error) => void;
    settled = false;
    constructor() {
        this.promise = new Promise<void>((resolve, reject) => {
            this.resolve = () => {
                this.settled = true;
                resolve();
            };
            this.reject = (e) => {
                this.settled = true;
                reject(e);
            };
        });
        this.promise.catch(() => undefined);
    }
}

class StoppedError extends Error {}

const SHUTDOWN = "resource monitor shut down while waiting on step's done channel";

export class FakeEngine {
    readonly registrations: Registration[] = [];
    readonly diagnostics: Diagnostic[] = [];
    readonly creations: Creation[] = [];
    readonly invokes: InvokeRecord[] = [];
    /** Every RPC the SDK made, by method, in order. */
    readonly calls: string[] = [];
    /** Feature IDs the SDK asked SupportsFeature about. */
    readonly featureQueries: string[] = [];
    /** URNs named as dependencies that were never registered. */
    readonly unknownDependencies: string[] = [];
    stackOutputs: Record<string, any> | undefined;
    rootResource = "";
    /** The first failed create's error, once the deployment has stopped. */
    stoppedBy: string | undefined;

    private readonly byUrn = new Map<string, Registration>();
    private readonly done = new Map<string, Deferred>();
    private readonly children = new Map<string, string[]>();
    /** When the program's first registration arrived: time 0 of the simulated clock. */
    private startedAt: number | undefined;
    private readonly inFlight = new Set<Promise<unknown>>();
    private running = 0;
    private readonly queue: (() => void)[] = [];
    /** Rejected when the deployment stops. */
    private readonly stopped = new Deferred();

    constructor(private readonly options: EngineOptions) {}

    /** Simulated seconds since the program's first registration. */
    now(): number {
        return Math.round(((Date.now() - (this.startedAt ?? Date.now())) / this.options.msPerSecond) * 10) / 10;
    }

    registration(urn: string): Registration | undefined {
        return this.byUrn.get(urn);
    }

    /** Waits for every create in flight. */
    async idle(): Promise<void> {
        while (this.inFlight.size > 0) {
            await Promise.allSettled([...this.inFlight]);
        }
    }

    addToServer(server: grpc.Server): void {
        server.addService(resrpc.ResourceMonitorService, this.monitorService());
        server.addService(engrpc.EngineService, this.engineService());
    }

    // ---- ResourceMonitor ---------------------------------------------------

    private monitorService(): grpc.UntypedServiceImplementation {
        const unimplemented = (method: string) => (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
            this.calls.push(method);
            callback({ code: grpc.status.UNIMPLEMENTED, details: `${method} is not implemented by this engine` });
        };
        // A call answered once `handle` settles; the engine waits for it at shutdown.
        const answeredLater =
            (method: string, handle: (request: any) => Promise<unknown>) =>
            (call: grpc.ServerUnaryCall<any, unknown>, callback: grpc.sendUnaryData<unknown>) => {
                this.calls.push(method);
                this.track(
                    handle(call.request).then(
                        (r) => callback(null, r),
                        (e) => callback(e),
                    ),
                );
            };
        return {
            getDeploymentInfo: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
                this.calls.push("GetDeploymentInfo");
                const info = new resproto.DeploymentInfo();
                info.setProject(this.options.project);
                info.setStack(this.options.stack);
                info.setOrganization(this.options.organization);
                const config = info.getConfigMap();
                for (const [k, v] of Object.entries(this.options.config)) {
                    config.set(k, v);
                }
                info.setConfigsecretkeysList([]);
                info.setDryrun(this.options.preview);
                info.setParallel(this.options.parallel);
                info.setSupportedfeaturesList(Object.values(SUPPORTED_FEATURES));
                callback(null, info);
            },
            supportsFeature: (call: grpc.ServerUnaryCall<any, unknown>, callback: grpc.sendUnaryData<unknown>) => {
                this.calls.push("SupportsFeature");
                const id: string = call.request.getId();
                this.featureQueries.push(id);
                const response = new resproto.SupportsFeatureResponse();
                response.setHassupport(id in SUPPORTED_FEATURES);
                callback(null, response);
            },
            invoke: answeredLater("Invoke", (request) => this.invoke(request)),
            call: unimplemented("Call"),
            readResource: answeredLater("ReadResource", (request) => this.readResource(request)),
            existsResource: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
                this.calls.push("ExistsResource");
                const response = new resproto.ExistsResourceResponse();
                response.setExists(false);
                callback(null, response);
            },
            registerResource: answeredLater("RegisterResource", (request) => this.registerResource(request)),
            registerResourceOutputs: (call: grpc.ServerUnaryCall<any, unknown>, callback: grpc.sendUnaryData<unknown>) => {
                this.calls.push("RegisterResourceOutputs");
                const urn: string = call.request.getUrn();
                const outputs = decodeProperties(call.request.getOutputs()?.toJavaScript() ?? {}).value as Record<string, any>;
                const registration = this.byUrn.get(urn);
                if (registration) {
                    registration.outputs = outputs;
                }
                if (registration?.kind === "stack") {
                    this.stackOutputs = outputs;
                }
                callback(null, new emptyproto.Empty());
            },
            registerStackTransform: unimplemented("RegisterStackTransform"),
            registerStackInvokeTransform: unimplemented("RegisterStackInvokeTransform"),
            registerResourceHook: unimplemented("RegisterResourceHook"),
            registerErrorHook: unimplemented("RegisterErrorHook"),
            registerPackage: unimplemented("RegisterPackage"),
            signalAndWaitForShutdown: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
                this.calls.push("SignalAndWaitForShutdown");
                this.idle().then(() => callback(null, new emptyproto.Empty()));
            },
        };
    }

    private track<T>(promise: Promise<T>): void {
        const tracked = promise.catch(() => undefined);
        this.inFlight.add(tracked);
        tracked.finally(() => this.inFlight.delete(tracked));
    }

    private urnOf(type: string, name: string, parent: string): string {
        const { stack, project } = this.options;
        let qualified = type;
        if (parent) {
            const parentType = parent.split("::")[2];
            if (parentType !== "pulumi:pulumi:Stack") {
                qualified = `${parentType}$${type}`;
            }
        }
        return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
    }

    private async registerResource(req: any): Promise<unknown> {
        this.startedAt ??= Date.now();
        const type: string = req.getType();
        const name: string = req.getName();
        const parent: string = req.getParent();
        const custom: boolean = req.getCustom();
        const remote: boolean = req.getRemote();
        const urn = this.urnOf(type, name, parent);
        const decoded = decodeProperties(req.getObject()?.toJavaScript() ?? {});
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
            propertyDependencies[key] = deps.getUrnsList();
        });
        const providers: Record<string, string> = {};
        req.getProvidersMap().forEach((ref: string, pkg: string) => {
            providers[pkg] = ref;
        });
        const kind: RegistrationKind =
            type === "pulumi:pulumi:Stack" ? "stack" : type.startsWith("pulumi:providers:") ? "provider" : remote ? "remote" : custom ? "custom" : "component";
        const registration: Registration = {
            seq: this.registrations.length,
            kind,
            urn,
            type,
            name,
            parent,
            custom,
            remote,
            provider: req.getProvider(),
            providers,
            dependencies: req.getDependenciesList(),
            propertyDependencies,
            inputs: decoded.value as Record<string, any>,
            secretInputs: decoded.secretPaths,
            protect: req.hasProtect?.() ? req.getProtect() : undefined,
            retainOnDelete: req.hasRetainondelete?.() ? req.getRetainondelete() : undefined,
            deletedWith: req.getDeletedwith(),
            ignoreChanges: req.getIgnorechangesList(),
            replaceOnChanges: req.getReplaceonchangesList(),
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
            aliases: req.getAliasesList().map(recordAlias),
            importId: req.getImportid(),
            version: req.getVersion(),
            id: "",
            outputs: undefined,
            status: "waiting",
        };
        if (this.byUrn.has(urn)) {
            // The engine refuses a second resource with the same URN.
            throw { code: grpc.status.INVALID_ARGUMENT, details: `Duplicate resource URN '${urn}'; try giving it a unique name` };
        }
        this.registrations.push(registration);
        this.byUrn.set(urn, registration);
        const done = new Deferred();
        this.done.set(urn, done);
        if (parent) {
            this.children.set(parent, [...(this.children.get(parent) ?? []), urn]);
        }

        const response = new resproto.RegisterResourceResponse();
        response.setUrn(urn);
        if (this.stoppedBy !== undefined) {
            registration.status = "skipped";
            done.reject(new StoppedError(this.stoppedBy));
            throw { code: grpc.status.UNAVAILABLE, details: SHUTDOWN };
        }
        if (kind === "stack" || kind === "component") {
            // A component has no provider operation: the engine answers at once.
            registration.status = "registered";
            registration.outputs = {};
            done.resolve();
            response.setObject(structproto.Struct.fromJavaScript({}));
            return response;
        }

        try {
            await this.waitForDependencies(registration);
        } catch (error) {
            registration.status = "skipped";
            done.reject(error as Error);
            throw { code: grpc.status.UNAVAILABLE, details: SHUTDOWN };
        }

        const existing = this.options.state?.get(urn);
        if (existing) {
            registration.status = "existing";
            registration.id = existing.id;
            registration.outputs = { ...existing.outputs, ...registration.inputs };
            done.resolve();
            response.setId(existing.id);
            response.setObject(structproto.Struct.fromJavaScript(encodeProperties(registration.outputs)));
            return response;
        }

        if (this.options.preview) {
            // Nothing is created in a preview: the inputs are all that is known.
            registration.status = "created";
            registration.id = kind === "provider" ? UNKNOWN_VALUE : "";
            registration.outputs = registration.inputs;
            done.resolve();
            response.setId(registration.id);
            response.setObject(structproto.Struct.fromJavaScript(encodeProperties(registration.inputs)));
            return response;
        }

        try {
            const state = await this.create(registration);
            registration.status = "created";
            registration.id = kind === "provider" ? providerId(urn) : fakeId(type, name, registration.inputs);
            registration.outputs = state;
            done.resolve();
            response.setId(registration.id);
            response.setObject(structproto.Struct.fromJavaScript(encodeProperties(state)));
            return response;
        } catch (error) {
            if (!(error instanceof StoppedError)) {
                registration.status = "failed";
            } else {
                registration.status = "skipped";
            }
            done.reject(error as Error);
            throw { code: grpc.status.UNAVAILABLE, details: SHUTDOWN };
        }
    }

    /** The URNs a registration waits for, components expanded to their descendants. */
    private async waitForDependencies(registration: Registration): Promise<void> {
        const urns = new Set<string>([...registration.dependencies, ...Object.values(registration.propertyDependencies).flat()]);
        if (registration.provider) {
            urns.add(providerUrn(registration.provider));
        }
        const waits: Promise<void>[] = [];
        const seen = new Set<string>();
        const add = (urn: string) => {
            if (seen.has(urn) || urn === registration.urn) {
                return;
            }
            seen.add(urn);
            const dep = this.byUrn.get(urn);
            if (!dep) {
                this.unknownDependencies.push(urn);
                return;
            }
            if (dep.kind === "component" || dep.kind === "stack") {
                (this.children.get(urn) ?? []).forEach(add);
                return;
            }
            waits.push(this.done.get(urn)!.promise);
        };
        urns.forEach(add);
        await Promise.race([Promise.all(waits), this.stopped.promise]);
        if (this.stoppedBy !== undefined) {
            throw new StoppedError(this.stoppedBy);
        }
    }

    /** One create, as the provider makes it: a slot among `parallel`, the service's check, then the time it takes. */
    private async create(registration: Registration): Promise<Record<string, any>> {
        await this.slot();
        try {
            if (this.stoppedBy !== undefined) {
                throw new StoppedError(this.stoppedBy);
            }
            const place = this.options.place;
            registration.status = "creating";
            const creation: Creation = { urn: registration.urn, type: registration.type, name: registration.name, startedAt: this.now() };
            this.creations.push(creation);
            const kubernetesCluster = registration.type.startsWith("kubernetes:") ? this.kubernetesClusterOf(registration) : undefined;
            const request = { urn: registration.urn, type: registration.type, name: registration.name, inputs: registration.inputs, kubernetesCluster };
            const error = this.options.world.check(request, place);
            if (error !== undefined) {
                await this.sleep(1);
                creation.finishedAt = this.now();
                creation.outcome = "failed";
                creation.error = error;
                this.fail(registration, error);
                throw new Error(error);
            }
            await this.sleep(createSeconds(registration.type));
            const state =
                registration.kind === "provider"
                    ? { ...registration.inputs, version: registration.version }
                    : fakeState(registration.type, registration.name, registration.inputs, this.options.world.fakeCloud(place));
            this.options.world.apply(request, place, state);
            creation.finishedAt = this.now();
            creation.outcome = "created";
            return state;
        } finally {
            this.release();
        }
    }

    /** The cluster a Kubernetes object is created in: its provider's kubeconfig. */
    private kubernetesClusterOf(registration: Registration): string | undefined {
        const ref = registration.provider;
        if (!ref) {
            return undefined;
        }
        const provider = this.byUrn.get(providerUrn(ref));
        return this.options.world.clusterOfKubeconfig(provider?.inputs.kubeconfig);
    }

    /** A failed step: the engine reports it on the resource and stops the deployment. */
    private fail(registration: Registration, error: string): void {
        this.diagnostics.push({ severity: "error", urn: registration.urn, message: error, source: "engine", ephemeral: false, at: this.now() });
        if (this.stoppedBy === undefined) {
            this.stoppedBy = error;
            this.stopped.reject(new StoppedError(error));
        }
    }

    private slot(): Promise<void> {
        if (this.running < this.options.parallel) {
            this.running++;
            return Promise.resolve();
        }
        return new Promise((resolve) => this.queue.push(() => resolve()));
    }

    private release(): void {
        const next = this.queue.shift();
        if (next) {
            next();
        } else {
            this.running--;
        }
    }

    private sleep(seconds: number): Promise<void> {
        return new Promise((resolve) => setTimeout(resolve, seconds * this.options.msPerSecond));
    }

    private async readResource(req: any): Promise<unknown> {
        const type: string = req.getType();
        const name: string = req.getName();
        const parent: string = req.getParent();
        const urn = this.urnOf(type, name, parent);
        const decoded = decodeProperties(req.getProperties()?.toJavaScript() ?? {});
        const inputs = decoded.value as Record<string, any>;
        const registration: Registration = {
            seq: this.registrations.length,
            kind: "read",
            urn,
            type,
            name,
            parent,
            custom: true,
            remote: false,
            provider: req.getProvider(),
            providers: {},
            dependencies: req.getDependenciesList(),
            propertyDependencies: {},
            inputs,
            secretInputs: decoded.secretPaths,
            protect: undefined,
            retainOnDelete: undefined,
            deletedWith: "",
            ignoreChanges: [],
            replaceOnChanges: [],
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
            aliases: [],
            importId: req.getId(),
            version: req.getVersion(),
            id: req.getId(),
            outputs: undefined,
            status: "waiting",
        };
        this.registrations.push(registration);
        this.byUrn.set(urn, registration);
        const done = new Deferred();
        this.done.set(urn, done);
        if (parent) {
            this.children.set(parent, [...(this.children.get(parent) ?? []), urn]);
        }
        let state: Record<string, any>;
        try {
            if (type !== STACK_REFERENCE_TYPE) {
                throw new Error(`reading ${type} is not implemented by this engine`);
            }
            // The builtin provider reads the referenced stack's outputs, in a preview as in an update.
            state = fakeState(type, name, inputs, this.options.world.fakeCloud(this.options.place, this.options.stackReferences));
        } catch (error) {
            registration.status = "failed";
            done.reject(error as Error);
            const message = (error as Error).message;
            this.diagnostics.push({ severity: "error", urn, message, source: "engine", ephemeral: false, at: this.now() });
            throw { code: grpc.status.UNKNOWN, details: message };
        }
        registration.status = "created";
        registration.outputs = state;
        done.resolve();
        const response = new resproto.ReadResourceResponse();
        response.setUrn(urn);
        response.setProperties(structproto.Struct.fromJavaScript(encodeProperties(state)));
        return response;
    }

    private async invoke(req: any): Promise<unknown> {
        const token: string = req.getTok();
        const args = decodeProperties(req.getArgs()?.toJavaScript() ?? {}).value as Record<string, any>;
        const dependsOn: string[] = req.getDependsonList?.() ?? [];
        const response = new resproto.ResourceInvokeResponse();
        if (token === "pulumi:pulumi:getResource") {
            // The builtin provider's getResource: the SDK rehydrates a resource reference it
            // received (an eks.Cluster's `instanceRole`) from the resource's state in this deployment.
            const registration = this.byUrn.get(String(args.urn));
            await this.done.get(String(args.urn))?.promise.catch(() => undefined);
            if (!registration) {
                this.invokes.push({ token, args, outcome: "error", error: `unknown resource ${args.urn}` });
                throw { code: grpc.status.UNKNOWN, details: `invocation of ${token} returned an error: unknown resource ${args.urn}` };
            }
            this.invokes.push({ token, args, outcome: "ok" });
            response.setReturn(
                structproto.Struct.fromJavaScript(encodeProperties({ urn: registration.urn, id: registration.id, state: registration.outputs ?? {} })),
            );
            return response;
        }
        // RESOURCE_MONITOR_FEATURE_INVOKE_DEPENDS_ON: wait for what the invoke depends on; in a
        // preview, a dependency that is to be created leaves the result unknown.
        const pending = dependsOn.filter((urn) => {
            const dep = this.byUrn.get(urn);
            return dep !== undefined && dep.kind !== "component" && dep.kind !== "stack" && dep.kind !== "read";
        });
        if (this.options.preview && pending.length > 0) {
            this.invokes.push({ token, args, outcome: "unknown" });
            response.setUnknown?.(true);
            return response;
        }
        await Promise.all(pending.map((urn) => this.done.get(urn)!.promise)).catch(() => undefined);
        try {
            const result = fakeInvoke(token, args, this.options.world.fakeCloud(this.options.place, this.options.stackReferences));
            this.invokes.push({ token, args, outcome: "ok" });
            response.setReturn(structproto.Struct.fromJavaScript(encodeProperties(result)));
            return response;
        } catch (error) {
            const message = (error as Error).message;
            this.invokes.push({ token, args, outcome: "error", error: message });
            // pkg/resource/deploy/source_eval.go: "invocation of %v returned an error: %w"; the
            // bridged provider reports "invoking TOKEN: 1 error occurred: * MESSAGE".
            throw { code: grpc.status.UNKNOWN, details: `invocation of ${token} returned an error: invoking ${token}: 1 error occurred:\n\t* ${message}` };
        }
    }

    // ---- Engine ------------------------------------------------------------

    private engineService(): grpc.UntypedServiceImplementation {
        const severities: Record<number, Diagnostic["severity"]> = {
            [engproto.LogSeverity.DEBUG]: "debug",
            [engproto.LogSeverity.INFO]: "info",
            [engproto.LogSeverity.WARNING]: "warning",
            [engproto.LogSeverity.ERROR]: "error",
        };
        return {
            log: (call: grpc.ServerUnaryCall<any, unknown>, callback: grpc.sendUnaryData<unknown>) => {
                this.calls.push("Log");
                const req = call.request;
                this.diagnostics.push({
                    severity: severities[req.getSeverity()] ?? "info",
                    urn: req.getUrn(),
                    message: req.getMessage(),
                    source: "program",
                    ephemeral: req.getEphemeral(),
                    at: this.now(),
                });
                callback(null, new emptyproto.Empty());
            },
            getRootResource: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
                this.calls.push("GetRootResource");
                const response = new engproto.GetRootResourceResponse();
                response.setUrn(this.rootResource);
                callback(null, response);
            },
            setRootResource: (call: grpc.ServerUnaryCall<any, unknown>, callback: grpc.sendUnaryData<unknown>) => {
                this.calls.push("SetRootResource");
                this.rootResource = call.request.getUrn();
                callback(null, new engproto.SetRootResourceResponse());
            },
            startDebugging: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
                this.calls.push("StartDebugging");
                callback({ code: grpc.status.UNIMPLEMENTED, details: "StartDebugging is not implemented by this engine" });
            },
            requirePulumiVersion: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
                // This engine stands for a 3.x CLI recent enough for the SDK in use.
                this.calls.push("RequirePulumiVersion");
                callback(null, new engproto.RequirePulumiVersionResponse());
            },
        };
    }
}

/** The URN part of a provider reference `urn::id`. */
export function providerUrn(ref: string): string {
    return ref.slice(0, ref.lastIndexOf("::"));
}

/** A provider's ID, as the engine makes one (a UUID). */
function providerId(urn: string): string {
    const h = require("crypto").createHash("sha256").update(urn).digest("hex") as string; // eslint-disable-line @typescript-eslint/no-require-imports
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
