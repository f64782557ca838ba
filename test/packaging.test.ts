/**
 * The packaging examples do what they say. examples/docker/Dockerfile and examples/kubernetes/*.yaml
 * are read as Docker and Kubernetes read them, their ports and paths are checked against what the
 * clock serves, and the image's command is run here without Docker: exactly its ENTRYPOINT + CMD
 * (the image's /app mapped to this repository), with the Deployment's environment and the
 * ConfigMap's config, against a throwaway redis-server. Where the machine allows it, it runs as
 * PID 1 of a PID namespace of its own (unshare), as in a container: there a signal nobody listens
 * for is dropped rather than fatal, so "exits 0 on SIGTERM" is tested where it can fail.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { networkInterfaces } from "node:os";
import { basename, join, posix } from "node:path";
import { parseAllDocuments } from "yaml";
import { clockKeys } from "../src/redis/keys.ts";
import { SECOND } from "../src/schedule/duration.ts";
import { pollUntil } from "./helpers/fired.ts";
import { assertBuilt, ROOT, type LoggedProcess } from "./helpers/process.ts";
import { freePort } from "./helpers/redis.ts";
import { testScope, type Scope } from "./helpers/scope.ts";

const DOCKERFILE = join(ROOT, "examples", "docker", "Dockerfile");
const DOCKERIGNORE = join(ROOT, "examples", "docker", "Dockerfile.dockerignore");
const MANIFESTS = join(ROOT, "examples", "kubernetes");
/** The clock's own deadline after SIGTERM, which the grace period must outlast. */
const STOP_TIMEOUT_MS = Number(/const STOP_TIMEOUT_MS = ([\d_]+);/.exec(readFileSync(join(ROOT, "src", "cli", "commands", "start.ts"), "utf8"))?.[1]?.replaceAll("_", ""));
const LEASE = clockKeys("clock"); // the ConfigMap's config sets no namespace

// ---------------------------------------------------------------------------------------------
// The Dockerfile, as the builder reads it

interface Instruction {
  readonly op: string;
  readonly args: string;
}
interface Stage {
  readonly image: string;
  readonly name: string | null;
  readonly instructions: Instruction[];
}

/** Stages with their instructions: continuation lines joined, comment lines dropped, global ARGs substituted in FROM. */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = "";
  for (const line of text.split("\n")) {
    if (/^\s*#/.test(line)) continue; // comments, also between continuation lines
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = (pending + line).trim();
    pending = "";
    if (whole !== "") logical.push(whole);
  }
  const globals = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, op = "", args = ""] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = op.toUpperCase();
    if (upper === "FROM") {
      const [image = "", as, name] = args.replace(/\$\{(\w+)\}/g, (_, key: string) => globals.get(key) ?? "").split(/\s+/);
      stages.push({ image, name: as?.toUpperCase() === "AS" ? (name ?? null) : null, instructions: [] });
    } else if (stages.length === 0) {
      assert.equal(upper, "ARG", `only ARG comes before the first FROM, got ${line}`);
      const [key = "", value = ""] = args.split("=");
      globals.set(key, value);
    } else stages.at(-1)?.instructions.push({ op: upper, args });
  }
  return stages;
}

const stages = parseDockerfile(readFileSync(DOCKERFILE, "utf8"));
const runtime = stages.at(-1) as Stage;
const all = (stage: Stage, op: string): string[] => stage.instructions.filter((instruction) => instruction.op === op).map((instruction) => instruction.args);
const last = (stage: Stage, op: string): string | undefined => all(stage, op).at(-1);

/** An exec-form instruction (a JSON array of strings); a shell form fails the test. */
function execForm(op: string): string[] {
  const args = last(runtime, op);
  assert.ok(args !== undefined, `the runtime stage has a ${op}`);
  let value: unknown;
  try {
    value = JSON.parse(args);
  } catch {
    assert.fail(`${op} ${args} is the shell form: /bin/sh -c would be PID 1 and keep SIGTERM from the clock`);
  }
  assert.ok(Array.isArray(value) && value.every((item) => typeof item === "string"), `${op} is a JSON array of strings`);
  return value as string[];
}

/** The runtime stage's ENV, `KEY=value ...` per instruction, later ones winning. */
function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const args of all(runtime, "ENV")) {
    for (const pair of args.split(/\s+/)) {
      const [key = "", ...value] = pair.split("=");
      assert.ok(value.length > 0, `ENV in the KEY=value form: ${args}`);
      env[key] = value.join("=");
    }
  }
  return env;
}

const workdir = last(runtime, "WORKDIR") ?? "/";

/** An image path as this repository holds it: the image's WORKDIR is the repository root. */
function repoPath(imagePath: string): string {
  const relative = posix.relative(workdir, posix.resolve(workdir, imagePath));
  assert.ok(!relative.startsWith(".."), `${imagePath} lies under the image's WORKDIR ${workdir}`);
  return join(ROOT, relative);
}

// ---------------------------------------------------------------------------------------------
// The manifests, as kubectl reads them

interface Manifest {
  readonly file: string;
  readonly kind: string;
  readonly name: string;
  /** Reached into by the tests below, which check each field they use. */
  readonly body: any;
}

function loadManifests(): Manifest[] {
  const manifests: Manifest[] = [];
  for (const file of readdirSync(MANIFESTS).filter((name) => /\.ya?ml$/.test(name))) {
    for (const document of parseAllDocuments(readFileSync(join(MANIFESTS, file), "utf8"))) {
      assert.deepEqual(
        document.errors.map((error) => error.message),
        [],
        `${file} is valid YAML`,
      );
      const body = document.toJS() as any;
      if (body === null) continue;
      assert.equal(typeof body.apiVersion, "string", `${file}: apiVersion`);
      assert.equal(typeof body.kind, "string", `${file}: kind`);
      assert.equal(typeof body.metadata?.name, "string", `${file}: metadata.name`);
      manifests.push({ file, kind: body.kind, name: body.metadata.name, body });
    }
  }
  return manifests;
}

const manifests = loadManifests();
function only(kind: string): Manifest {
  const found = manifests.filter((manifest) => manifest.kind === kind);
  assert.equal(found.length, 1, `one ${kind} in examples/kubernetes`);
  return found[0] as Manifest;
}
const deployment = only("Deployment");
const pod = deployment.body.spec.template;
const container = pod.spec.containers[0];

/** The container's environment: the image's ENV, then the manifest's `env` (literal values; secrets from `secrets`). */
function containerEnv(secrets: Record<string, string>): Record<string, string> {
  const env = imageEnv();
  for (const entry of container.env ?? []) {
    if (entry.value !== undefined) env[entry.name] = String(entry.value);
    else {
      const ref = entry.valueFrom?.secretKeyRef;
      assert.ok(ref !== undefined, `env ${entry.name} is a value or a secret`);
      const value = secrets[`${ref.name}/${ref.key}`];
      assert.ok(value !== undefined, `the test supplies secret ${ref.name}/${ref.key}`);
      env[entry.name] = value;
    }
  }
  return env;
}

/** A named or numbered container port, as a number. */
function portNumber(port: number | string): number {
  if (typeof port === "number") return port;
  const found = (container.ports ?? []).find((candidate: { name?: string }) => candidate.name === port);
  assert.ok(found !== undefined, `container port named ${port}`);
  return found.containerPort as number;
}

/** ENTRYPOINT + CMD as the kubelet runs them: `command` replaces ENTRYPOINT, `args` CMD. */
function containerArgv(): string[] {
  return [...((container.command as string[] | undefined) ?? execForm("ENTRYPOINT")), ...((container.args as string[] | undefined) ?? execForm("CMD"))];
}

// ---------------------------------------------------------------------------------------------

describe("examples/docker/Dockerfile", () => {
  test("builds in stages on a small Node base, and the runtime stage has production dependencies and dist/ only", () => {
    assert.ok(stages.length >= 2, "a multi-stage build");
    for (const stage of stages) assert.match(stage.image, /^node:\d+-(alpine|slim)$/, `FROM ${stage.image}`);
    const build = stages.find((stage) => all(stage, "RUN").some((run) => /npm ci(?!.*--omit=dev)/.test(run)) && all(stage, "RUN").some((run) => run.includes("npm run build")));
    assert.ok(build?.name !== undefined && build.name !== null, "a named stage runs npm ci and npm run build");
    assert.ok(all(runtime, "COPY").includes(`--from=${build.name} /app/dist ./dist`), "the runtime copies dist/ from the build");
    const modules = all(runtime, "COPY").find((copy) => copy.includes("node_modules"));
    const depsName = /--from=(\S+)/.exec(modules ?? "")?.[1];
    const deps = stages.find((stage) => stage.name === depsName);
    assert.ok(
      deps !== undefined && all(deps, "RUN").some((run) => /npm ci .*--omit=dev/.test(run)),
      `node_modules comes from a stage that installs production dependencies only (${modules})`,
    );
    assert.deepEqual(all(runtime, "RUN"), [], "the runtime stage installs and builds nothing");
  });

  test("runs as a numeric non-root user, which Kubernetes' runAsNonRoot can verify", () => {
    const user = last(runtime, "USER");
    assert.ok(user !== undefined, "USER in the runtime stage");
    const [uid = "", gid] = user.split(":");
    assert.match(uid, /^\d+$/, "a numeric uid");
    assert.notEqual(Number(uid), 0, "not root");
    if (gid !== undefined) assert.notEqual(Number(gid), 0, "not the root group");
  });

  test("runs clock start as PID 1: exec form, node itself, no shell, npm or npx in between", () => {
    const argv = [...execForm("ENTRYPOINT"), ...execForm("CMD")];
    assert.equal(argv[0], "node");
    assert.ok(existsSync(repoPath(argv[1] ?? "")), `${argv[1]} is the repository's bin/clock.js`);
    assert.equal(repoPath(argv[1] ?? ""), join(ROOT, "bin", "clock.js"));
    assert.equal(argv[2], "start");
    for (const word of ["sh", "/bin/sh", "bash", "npm", "npx", "tini"]) assert.ok(!argv.includes(word), `no ${word} in ${JSON.stringify(argv)}`);
  });

  test("copies from the context only what exists and what its .dockerignore lets through", () => {
    const allowed = readFileSync(DOCKERIGNORE, "utf8")
      .split("\n")
      .filter((line) => line.startsWith("!"))
      .map((line) => line.slice(1).replace(/\/$/, ""));
    assert.ok(readFileSync(DOCKERIGNORE, "utf8").split("\n").includes("*"), "everything else is ignored");
    for (const stage of stages) {
      for (const copy of all(stage, "COPY").filter((args) => !args.startsWith("--from="))) {
        const sources = copy.split(/\s+/).slice(0, -1);
        for (const source of sources) {
          assert.ok(existsSync(join(ROOT, source)), `COPY ${source}: in the repository`);
          assert.ok(allowed.includes(source.split("/")[0] ?? ""), `COPY ${source}: let through by ${basename(DOCKERIGNORE)}`);
        }
      }
    }
  });

  // Opt-in (minutes on a first build, and needs a Docker daemon); never run where this was written, which has none.
  test("with CLOCK_TEST_DOCKER=1 and a Docker daemon: the image builds and its clock prints the package's version", { timeout: 15 * 60 * SECOND }, (t) => {
    if (process.env["CLOCK_TEST_DOCKER"] !== "1") return t.skip("set CLOCK_TEST_DOCKER=1 to build the image");
    if (spawnSync("docker", ["info"], { stdio: "ignore", timeout: 10 * SECOND }).status !== 0) return t.skip("no Docker daemon answers");
    const tag = "the-clock:packaging-test";
    execFileSync("docker", ["build", "-f", DOCKERFILE, "-t", tag, ROOT], { stdio: "inherit" });
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    assert.equal(execFileSync("docker", ["run", "--rm", tag, "--version"], { encoding: "utf8" }).trim(), version);
  });
});

describe("examples/kubernetes", () => {
  test("every manifest parses; the Deployment runs 2 to 3 clocks, longer-lived than the clock's own stop deadline", () => {
    assert.deepEqual(manifests.map((manifest) => manifest.kind).sort(), ["ConfigMap", "Deployment", "Secret"]);
    assert.ok(deployment.body.spec.replicas >= 2 && deployment.body.spec.replicas <= 3, `replicas ${deployment.body.spec.replicas}`);
    assert.ok(Number.isInteger(STOP_TIMEOUT_MS) && STOP_TIMEOUT_MS > 0, "STOP_TIMEOUT_MS read from src/cli/commands/start.ts");
    assert.ok(pod.spec.terminationGracePeriodSeconds * SECOND > STOP_TIMEOUT_MS, `terminationGracePeriodSeconds outlasts the clock's ${STOP_TIMEOUT_MS} ms`);
    assert.equal(typeof container.resources?.requests?.cpu, "string");
    assert.equal(typeof container.resources?.requests?.memory, "string");
    assert.equal(typeof container.resources?.limits?.memory, "string");
    assert.deepEqual(deployment.body.spec.selector.matchLabels, pod.metadata.labels, "the selector matches the pods");
  });

  test("probes ask /healthz and Prometheus /metrics, on the port the clock listens on", () => {
    const port = Number(containerEnv({ "clock-redis/REDIS_URL": "redis://unused" })["CLOCK_HTTP_PORT"]);
    assert.ok(Number.isInteger(port) && port > 0, "CLOCK_HTTP_PORT is set (the clock serves no HTTP without it)");
    assert.deepEqual(
      container.ports.map((entry: { containerPort: number }) => entry.containerPort),
      [port],
    );
    assert.ok(execForm("CMD").join(" ").includes("--http-host 0.0.0.0"), "bound to the pod's address, not only its loopback");
    for (const probe of ["readinessProbe", "livenessProbe"]) {
      assert.equal(container[probe]?.httpGet?.path, "/healthz", `${probe} path`);
      assert.equal(portNumber(container[probe].httpGet.port), port, `${probe} port`);
      // /healthz waits up to 1 s for Redis: a 1 s probe timeout (the default) would fail on a slow PING.
      assert.ok(container[probe].timeoutSeconds > 1, `${probe} timeoutSeconds`);
    }
    const annotations = pod.metadata.annotations;
    assert.equal(annotations["prometheus.io/scrape"], "true");
    assert.equal(Number(annotations["prometheus.io/port"]), port);
    assert.equal(annotations["prometheus.io/path"], "/metrics");
  });

  test("REDIS_URL comes from the Secret, the config from the ConfigMap mounted where CLOCK_CONFIG points, as the image's user", () => {
    const ref = container.env.find((entry: { name: string }) => entry.name === "REDIS_URL")?.valueFrom?.secretKeyRef;
    const secret = only("Secret");
    assert.equal(ref?.name, secret.name);
    assert.ok(ref.key in (secret.body.stringData ?? secret.body.data ?? {}), `the Secret has ${ref.key}`);
    const configPath = containerEnv({ "clock-redis/REDIS_URL": "redis://unused" })["CLOCK_CONFIG"] ?? "";
    const mount = container.volumeMounts.find((entry: { mountPath: string }) => entry.mountPath === posix.dirname(configPath));
    assert.ok(mount !== undefined, `a volume mounted at ${posix.dirname(configPath)}`);
    const volume = pod.spec.volumes.find((entry: { name: string }) => entry.name === mount.name);
    const configMap = only("ConfigMap");
    assert.equal(volume?.configMap?.name, configMap.name);
    assert.equal(typeof configMap.body.data[posix.basename(configPath)], "string", `the ConfigMap holds ${posix.basename(configPath)}`);
    assert.equal(pod.spec.securityContext.runAsNonRoot, true);
    assert.equal(String(pod.spec.securityContext.runAsUser), (last(runtime, "USER") ?? "").split(":")[0]);
  });
});

// ---------------------------------------------------------------------------------------------
// The container's command, run here

/** `unshare` arguments that make the command PID 1 of a new PID namespace, or null where the machine refuses. */
function pid1Namespace(): string[] | null {
  // --kill-child: when the test reaps unshare, the clock goes too.
  const flags = [...(process.getuid?.() === 0 ? [] : ["--user", "--map-root-user"]), "--pid", "--fork", "--kill-child"];
  const probe = spawnSync("unshare", [...flags, "true"], { stdio: "ignore", timeout: 5 * SECOND });
  return probe.status === 0 ? flags : null;
}

/** The pid (in this namespace) of the process unshare forked, the container's PID 1. */
function childOf(pid: number): number {
  const children = execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
    .trim()
    .split(/\s+/)
    .map(Number);
  assert.equal(children.length, 1, `unshare (pid ${pid}) has one child`);
  return children[0] as number;
}

interface Container {
  readonly proc: LoggedProcess;
  readonly port: number;
  /** Sends a signal to the clock itself (PID 1 inside its namespace). */
  readonly signal: (signal: NodeJS.Signals) => void;
}

interface ContainerOptions {
  readonly redisUrl: string;
  readonly configDir: string;
  readonly pid1: string[] | null;
  readonly name: string;
  readonly env?: Record<string, string>;
}

/** Exactly the image's argv with the Deployment's environment; /app is this repository, the config volume `configDir`. */
async function startContainer(scope: Scope, options: ContainerOptions): Promise<Container> {
  const [command, ...args] = containerArgv();
  assert.equal(command, "node");
  const env = containerEnv({ "clock-redis/REDIS_URL": options.redisUrl });
  // CLOCK_CONFIG names a file in the ConfigMap's volume (checked above): here, the same file in configDir.
  env["CLOCK_CONFIG"] = join(options.configDir, posix.basename(env["CLOCK_CONFIG"] ?? ""));
  // The manifest's port is fixed; here each clock takes a free one through the same variable.
  const port = await freePort();
  env["CLOCK_HTTP_PORT"] = String(port);
  const argv = [process.execPath, ...args.map((arg) => (arg.startsWith("/") ? repoPath(arg) : arg))];
  const cwd = repoPath(workdir);
  const { pid1 } = options;
  const proc =
    pid1 === null
      ? scope.spawn(argv[0] ?? "", argv.slice(1), { name: options.name, cwd, env: { ...env, ...options.env } })
      : scope.spawn("unshare", [...pid1, "--", ...argv], { name: options.name, cwd, env: { ...env, ...options.env } });
  let clockPid: number | null = null;
  const signal = (name: NodeJS.Signals): void => {
    if (pid1 === null) return proc.signal(name);
    clockPid ??= childOf(proc.pid);
    process.kill(clockPid, name);
  };
  return { proc, port, signal };
}

/** GET on the loopback, with the Host header a kubelet or Prometheus would send if given. */
async function get(port: number, path: string, host?: string): Promise<{ status: number; body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: host === undefined ? {} : { host }, timeout: 5 * SECOND }, (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`GET ${path} timed out`)));
    req.end();
  });
}

/** /healthz once it answers 200 with the wanted role (and, for a standby, a leader it has heard). */
async function healthyAs(running: Container, role: "leader" | "standby"): Promise<Record<string, unknown>> {
  const path = container.readinessProbe.httpGet.path as string;
  let body: Record<string, unknown> = {};
  let status = 0;
  await pollUntil(
    `${running.proc.name}: ${path} 200 as ${role}`,
    async () => {
      const answer = await get(running.port, path).catch(() => ({ status: 0, body: "{}" }));
      status = answer.status;
      body = JSON.parse(answer.body === "" ? "{}" : answer.body) as Record<string, unknown>;
      return status === 200 && body["role"] === role && (role === "leader" || (body["leader"] as { alive?: boolean } | null)?.alive === true);
    },
    10 * SECOND,
    () => `last answer ${status} ${JSON.stringify(body)}\n${running.proc.tail()}`,
  );
  return body;
}

/** A non-loopback IPv4 address of this machine: what a kubelet's probe and Prometheus send as Host (the pod's IP). */
function interfaceAddress(): string | null {
  for (const addresses of Object.values(networkInterfaces())) for (const address of addresses ?? []) if (address.family === "IPv4" && !address.internal) return address.address;
  return null;
}

describe("the image's command, run without Docker", () => {
  let pid1: string[] | null = null;
  before(() => {
    assertBuilt();
    pid1 = pid1Namespace();
  });

  test("with the Deployment's environment: probes and metrics answer on leader and standby; SIGTERM exits 0 and hands the lease over", { timeout: 30 * SECOND }, async (t) => {
    if (pid1 === null) t.diagnostic("unshare cannot make a PID namespace here: the clock runs as an ordinary process, not as PID 1");
    const scope = testScope(t);
    const redis = await scope.redis();
    const configDir = scope.tempDir(only("ConfigMap").body.data as Record<string, string>);
    const client = scope.client(redis.url);
    const options = { redisUrl: redis.url, configDir, pid1 };

    const leader = await startContainer(scope, { ...options, name: "clock-0" });
    const { line: started } = await leader.proc.waitFor((line) => line.msg === "clock started", { what: "clock started" });
    if (pid1 !== null) assert.equal(started["pid"], 1, "the clock is PID 1 of its namespace");
    await healthyAs(leader, "leader");
    const standby = await startContainer(scope, { ...options, name: "clock-1" });
    // Ready like the leader: 200, and the leader it watches is alive (its heartbeat moved).
    await healthyAs(standby, "standby");

    const scrape = pod.metadata.annotations["prometheus.io/path"] as string;
    for (const { port } of [leader, standby]) {
      const metrics = await get(port, scrape);
      assert.equal(metrics.status, 200);
      assert.match(metrics.body, /^clock_leader \d/m, `${scrape} is Prometheus text`);
      const address = interfaceAddress();
      if (address !== null) assert.equal((await get(port, "/healthz", `${address}:${port}`)).status, 200, `Host ${address}:${port} (the pod IP a kubelet sends) is answered`);
    }
    assert.match((await client.get(LEASE.lease)) ?? "", /\|/, "the leader holds the lease");

    const subscriber = scope.client(redis.url);
    const released = new Promise<void>((resolve) => subscriber.on("message", () => resolve()));
    await subscriber.subscribe(LEASE.released);
    const signalledAt = Date.now();
    leader.signal("SIGTERM");
    await leader.proc.waitFor((line) => line.msg === "clock stopped", { what: "clock stopped", timeoutMs: STOP_TIMEOUT_MS });
    assert.deepEqual(await leader.proc.waitExit(STOP_TIMEOUT_MS), { code: 0, signal: null }, leader.proc.tail());
    await released;
    // Released, not expired: the standby leads well within the lease's 10 s TTL.
    await standby.proc.waitFor((line) => line.msg === "leadership acquired", { what: "the standby takes over", timeoutMs: 5 * SECOND });
    assert.ok(Date.now() - signalledAt < 5 * SECOND, `taken over ${Date.now() - signalledAt} ms after SIGTERM`);

    standby.signal("SIGTERM");
    assert.deepEqual(await standby.proc.waitExit(STOP_TIMEOUT_MS), { code: 0, signal: null }, standby.proc.tail());
    assert.equal(await client.get(LEASE.lease), null, "the last clock released the lease");
  });

  test("a SIGTERM while the config still loads stops the clock (exit 0, no lease left) instead of being lost", { timeout: 30 * SECOND }, async (t) => {
    if (pid1 === null) return t.skip("needs a PID namespace (unshare): elsewhere an unheard SIGTERM kills the process anyway");
    const scope = testScope(t);
    const redis = await scope.redis();
    // A config that takes a second to load, and says when it starts (on stdout, as a log line).
    const configDir = scope.tempDir({
      "slow.config.mjs": `process.stdout.write('{"msg":"config loading"}\\n');\nawait new Promise((resolve) => setTimeout(resolve, 1000));\nexport default { schedules: { tick: { every: "1s", adapter: "list", job: { class: "Tick" } } } };\n`,
    });
    const clock = await startContainer(scope, { redisUrl: redis.url, configDir, pid1, name: "clock-0", env: { CLOCK_CONFIG: join(configDir, "slow.config.mjs") } });
    await clock.proc.waitFor((line) => line.msg === "config loading", { what: "the config starts loading" });
    clock.signal("SIGTERM");
    // PID 1 drops a signal it has no listener for: then the clock would start and run on until SIGKILL.
    assert.deepEqual(await clock.proc.waitExit(STOP_TIMEOUT_MS), { code: 0, signal: null }, clock.proc.tail());
    assert.equal(await scope.client(redis.url).get(LEASE.lease), null, "no lease left behind");
  });
});
