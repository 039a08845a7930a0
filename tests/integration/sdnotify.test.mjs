// sdnotify.test.mjs - `mdtboard serve` under systemd's Type=notify
// protocol: with NOTIFY_SOCKET set it says READY=1 only once it answers
// /healthz (listening, database checked), and STOPPING=1 on SIGTERM.
// The receiving end is a small python3 datagram socket that, the moment a
// message arrives, asks /healthz itself and prints both.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, freePort, startServer, until } from './lib/harness.mjs';

const RECEIVER = `
import socket, sys, urllib.request
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    msg = s.recv(4096).decode()
    try:
        status = urllib.request.urlopen(sys.argv[2] + "/healthz", timeout=5).status
    except Exception as e:
        status = "refused"
    print(repr(msg), status, flush=True)
`;

test('READY=1 after /healthz answers, STOPPING=1 on SIGTERM', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mdt-notify-'));
    const sock = path.join(dir, 'notify');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const rx = spawn('python3', ['-c', RECEIVER, sock, url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    rx.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    try {
        await until(() => out.includes('bound'), 10000, 'the receiver to bind');
        const server = await startServer({ dbUrl: await createDatabase(), port, env: { NOTIFY_SOCKET: sock } });
        await until(() => out.includes('READY=1'), 10000, 'READY=1');
        assert.match(out, /'READY=1\\nSTATUS=serving' 200/);
        assert.equal(await server.stop('SIGTERM'), 0);
        await until(() => out.includes('STOPPING=1'), 10000, 'STOPPING=1');
        assert.equal((out.match(/READY=1/g) ?? []).length, 1);
    } finally {
        rx.kill();
        rmSync(dir, { recursive: true, force: true });
    }
});
