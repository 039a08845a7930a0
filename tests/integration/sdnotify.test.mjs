// sdnotify.test.mjs - `mdtboard serve` under systemd's Type=notify
// protocol: with NOTIFY_SOCKET set it says READY=1 only once it answers
// /healthz (listening, database checked), and STOPPING=1 on SIGTERM.
// The receiving end is a small python3 datagram socket that, the moment a
// message arrives, asks /healthz itself and prints both, with the sender's
// pid (SO_PASSCRED) and the workers that answered 40 fresh /healthz
// requests (MDT_WORKERS > 1; see workers.test.mjs on why 40).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, freePort, startServer, until } from './lib/harness.mjs';

const RECEIVER = `
import json, socket, struct, sys, urllib.request
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print("bound", flush=True)
while True:
    data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    msg = data.decode()
    pid = [struct.unpack("iII", d[:12])[0] for (l, t, d) in anc if t == socket.SCM_CREDENTIALS]
    try:
        status = urllib.request.urlopen(sys.argv[2] + "/healthz", timeout=5).status
    except Exception as e:
        status = "refused"
    workers = set()
    for _ in range(40 if "READY" in msg else 0):
        try:
            workers.add(json.load(urllib.request.urlopen(sys.argv[2] + "/healthz", timeout=5)).get("worker"))
        except Exception:
            workers.add("refused")
    print(repr(msg), status, "pid=%s" % (pid[0] if pid else "?"), "workers=%s" % sorted(map(str, workers)), flush=True)
`;

// underNotify(env, check) - a receiver bound to a fresh NOTIFY_SOCKET, a
// server started with it (and env) on the receiver's port; check(server,
// out) runs with out() the receiver's output so far. Cleans up after.
async function underNotify(env, check) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mdt-notify-'));
    const sock = path.join(dir, 'notify');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const rx = spawn('python3', ['-c', RECEIVER, sock, url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    rx.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    try {
        await until(() => out.includes('bound'), 10000, 'the receiver to bind');
        const server = await startServer({ dbUrl: await createDatabase(), port, env: { NOTIFY_SOCKET: sock, ...env } });
        await until(() => out.includes('READY=1'), 10000, 'READY=1');
        await check(server, () => out);
    } finally {
        rx.kill();
        rmSync(dir, { recursive: true, force: true });
    }
}

test('READY=1 after /healthz answers, STOPPING=1 on SIGTERM', async () => {
    await underNotify({}, async (server, out) => {
        assert.match(out(), /'READY=1\\nSTATUS=serving' 200/);
        assert.equal(await server.stop('SIGTERM'), 0);
        await until(() => out().includes('STOPPING=1'), 10000, 'STOPPING=1');
        assert.equal((out().match(/READY=1/g) ?? []).length, 1);
    });
});

test('MDT_WORKERS=2: READY=1 once, from the supervisor, after both workers answer', async () => {
    await underNotify({ MDT_WORKERS: '2' }, async (server, out) => {
        const pid = server.proc.pid;
        assert.match(out(), new RegExp(`'READY=1\\\\nSTATUS=serving' 200 pid=${pid} workers=\\['0', '1'\\]`));
        assert.equal(await server.stop('SIGTERM'), 0);
        await until(() => out().includes('STOPPING=1'), 10000, 'STOPPING=1');
        assert.equal((out().match(/READY=1/g) ?? []).length, 1);
        assert.equal((out().match(/STOPPING=1/g) ?? []).length, 1);
        assert.match(out(), new RegExp(`'STOPPING=1' \\S+ pid=${pid} `));
    });
});
