/* global require, process, Buffer, setTimeout, clearTimeout */
/* eslint-disable @typescript-eslint/no-require-imports -- plain CommonJS run by node inside the pod */
/**
 * The emulated pod's init, run by tests/support/pod/run.ts as
 *   unshare --net --mount --propagation private -- node pod-init.js
 * with a JSON spec on stdin. Inside the new network namespace (nothing but
 * loopback) and mount namespace it:
 * 1. brings `lo` up and adds the spec's link-local addresses to it (the Pod
 *    Identity agent's; on a node, the Instance Metadata Service's);
 * 2. mounts a tmpfs on the run's (empty) stage directory and, for each
 *    existing directory the pod's files go under (/etc, /run...), an overlay
 *    whose upper layer is on that tmpfs, so the files appear at their exact
 *    absolute paths and nothing is written to the host;
 * 3. writes the files (tokens, config maps, /etc/hosts, the test CA) and
 *    creates HOME;
 * 4. relays 127.0.0.1:443, 169.254.170.23:80 (and 169.254.169.254:80 on a
 *    node) to the endpoint's Unix sockets (TLS is not terminated here: SNI
 *    reaches the endpoint);
 * 5. runs the commands one after the other with exactly the given
 *    environment, and prints their results as one JSON document.
 * Plain JavaScript: it runs under plain node, before any client starts.
 */
"use strict";
const childProcess = require("child_process");
const fs = require("fs");
const net = require("net");
const path = require("path");

function sh(argv) {
    childProcess.execFileSync(argv[0], argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
}

/** The deepest existing directory above `file`, through symlinks. */
function existingAncestor(file) {
    let dir = path.dirname(file);
    while (!fs.existsSync(dir)) {
        dir = path.dirname(dir);
    }
    return fs.realpathSync(dir);
}

function overlayTargets(files) {
    const targets = [...new Set(files.map((f) => existingAncestor(f.path)))].sort((a, b) => a.length - b.length);
    const kept = [];
    for (const t of targets) {
        if (t === "/") {
            throw new Error(
                `pod-init: cannot overlay / for a pod file; files must go under an existing directory such as /etc, /run or /var: ${files.map((f) => f.path).join(", ")}`,
            );
        }
        if (!kept.some((k) => t === k || t.startsWith(`${k}/`))) {
            kept.push(t);
        }
    }
    return kept;
}

function relay(listen, socketPath) {
    const server = net.createServer((client) => {
        const upstream = net.connect(socketPath);
        const close = () => {
            client.destroy();
            upstream.destroy();
        };
        client.on("error", close);
        upstream.on("error", close);
        client.pipe(upstream);
        upstream.pipe(client);
    });
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(listen.port, listen.host, () => resolve(server));
    });
}

function run(command, env) {
    return new Promise((resolve) => {
        const started = Date.now();
        const child = childProcess.spawn(command.argv[0], command.argv.slice(1), { env, cwd: "/", stdio: ["pipe", "pipe", "pipe"] });
        const out = [];
        const err = [];
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
        }, command.timeoutMs || 60000);
        child.stdout.on("data", (c) => out.push(c));
        child.stderr.on("data", (c) => err.push(c));
        child.on("error", (e) => err.push(Buffer.from(String(e))));
        // A client that fails fast (the Go SDK refusing the agent's address) exits before it reads its
        // input: writing it then fails with EPIPE, which is no error of the pod's.
        child.stdin.on("error", () => undefined);
        child.stdin.end(command.stdin || "");
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            resolve({
                exitCode: code,
                signal,
                timedOut,
                ms: Date.now() - started,
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8"),
            });
        });
    });
}

async function main() {
    const chunks = [];
    for await (const c of process.stdin) {
        chunks.push(c);
    }
    const spec = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    const started = Date.now();

    sh(["/usr/sbin/ip", "link", "set", "lo", "up"]);
    for (const address of spec.loopbackAddresses) {
        sh(["/usr/sbin/ip", "addr", "add", address, "dev", "lo"]);
    }
    sh(["/usr/bin/mount", "-t", "tmpfs", "-o", "mode=0755,size=64m", "tmpfs", spec.stage]);
    overlayTargets(spec.files).forEach((target, i) => {
        const upper = `${spec.stage}/overlay-${i}/upper`;
        const work = `${spec.stage}/overlay-${i}/work`;
        fs.mkdirSync(upper, { recursive: true });
        fs.mkdirSync(work, { recursive: true });
        sh(["/usr/bin/mount", "-t", "overlay", "overlay", "-o", `lowerdir=${target},upperdir=${upper},workdir=${work}`, target]);
    });
    for (const file of spec.files) {
        fs.mkdirSync(path.dirname(file.path), { recursive: true });
        fs.rmSync(file.path, { force: true });
        if (file.symlink !== undefined) {
            fs.symlinkSync(file.symlink, file.path);
        } else {
            fs.writeFileSync(file.path, file.content, { mode: file.mode });
            fs.chmodSync(file.path, file.mode);
        }
    }
    fs.mkdirSync(spec.env.HOME, { recursive: true, mode: 0o700 });
    const servers = await Promise.all(spec.relays.map((r) => relay(r.listen, r.socket)));
    const setupMs = Date.now() - started;
    // What the pod's network looks like, for the tests' "loopback only" check.
    const interfaces = Object.entries(require("os").networkInterfaces()).flatMap(([name, addresses]) => addresses.map((a) => `${name}:${a.address}`));

    const results = [];
    for (const command of spec.commands) {
        results.push(await run(command, spec.env));
    }
    for (const s of servers) {
        s.close();
    }
    process.stdout.write(JSON.stringify({ setupMs, interfaces, results }));
    process.exit(0);
}

main().catch((error) => {
    process.stdout.write(JSON.stringify({ error: String(error && error.stack ? error.stack : error) }));
    process.exit(1);
});
