// Real processes for the tests: the simulator (embedded Kafka broker + producer) and gateways reading it, each
// `dotnet <dll>` on 127.0.0.1. A gateway can be stopped and started again on its port, on the same broker, so a
// client sees the same stream (epoch) across the restart, as across a rollout.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const configuration = process.env.MARKETSTREAM_CONFIGURATION ?? 'Debug';

function dll(variable, project) {
  const file = process.env[variable] ?? path.join(root, 'src', project, 'bin', configuration, 'net10.0', `${project}.dll`);
  if (!existsSync(file)) throw new Error(`${file} not found: build the solution first (dotnet build), or set ${variable}`);
  return file;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function start(file, args, name) {
  const child = spawn('dotnet', [file, ...args], {
    cwd: path.dirname(file),
    env: { ...process.env, DOTNET_ENVIRONMENT: 'Production', ASPNETCORE_ENVIRONMENT: 'Production' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines = [];
  // A line can arrive split over two chunks: keep each stream's unfinished line until its end comes.
  const reader = () => {
    let partial = '';
    return (chunk) => {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop();
      for (const line of parts) if (line.trim()) lines.push(line);
      if (lines.length > 400) lines.splice(0, lines.length - 400);
    };
  };
  child.stdout.on('data', reader());
  child.stderr.on('data', reader());
  child.tail = () => `${name}:\n${lines.slice(-40).join('\n')}`;
  child.lines = lines;
  return child;
}

async function waitFor(condition, what, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

/** The simulator with its embedded broker; resolves with { bootstrap, stop }. */
export async function startBroker({ symbols = 'AAPL,MSFT,EURUSD', rate = 200 } = {}) {
  const child = start(dll('MARKETSTREAM_SIMULATOR_DLL', 'Feed.Simulator'),
    ['--rate', String(rate), '--symbols', symbols, '--partitions', '2', '--exit-on-stdin-close', '--Logging:LogLevel:Default=Warning'], 'simulator');
  await waitFor(() => child.lines.some((l) => l.startsWith('BOOTSTRAP=')) || child.exitCode !== null, 'the simulator\'s broker');
  const line = child.lines.find((l) => l.startsWith('BOOTSTRAP='));
  if (!line) throw new Error(`the simulator did not start\n${child.tail()}`);
  return { bootstrap: line.slice('BOOTSTRAP='.length).trim(), stop: () => stopProcess(child) };
}

/** A gateway on `port` (0: a free one) reading `bootstrap`; resolves once /healthz/ready says 200. */
export async function startGateway({ bootstrap, port = 0, settings = [] }) {
  const chosen = port || await freePort();
  const child = start(dll('MARKETSTREAM_GATEWAY_DLL', 'Feed.Gateway'), [
    '--urls', `http://127.0.0.1:${chosen}`,
    `--Feed:Kafka:BootstrapServers=${bootstrap}`,
    '--Feed:Kafka:FetchWaitMaxMs=2',
    '--Feed:Gateway:HeartbeatMs=1000',
    '--Logging:LogLevel:Default=Warning',
    ...settings,
  ], 'gateway');
  const url = `http://127.0.0.1:${chosen}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`the gateway exited\n${child.tail()}`);
    try {
      return (await fetch(`${url}/healthz/ready`)).status === 200;
    } catch {
      return false;
    }
  }, 'the gateway to be ready');
  return { url, port: chosen, stop: () => stopProcess(child), tail: () => child.tail() };
}

/** Mints a token with the gateway's own `token` command. */
export function mintToken({ symbols, settings }) {
  return new Promise((resolve, reject) => {
    const child = start(dll('MARKETSTREAM_GATEWAY_DLL', 'Feed.Gateway'), ['token', '--symbols', symbols, ...settings], 'token');
    // The token is the one line that is a JWT (three base64url parts); the command prints nothing else on stdout.
    child.on('close', (code) => {
      const token = child.lines.map((l) => l.trim()).find((l) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(l));
      if (code === 0 && token) resolve(token); else reject(new Error(`no token (exit ${code})\n${child.tail()}`));
    });
  });
}

function stopProcess(child) {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => { clearTimeout(kill); resolve(); });
    child.stdin.end();
    child.kill('SIGTERM');
  });
}

export { waitFor };
