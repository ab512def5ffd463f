/**
 * The real AWS clients the tests run in emulated pods, each doing the same
 * operations and reporting each result as success (with the caller ARN, the
 * image digest…) or the error code and message the client surfaced:
 * - AWS CLI v2: /usr/bin/aws (Debian awscli; `aws` on PATH may be a pyenv shim
 *   for another version), one process per operation as a script would run it;
 * - boto3: /usr/bin/python3 with Debian's python3-boto3 (boto3_client.py);
 * - AWS SDK for Go v2: Debian's golang-github-aws-aws-sdk-go-v2-dev, built
 *   offline here (go/main.go, `config.LoadDefaultConfig` with no options);
 * - AWS SDK for JavaScript v3 from node_modules (js-client.js), always present.
 */
import * as childProcess from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Command, CommandResult } from "../pod/run";

export type Op =
    | { readonly kind: "get-caller-identity" }
    | { readonly kind: "get-authorization-token"; readonly registryIds?: readonly string[] }
    | { readonly kind: "batch-get-image"; readonly registryId: string; readonly repository: string; readonly tag: string }
    | { readonly kind: "initiate-layer-upload"; readonly registryId: string; readonly repository: string }
    | { readonly kind: "put-image"; readonly registryId: string; readonly repository: string; readonly tag: string; readonly manifest: string };

export interface OpResult {
    readonly op: Op["kind"];
    readonly ok: boolean;
    readonly code?: string;
    readonly message?: string;
    readonly arn?: string;
    readonly digest?: string | null;
    readonly proxyEndpoint?: string;
    readonly uploadId?: string;
}

export interface RealClient {
    readonly id: "aws-cli" | "boto3" | "go-sdk" | "js-sdk";
    readonly label: string;
    /** Version text once probed. */
    version: string;
    /** Undefined when usable; else why not (not installed, does not build…). */
    prepare(): Promise<string | undefined>;
    commands(ops: readonly Op[]): Command[];
    parse(ops: readonly Op[], results: readonly CommandResult[]): OpResult[];
}

const CLIENTS_DIR = __dirname;
const TIMEOUT_MS = 45000;

function run(argv: string[], env?: NodeJS.ProcessEnv, cwd?: string): { ok: boolean; out: string } {
    const r = childProcess.spawnSync(argv[0], argv.slice(1), { encoding: "utf8", env: env ?? { PATH: "/usr/bin:/bin" }, cwd, timeout: 120000 });
    return { ok: !r.error && r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}`.trim() };
}

/** JSON lines of a one-process client; an op without a line failed with the process's output. */
function parseJsonLines(ops: readonly Op[], result: CommandResult | undefined): OpResult[] {
    const lines = (result?.stdout ?? "")
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as OpResult);
    return ops.map(
        (op, i) =>
            lines[i] ?? {
                op: op.kind,
                ok: false,
                code: result?.timedOut ? "Timeout" : "NoOutput",
                message: `exit ${result?.exitCode} ${result?.signal ?? ""}: ${(result?.stderr ?? "").trim().slice(-2000)}`,
            },
    );
}

const opArgs = (op: Op): string[] => {
    switch (op.kind) {
        case "get-caller-identity":
            return ["sts", "get-caller-identity"];
        case "get-authorization-token":
            return ["ecr", "get-authorization-token", ...(op.registryIds ? ["--registry-ids", ...op.registryIds] : [])];
        case "batch-get-image":
            return ["ecr", "batch-get-image", "--registry-id", op.registryId, "--repository-name", op.repository, "--image-ids", `imageTag=${op.tag}`];
        case "initiate-layer-upload":
            return ["ecr", "initiate-layer-upload", "--registry-id", op.registryId, "--repository-name", op.repository];
        case "put-image":
            return [
                "ecr",
                "put-image",
                "--registry-id",
                op.registryId,
                "--repository-name",
                op.repository,
                "--image-tag",
                op.tag,
                "--image-manifest",
                op.manifest,
            ];
    }
};

export const awsCli: RealClient = {
    id: "aws-cli",
    label: "AWS CLI v2 (/usr/bin/aws)",
    version: "",
    async prepare() {
        if (!fs.existsSync("/usr/bin/aws")) {
            return "/usr/bin/aws is not installed (Debian package awscli)";
        }
        const v = run(["/usr/bin/aws", "--version"], { PATH: "/usr/bin:/bin", HOME: os.tmpdir() });
        this.version = v.out.split(" ")[0];
        return v.ok ? undefined : `/usr/bin/aws --version failed: ${v.out}`;
    },
    commands(ops) {
        return ops.map((op) => ({ argv: ["/usr/bin/aws", ...opArgs(op), "--output", "json"], timeoutMs: TIMEOUT_MS }));
    },
    parse(ops, results) {
        return ops.map((op, i): OpResult => {
            const r = results[i];
            if (r && r.exitCode === 0) {
                const body = JSON.parse(r.stdout || "{}");
                return {
                    op: op.kind,
                    ok: true,
                    arn: body.Arn,
                    proxyEndpoint: body.authorizationData?.[0]?.proxyEndpoint,
                    digest: body.images ? (body.images[0]?.imageId?.imageDigest ?? null) : body.image?.imageId?.imageDigest,
                    uploadId: body.uploadId,
                };
            }
            const stderr = (r?.stderr ?? "").trim();
            const m = /An error occurred \(([^)]+)\) when calling the \w+ operation(?: \(reached max retries: \d+\))?: ([\s\S]*)$/.exec(stderr);
            return m
                ? { op: op.kind, ok: false, code: m[1], message: m[2].trim() }
                : { op: op.kind, ok: false, code: r?.timedOut ? "Timeout" : "CliError", message: stderr };
        });
    },
};

export const boto3: RealClient = {
    id: "boto3",
    label: "boto3 (/usr/bin/python3)",
    version: "",
    async prepare() {
        const v = run(["/usr/bin/python3", "-c", "import boto3, botocore; print('boto3/' + boto3.__version__, 'botocore/' + botocore.__version__)"]);
        this.version = v.out;
        return v.ok ? undefined : `/usr/bin/python3 cannot import boto3 (Debian package python3-boto3): ${v.out.split("\n").pop()}`;
    },
    commands(ops) {
        return [{ argv: ["/usr/bin/python3", path.join(CLIENTS_DIR, "boto3_client.py"), JSON.stringify(ops)], timeoutMs: TIMEOUT_MS }];
    },
    parse: (ops, results) => parseJsonLines(ops, results[0]),
};

const GO_SDK = "/usr/share/gocode/src/github.com/aws/aws-sdk-go-v2";

/** Where the Go client was built (cached by source hash), and how long the build took (0 when cached). */
export const goBuild = { binary: "", ms: 0, cached: false };

export const goSdk: RealClient = {
    id: "go-sdk",
    label: "AWS SDK for Go v2 (Debian)",
    version: "",
    async prepare() {
        if (!fs.existsSync("/usr/bin/go")) {
            return "/usr/bin/go is not installed (Debian package golang-go)";
        }
        if (!fs.existsSync(`${GO_SDK}/config`)) {
            return `${GO_SDK} is missing (Debian package golang-github-aws-aws-sdk-go-v2-dev)`;
        }
        const goVersion = run(["/usr/bin/go", "version"]).out;
        const metadata = fs.readFileSync(`${GO_SDK}/aws/go_module_metadata.go`, "utf8");
        const sdkVersion = /goModuleVersion = "([^"]+)"/.exec(metadata)?.[1] ?? "unknown";
        this.version = `aws-sdk-go-v2/${sdkVersion} (${goVersion.replace(/^go version /, "")})`;
        const source = fs.readFileSync(path.join(CLIENTS_DIR, "go", "main.go"), "utf8");
        const hash = crypto.createHash("sha256").update(source).update(goVersion).update(sdkVersion).digest("hex").slice(0, 16);
        const dir = path.join(os.tmpdir(), `ecrpull-go-client-${hash}`);
        goBuild.binary = path.join(dir, "client");
        if (fs.existsSync(goBuild.binary)) {
            goBuild.cached = true;
            return undefined;
        }
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, "main.go"), source);
        const started = Date.now();
        // GOPATH mode against the Debian sources: nothing is fetched (GOPROXY=off), nothing written outside the temp dirs.
        const build = run(
            ["/usr/bin/go", "build", "-o", `${goBuild.binary}.tmp`, "main.go"],
            {
                PATH: "/usr/bin:/bin",
                HOME: dir,
                GO111MODULE: "off",
                GOPATH: "/usr/share/gocode",
                GOPROXY: "off",
                GOFLAGS: "",
                GOTOOLCHAIN: "local",
                CGO_ENABLED: "0",
                GOCACHE: path.join(os.tmpdir(), "ecrpull-go-cache"),
            },
            dir,
        );
        goBuild.ms = Date.now() - started;
        if (!build.ok) {
            return `the Go client does not build offline: ${build.out.slice(0, 2000)}`;
        }
        fs.renameSync(`${goBuild.binary}.tmp`, goBuild.binary);
        return undefined;
    },
    commands(ops) {
        return [{ argv: [goBuild.binary, JSON.stringify(ops)], timeoutMs: TIMEOUT_MS }];
    },
    parse: (ops, results) => parseJsonLines(ops, results[0]),
};

export const jsSdk: RealClient = {
    id: "js-sdk",
    label: "AWS SDK for JavaScript v3 (node_modules)",
    version: "",
    async prepare() {
        const version = (name: string) =>
            JSON.parse(fs.readFileSync(path.join(CLIENTS_DIR, "..", "..", "..", "node_modules", name, "package.json"), "utf8")).version as string;
        this.version = `client-sts/${version("@aws-sdk/client-sts")} client-ecr/${version("@aws-sdk/client-ecr")} credential-provider-node/${version("@aws-sdk/credential-provider-node")} (node ${process.version})`;
        return undefined;
    },
    commands(ops) {
        return [{ argv: [process.execPath, path.join(CLIENTS_DIR, "js-client.js"), JSON.stringify(ops)], timeoutMs: TIMEOUT_MS }];
    },
    parse: (ops, results) => parseJsonLines(ops, results[0]),
};

export const REAL_CLIENTS: readonly RealClient[] = [awsCli, boto3, goSdk, jsSdk];
