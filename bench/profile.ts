/**
 * Reads a V8 CPU profile (`node --cpu-prof`) and says where the time of one
 * window (the program run) went: self time by function, self time by area
 * (SDK runtime, gRPC/protobuf, this package, ...), and inclusive time of the
 * package's own functions.
 */
import * as fs from "fs";

interface CallFrame {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
}

interface ProfileNode {
    readonly id: number;
    readonly callFrame: CallFrame;
    readonly children?: readonly number[];
}

interface CpuProfile {
    readonly nodes: readonly ProfileNode[];
    readonly startTime: number;
    readonly endTime: number;
    readonly samples: readonly number[];
    readonly timeDeltas: readonly number[];
}

export interface ProfileSummary {
    /** Sampled time inside the window, ms. */
    readonly totalMs: number;
    /** Whether the window was found inside the profile (else the whole profile is summarized). */
    readonly windowed: boolean;
    readonly selfByFunction: readonly { readonly name: string; readonly ms: number }[];
    readonly selfByArea: readonly { readonly name: string; readonly ms: number }[];
    readonly inclusiveOwn: readonly { readonly name: string; readonly ms: number }[];
    /** Inclusive time of the SDK and tool functions that a first look found hot (see SUSPECTS). */
    readonly inclusiveSuspects: readonly { readonly name: string; readonly ms: number }[];
}

/** Functions worth an inclusive figure: each stack frame is matched against them. */
const SUSPECTS: readonly { readonly label: string; readonly fn: string; readonly url?: string }[] = [
    {
        label: "Resource.callsites: @pulumi/pulumi captures an unlimited stack trace per resource (source position)",
        fn: "callsites",
        url: "@pulumi/pulumi/resource.js",
    },
    { label: "debuggablePromise: @pulumi/pulumi captures a stack trace per RPC promise", fn: "debuggablePromise", url: "@pulumi/pulumi/runtime/debuggable.js" },
    { label: "prepareStackTrace: source-map-support (installed by ts-node) maps every frame", fn: "prepareStackTrace", url: "source-map-support" },
    { label: "pathToFileURL: @pulumi/pulumi turns each frame's file into a URI", fn: "pathToFileURL" },
    { label: "registerResource: @pulumi/pulumi runtime (inputs, serialization, RPC)", fn: "registerResource", url: "@pulumi/pulumi/runtime/resource.js" },
    { label: "serializeProperties: @pulumi/pulumi", fn: "serializeProperties", url: "@pulumi/pulumi/runtime/rpc.js" },
    { label: "MockMonitor.registerResource: the SDK's mock engine", fn: "registerResource", url: "@pulumi/pulumi/runtime/mocks.js" },
];

/** Which part of the process a source URL belongs to. */
export function areaOf(frame: CallFrame): string {
    const { url, functionName } = frame;
    if (url === "") {
        if (functionName === "(garbage collector)") return "V8: garbage collector";
        if (functionName === "(idle)") return "idle (waiting on the event loop)";
        if (functionName === "(program)") return "V8/native (program)";
        return `native: ${functionName}`;
    }
    const inModule = (m: string) => url.includes(`/node_modules/${m}/`);
    if (inModule("@pulumi/pulumi")) {
        const rest = url.split("/node_modules/@pulumi/pulumi/")[1] ?? "";
        return `@pulumi/pulumi ${rest.replace(/\.js$/, "")}`;
    }
    if (inModule("@grpc/grpc-js")) return "@grpc/grpc-js";
    if (inModule("google-protobuf")) return "google-protobuf";
    if (inModule("@pulumi/aws") || inModule("@pulumi/kubernetes") || inModule("@pulumi/eks")) return "provider SDKs (@pulumi/aws, kubernetes, eks)";
    if (inModule("ts-node") || inModule("typescript")) return "ts-node / typescript";
    const node = url.match(/\/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
    if (node) return `node_modules ${node[1]}`;
    if (url.startsWith("node:")) return "node internals";
    const own = url.match(/\/(components|stacks|scripts|bench)\/([^/]+)\.ts$/);
    if (own) return `package ${own[1]}/${own[2]}.ts`;
    return url;
}

function frameName(frame: CallFrame): string {
    const file =
        frame.url === ""
            ? ""
            : ` ${frame.url.replace(/^.*\/node_modules\//, "").replace(/^file:\/\/.*\/(components|stacks|scripts|bench)\//, "$1/")}:${frame.lineNumber + 1}`;
    return `${frame.functionName || "(anonymous)"}${file}`;
}

const isOwn = (url: string) => /\/(components|stacks|scripts)\/[^/]+\.ts$/.test(url) && !url.includes("/node_modules/");

export function summarizeProfile(file: string, windowUs: readonly [number, number], top = 12): ProfileSummary {
    const profile = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parentOf = new Map<number, number>();
    for (const n of profile.nodes) {
        for (const c of n.children ?? []) {
            parentOf.set(c, n.id);
        }
    }
    const [from, to] = windowUs;
    const windowed = from >= profile.startTime && to <= profile.endTime && to > from;
    const self = new Map<string, number>();
    const area = new Map<string, number>();
    const inclusive = new Map<string, number>();
    const suspects = new Map<string, number>();
    let total = 0;
    let t = profile.startTime;
    profile.samples.forEach((id, i) => {
        const delta = profile.timeDeltas[i] ?? 0;
        t += delta;
        if (windowed && (t < from || t > to)) {
            return;
        }
        const node = byId.get(id);
        if (!node) {
            return;
        }
        total += delta;
        const name = frameName(node.callFrame);
        self.set(name, (self.get(name) ?? 0) + delta);
        const a = areaOf(node.callFrame);
        area.set(a, (area.get(a) ?? 0) + delta);
        const seen = new Set<string>();
        for (let cur: number | undefined = id; cur !== undefined; cur = parentOf.get(cur)) {
            const frame = byId.get(cur)!.callFrame;
            for (const suspect of SUSPECTS) {
                if (frame.functionName === suspect.fn && (!suspect.url || frame.url.includes(suspect.url)) && !seen.has(suspect.label)) {
                    seen.add(suspect.label);
                    suspects.set(suspect.label, (suspects.get(suspect.label) ?? 0) + delta);
                }
            }
            if (isOwn(frame.url)) {
                const key = frameName(frame);
                if (!seen.has(key)) {
                    seen.add(key);
                    inclusive.set(key, (inclusive.get(key) ?? 0) + delta);
                }
            }
        }
    });
    const sorted = (m: Map<string, number>) =>
        [...m.entries()]
            .sort((a, b) => b[1] - a[1])
            .slice(0, top)
            .map(([name, us]) => ({ name, ms: us / 1000 }));
    return {
        totalMs: total / 1000,
        windowed,
        selfByFunction: sorted(self),
        selfByArea: sorted(area),
        inclusiveOwn: sorted(inclusive),
        inclusiveSuspects: SUSPECTS.map((x) => ({ name: x.label, ms: (suspects.get(x.label) ?? 0) / 1000 })),
    };
}
