// package.test.mjs - the Debian package from scripts/package.sh (cpack):
// its control data (library dependencies from dpkg-shlibdeps, the conffile,
// postinst), its files, lintian (no error or warning), the systemd units
// (systemd-analyze verify and an offline security score inside the
// extracted tree), and `mdtboard --help` run from the extracted tree.
//
// Builds a Release tree in build-pkg (incremental after the first run) and
// writes the .deb into a temporary directory. docs/deploy.md.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SOURCE_DIR } from './lib/harness.mjs';

let tmp, deb, root;

function run(file, args, opts = {}) {
    return new Promise((resolve, reject) => {
        execFile(file, args, { maxBuffer: 64 << 20, ...opts }, (err, stdout, stderr) => {
            if (err) {
                err.message = `${file} ${args.join(' ')}: ${err.message}\n${stderr}`;
                reject(err);
            } else resolve({ stdout, stderr });
        });
    });
}

const has = (p) => existsSync(p);

before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'mdt-pkg-'));
    const { stdout } = await run(path.join(SOURCE_DIR, 'scripts', 'package.sh'), [path.join(tmp, 'out')], {
        cwd: SOURCE_DIR,
        timeout: 480000,
    });
    deb = stdout.trim().split('\n').at(-1);
    assert.ok(deb.endsWith('.deb') && has(deb), `package.sh printed ${stdout}`);
    root = path.join(tmp, 'root');
    await run('dpkg-deb', ['-x', deb, root]);
});

after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('control: name, library dependencies from shlibdeps, conffile, an executable postinst', async () => {
    const field = async (name) => (await run('dpkg-deb', ['--field', deb, name])).stdout.trim();
    assert.equal(await field('Package'), 'mdtboard');
    const depends = (await field('Depends')).split(/,\s*/).map((d) => d.split(' ')[0]);
    for (const lib of ['adduser', 'libc6', 'libwebsockets17', 'libpq5', 'libjansson4', 'libssl3', 'libcurl4']) {
        assert.ok(depends.includes(lib), `Depends lacks ${lib}: ${depends}`);
    }
    assert.ok(depends.some((d) => d.startsWith('libcmark')), `Depends lacks libcmark: ${depends}`);

    const ctl = path.join(tmp, 'control');
    await run('dpkg-deb', ['--control', deb, ctl]);
    assert.deepEqual((await run('cat', [path.join(ctl, 'conffiles')])).stdout.trim().split('\n'), ['/etc/mdtboard/mdtboard.env']);
    const postinst = path.join(ctl, 'postinst');
    assert.equal(statSync(postinst).mode & 0o777, 0o755);
    await run('sh', ['-n', postinst]); // parses
    const text = (await run('cat', [postinst])).stdout;
    assert.match(text, /adduser --system .*mdtboard/s);
});

test('contents: the binary, every file of web/, both units, the environment file, docs', async () => {
    const { stdout } = await run('dpkg-deb', ['--contents', deb]);
    const files = new Map(
        stdout
            .trim()
            .split('\n')
            .map((l) => {
                const parts = l.split(/\s+/);
                return [parts.at(-1).replace(/^\.\//, '/'), parts[0]];
            }),
    );
    for (const [p, mode] of [
        ['/usr/bin/mdtboard', '-rwxr-xr-x'],
        ['/lib/systemd/system/mdtboard.service', '-rw-r--r--'],
        ['/lib/systemd/system/mdtboard-migrate.service', '-rw-r--r--'],
        ['/etc/mdtboard/mdtboard.env', '-rw-r--r--'], // postinst narrows it to 0640 root:mdtboard
        ['/usr/share/doc/mdtboard/copyright', '-rw-r--r--'],
        ['/usr/share/doc/mdtboard/changelog.Debian.gz', '-rw-r--r--'],
        ['/usr/share/man/man1/mdtboard.1.gz', '-rw-r--r--'],
        ['/usr/share/doc/mdtboard/examples/mdtboard.conf', '-rw-r--r--'],
    ]) {
        assert.equal(files.get(p), mode, `${p}: ${files.get(p) ?? 'missing'}`);
    }
    const web = path.join(SOURCE_DIR, 'web');
    const walk = (d) => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
    const webFiles = walk(web).map((f) => `/usr/share/mdtboard/web/${path.relative(web, f)}`);
    assert.ok(webFiles.length > 5);
    for (const f of webFiles) assert.ok(files.has(f), `${f} is not in the package`);
    // nothing from a build or test tree
    for (const p of files.keys()) assert.doesNotMatch(p, /build|node_modules|tests\/|\/var\//, p);
});

test('mdtboard --help runs from the extracted tree (its libraries resolve); the binary is stripped', async () => {
    const bin = path.join(root, 'usr', 'bin', 'mdtboard');
    const { stdout } = await run(bin, ['--help']);
    assert.match(stdout, /^usage: mdtboard COMMAND/);
    for (const cmd of ['serve', 'migrate', 'keys init']) assert.ok(stdout.includes(cmd), `--help lacks ${cmd}`);
    const ldd = (await run('ldd', [bin])).stdout;
    assert.doesNotMatch(ldd, /not found/, ldd);
    // stripped (CPACK_STRIP_FILES): no symbol table in the shipped binary
    const { stdout: file } = await run('readelf', ['-S', '-W', bin]);
    assert.doesNotMatch(file, /\.symtab/);
});

test('lintian: no error and no warning', { skip: !has('/usr/bin/lintian') && 'lintian is not installed (scripts/setup.sh)' }, async () => {
    const { stdout } = await run('lintian', ['--display-info', '--tag-display-limit', '0', deb], { timeout: 240000 }).catch((e) => {
        // lintian exits 1 when it reports an error tag; the output is what we judge
        return { stdout: `${e.message}` };
    });
    process.stdout.write(`# lintian:\n${stdout.replace(/^/gm, '#   ')}\n`);
    const bad = stdout.split('\n').filter((l) => /^[EW]: /.test(l));
    assert.deepEqual(bad, []);
});

test('systemd units: systemd-analyze verify is silent; hardened (offline security exposure below 2)', async () => {
    // verify resolves ExecStart and the units' dependencies inside --root:
    // give the extracted tree the host's stock units and /usr/bin/env.
    const units = path.join(root, 'lib', 'systemd', 'system');
    cpSync('/lib/systemd/system', units, { recursive: true, force: false, errorOnExist: false, dereference: false });
    cpSync('/usr/bin/env', path.join(root, 'usr', 'bin', 'env'));
    const ours = ['mdtboard.service', 'mdtboard-migrate.service'].map((u) => path.join(units, u));
    const v = await run('systemd-analyze', ['verify', `--root=${root}`, ...ours]);
    assert.equal(v.stderr + v.stdout, '', 'systemd-analyze verify printed something');

    const sec = await run('systemd-analyze', ['security', '--offline=true', `--root=${root}`, 'mdtboard.service']);
    const level = Number(/Overall exposure level for mdtboard\.service: ([\d.]+)/.exec(sec.stdout + sec.stderr)?.[1]);
    process.stdout.write(`# systemd-analyze security: exposure ${level}\n`);
    assert.ok(level < 2, `exposure ${level}:\n${sec.stdout}`);
    const unit = (await run('cat', [ours[0]])).stdout;
    for (const line of ['Type=notify', 'NotifyAccess=main', 'User=mdtboard', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'PrivateTmp=yes', 'CapabilityBoundingSet=\n', 'Restart=on-failure']) {
        assert.ok(unit.includes(line), `mdtboard.service lacks ${line.trim()}`);
    }
    assert.match((await run('cat', [ours[1]])).stdout, /Type=oneshot[\s\S]*MDT_DATABASE_URL=\$\{MDT_MIGRATE_DATABASE_URL\}[\s\S]*mdtboard migrate/);
});
