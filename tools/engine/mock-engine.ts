/**
 * Runs a stack program in-process on the Pulumi SDK's mock engine, the way
 * `pulumi preview`/`up` would run it, and records every resource it
 * registers. Used by the tests and by `npm run plan`; needs no CLI, no
 * plugin, no credentials and no network.
 *
 * Config is handed over as the CLI does it: structured values as JSON text,
 * scalars as strings. Invoke answers and the outputs that only a provider
 * would compute (ARNs, URLs, the EKS issuer) come from the fake cloud
 * (`fake-cloud.ts`), which the language-host harness shares.
 */
import * as pulumi from "@pulumi/pulumi";
import { ExistingClusterFixture, FakeCloud, fakeId, fakeInvoke, fakeState, STACK_REFERENCE_TYPE } from "./fake-cloud";

// The fake cloud lives in fake-cloud.ts, shared with the language-host harness.
export type { ExistingClusterFixture } from "./fake-cloud";
export { fakeIssuerId } from "./fake-cloud";

export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    /** URN of the parent; the stack itself when empty. */
    readonly parent: string;
    /** Provider reference (`urn::id`), when one was passed. */
    readonly provider: string;
    readonly custom: boolean;
    readonly retainOnDelete: boolean;
    readonly protect: boolean;
    /** URNs this resource explicitly depends on. */
    readonly dependsOn: readonly string[];
    /** Former identities sent to the engine (`aliases`), as alias specs or URNs. */
    readonly aliases: readonly RecordedAlias[];
    readonly inputs: Record<string, any>;
    /** The provider's ID for the resource (custom resources). */
    readonly id: string;
    /** What the provider returned: inputs plus computed outputs (inputs only in a preview). */
    readonly state: Record<string, any>;
}

/** An alias as the SDK sends it: a URN, or a spec whose unset parts are the resource's own. */
export interface RecordedAlias {
    readonly urn: string;
    readonly name: string;
    readonly type: string;
    readonly stack: string;
    readonly project: string;
    readonly parentUrn: string;
    readonly noParent: boolean;
}

export interface RunOptions {
    readonly stack: string;
    /** Keys with their namespace (`ecrpull:workloads`, `aws:region`). */
    readonly config: Readonly<Record<string, unknown>>;
    /** The account the program's credentials belong to. */
    readonly accountId: string;
    readonly region: string;
    /** Outputs of referenced stacks, by stack name. */
    readonly stackReferences?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
    /** Clusters `aws.eks.getCluster` knows, by name. */
    readonly existingClusters?: Readonly<Record<string, ExistingClusterFixture>>;
    /** Subnets `aws.ec2.getSubnet` knows, by ID, and the default VPC. */
    readonly subnets?: FakeCloud["subnets"];
    readonly defaultVpcId?: string;
    /** Registry-account resources that exist before the program runs. */
    readonly existingRegistry?: FakeCloud["existingRegistry"];
    /** Provider functions the credentials may not call. */
    readonly deniedInvokes?: FakeCloud["deniedInvokes"];
    /** Other IAM roles of the account (an adopted cluster's node roles), with their tags. */
    readonly existingRoles?: FakeCloud["existingRoles"];
    /** Run as a preview: outputs the mocks do not return stay unknown. */
    readonly preview?: boolean;
    readonly project?: string;
    readonly organization?: string;
}

/** The resources a failed run registered before it failed (set on the thrown error). */
export function resourcesBeforeFailure(error: unknown): readonly RecordedResource[] {
    return (error as { recordedResources?: RecordedResource[] })?.recordedResources ?? [];
}

export interface ProgramRun<T> {
    /** Stack outputs with every Output resolved (undefined where unknown in a preview). */
    readonly outputs: T;
    readonly resources: readonly RecordedResource[];
}

export const PROJECT = "ecrpull";

/** Config as the CLI hands it to a program: every value a string. */
function asCliConfig(config: Readonly<Record<string, unknown>>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) {
        out[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return out;
}

export async function runProgram<T>(program: () => Promise<T>, options: RunOptions): Promise<ProgramRun<Resolved<T>>> {
    const recorded: RecordedResource[] = [];
    const { accountId, region } = options;
    const pending = new Map<string, Omit<RecordedResource, "urn" | "inputs" | "id" | "state">>();
    // Recorded resources whose URN the monitor has not answered yet, by `type::name`, oldest first:
    // a lookup per answer, not a scan of every resource (quadratic in a fleet's thousands).
    const awaitingUrn = new Map<string, RecordedResource[]>();

    const cloud: FakeCloud = {
        accountId,
        region,
        existingClusters: options.existingClusters,
        stackReferences: options.stackReferences,
        subnets: options.subnets,
        defaultVpcId: options.defaultVpcId,
        existingRegistry: options.existingRegistry,
        deniedInvokes: options.deniedInvokes,
        existingRoles: options.existingRoles,
    };

    const mocks: pulumi.runtime.Mocks = {
        call(args) {
            try {
                return fakeInvoke(args.token, args.inputs, cloud);
            } catch (error) {
                // The SDK turns a failed invoke into `new Error(err.details)` (runtime/invoke.js), as the
                // engine's gRPC status carries the provider's message: give the mock's error the same.
                throw Object.assign(new Error((error as Error).message), { details: (error as Error).message });
            }
        },
        newResource(args) {
            const inputs = args.inputs as Record<string, any>;
            // A first preview knows only inputs: what a provider computes (ARNs,
            // the EKS issuer) stays unknown, as it does before anything exists.
            const state = options.preview && args.type !== STACK_REFERENCE_TYPE ? inputs : fakeState(args.type, args.name, inputs, cloud);
            const id = fakeId(args.type, args.name, inputs);
            const key = `${args.type}::${args.name}`;
            const meta = pending.get(key);
            const entry: RecordedResource = {
                type: args.type,
                name: args.name,
                urn: "",
                parent: meta?.parent ?? "",
                provider: args.provider ?? "",
                custom: args.custom ?? true,
                retainOnDelete: meta?.retainOnDelete ?? false,
                protect: meta?.protect ?? false,
                dependsOn: meta?.dependsOn ?? [],
                aliases: meta?.aliases ?? [],
                inputs,
                id,
                state,
            };
            recorded.push(entry);
            awaitingUrn.set(key, [...(awaitingUrn.get(key) ?? []), entry]);
            return { id, state };
        },
    };

    pulumi.runtime.setAllConfig(asCliConfig({ "aws:region": region, ...options.config }));
    await pulumi.runtime.setMocks(mocks, options.project ?? PROJECT, options.stack, options.preview ?? false, options.organization ?? "acme");

    // The Mocks interface does not see parents or resource options; the
    // monitor's request does, so read them there before the mock runs.
    const monitor = pulumi.runtime.getMonitor() as any;
    // Registrations (creates) and reads (stack references) alike.
    for (const method of ["registerResource", "readResource"] as const) {
        const original = monitor[method].bind(monitor);
        monitor[method] = (req: any, callback: (err: any, res: any) => void) => {
            pending.set(`${req.getType()}::${req.getName()}`, {
                type: req.getType(),
                name: req.getName(),
                parent: req.getParent(),
                provider: req.getProvider(),
                custom: true,
                retainOnDelete: req.getRetainondelete?.() ?? false,
                protect: req.getProtect?.() ?? false,
                dependsOn: req.getDependenciesList?.() ?? [],
                aliases: (req.getAliasesList?.() ?? []).map(recordAlias),
            });
            return original(req, (err: any, res: any) => {
                if (res) {
                    const urn: string = res.getUrn();
                    const entry = awaitingUrn.get(`${req.getType()}::${req.getName()}`)?.shift();
                    if (entry) {
                        (entry as { urn: string }).urn = urn;
                    }
                }
                callback(err, res);
            });
        };
    }

    // A resource whose inputs fail (a check inside an apply) rejects a promise
    // nobody awaits; the CLI fails the update on it, and so does this runner.
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    let outputs: unknown;
    let failure: unknown;
    try {
        outputs = await resolveDeep(await program());
    } catch (error) {
        failure = error;
    }
    // Wait for every registration in flight, even after a failure, so that
    // none of them lands on the next run's engine.
    await pulumi.runtime.disconnect().catch(() => undefined);
    // Let rejections of the last registrations surface before judging.
    await new Promise((resolve) => setImmediate(resolve));
    process.off("unhandledRejection", onUnhandled);
    // The engine refuses two resources with one URN; so does this runner.
    if (failure === undefined) {
        const seen = new Set<string>();
        const duplicate = recorded.find((r) => r.urn !== "" && (seen.has(r.urn) || !seen.add(r.urn)));
        if (duplicate) {
            failure = new Error(`Duplicate resource URN '${duplicate.urn}'; try giving it a unique name`);
        }
    }
    if (failure !== undefined || unhandled.length > 0) {
        const error = failure ?? unhandled[0];
        // What was registered before the failure, for tests that check nothing was created.
        if (typeof error === "object" && error !== null) {
            Object.assign(error, { recordedResources: recorded });
        }
        throw error;
    }
    return { outputs: outputs as Resolved<T>, resources: recorded };
}

/** An alias of a RegisterResource request, as the engine receives it. */
export function recordAlias(alias: any): RecordedAlias {
    const spec = alias.hasSpec() ? alias.getSpec() : undefined;
    return {
        urn: alias.getUrn() ?? "",
        name: spec?.getName() ?? "",
        type: spec?.getType() ?? "",
        stack: spec?.getStack() ?? "",
        project: spec?.getProject() ?? "",
        parentUrn: spec?.getParenturn() ?? "",
        noParent: spec?.getNoparent() ?? false,
    };
}

export type Resolved<T> =
    T extends pulumi.Output<infer U> ? Resolved<U> : T extends Promise<infer U> ? Resolved<U> : T extends object ? { [K in keyof T]: Resolved<T[K]> } : T;

/** Waits for an Output's value; undefined when it is unknown (a preview). */
export async function promiseOf<T>(output: pulumi.Output<T>): Promise<T | undefined> {
    return (await resolveDeep(output)) as T | undefined;
}

async function resolveDeep(value: unknown): Promise<unknown> {
    if (pulumi.Output.isInstance(value)) {
        const known = await (value as any).isKnown;
        return known ? resolveDeep(await (value as any).promise()) : undefined;
    }
    if (value instanceof Promise) {
        return resolveDeep(await value);
    }
    if (Array.isArray(value)) {
        return Promise.all(value.map(resolveDeep));
    }
    if (value !== null && typeof value === "object" && !pulumi.Resource.isInstance(value)) {
        const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveDeep(v)] as const));
        return Object.fromEntries(entries);
    }
    return value;
}
