// attachments.test.mjs - files on a case (docs/attachments.md) against the
// real binary and PostgreSQL: a PDF uploaded with `agency` visibility is
// downloaded by its agency with the same SHA-256 and never reaches another
// agency (404 on its content, absent from the board, the list and every
// WebSocket frame, checked after a barrier); a file named .pdf that holds
// HTML is 415 and an upload over MDT_ATTACHMENT_MAX is 413, both storing
// nothing (a 30 MiB upload is refused from its headers, before one byte
// of it is read, so the server's memory cannot grow by it); a pg_dump
// after uploads holds neither a token inside a file nor its name;
// retraction keeps the record (who, when, why) and the content only for
// the author's agency; an image is served inline with a sandbox CSP, any
// other type as an attachment.

import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { createDatabase, flushAudit, ownerUrl, psql, startServer, until, wsConnect } from './lib/harness.mjs';
import { BOARD_ENV, boardWorld, createCase, login } from './lib/board_fixtures.mjs';

const run = promisify(execFile);
const PG_BIN = process.env.MDT_PG_BIN ?? '/usr/lib/postgresql/15/bin';

let dbUrl, server, w, caseId, police, cac;

before(async () => {
    dbUrl = await createDatabase();
    w = await boardWorld(dbUrl);
    server = await startServer({ dbUrl, env: BOARD_ENV });
    caseId = await createCase(server.url, dbUrl, { lead: w.users.cacSupervisor, agencies: [w.agencies.police, w.agencies.dcf] });
    police = await login(server.url, w.users.policeMember);
    cac = await login(server.url, w.users.cacMember);
});

after(async () => {
    await server?.stop();
});

// A small well-formed PDF carrying text (the token) in its content stream.
function pdf(text) {
    const stream = `BT /F1 12 Tf 72 720 Td (${text}) Tj ET`;
    return Buffer.from(
        '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n' +
            '2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n' +
            '3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >> endobj\n' +
            `4 0 obj << /Length ${stream.length} >> stream\n${stream}\nendstream endobj\n` +
            'trailer << /Root 1 0 R >>\n%%EOF\n',
    );
}

// storedZip([[name, text]]) - a ZIP archive with the files stored
// uncompressed, in that order (an Office Open XML package when the first
// is [Content_Types].xml).
function storedZip(files) {
    const locals = [];
    const centrals = [];
    let offset = 0;
    for (const [name, text] of files) {
        const n = Buffer.from(name);
        const data = Buffer.from(text);
        const head = Buffer.alloc(30);
        head.writeUInt32LE(0x04034b50, 0);
        head.writeUInt16LE(20, 4);
        head.writeUInt32LE(crc32(data), 14);
        head.writeUInt32LE(data.length, 18);
        head.writeUInt32LE(data.length, 22);
        head.writeUInt16LE(n.length, 26);
        const central = Buffer.alloc(46);
        central.writeUInt32LE(0x02014b50, 0);
        central.writeUInt16LE(20, 4);
        central.writeUInt16LE(20, 6);
        head.copy(central, 16, 14, 26);
        central.writeUInt16LE(n.length, 28);
        central.writeUInt32LE(offset, 42);
        locals.push(head, n, data);
        centrals.push(central, n);
        offset += head.length + n.length + data.length;
    }
    const dir = Buffer.concat(centrals);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(files.length, 8);
    end.writeUInt16LE(files.length, 10);
    end.writeUInt32LE(dir.length, 12);
    end.writeUInt32LE(offset, 16);
    return Buffer.concat([...locals, dir, end]);
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

// upload(client, body, query) - POST the raw file; resolves the answer.
function upload(client, body, query, headers = {}) {
    const q = new URLSearchParams(query).toString();
    return client.post(`/api/v1/cases/${caseId}/attachments?${q}`, body, { headers: { 'Content-Type': 'application/octet-stream', ...headers } });
}

async function download(client, id) {
    const res = await fetch(`${server.url}/api/v1/attachments/${id}/content`, { headers: { Cookie: client.cookie() } });
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

const count = async (sql) => Number(await psql(dbUrl, sql));

async function openSocket(client) {
    const conn = await wsConnect(server.url, { cookie: client.cookie(), origin: server.url });
    conn.raw = [];
    conn.ws._socket.on('data', (b) => conn.raw.push(Buffer.from(b)));
    conn.send({ type: 'subscribe', case_id: caseId });
    const f = await conn.next((x) => x.type === 'subscribed' || x.type === 'error', 10000);
    assert.equal(f.type, 'subscribed', JSON.stringify(f));
    return conn;
}

test('an agency-only PDF: its agency downloads the same bytes; another agency never sees it anywhere', async () => {
    const policeWs = await openSocket(police);
    const cacWs = await openSocket(cac);
    const token = `PDFTOK${process.pid}${randomBytes(6).toString('hex')}`;
    const file = pdf(`Protective order ${token}`);
    const name = `Order ${token}.pdf`;
    const res = await upload(police, file, { filename: `C:\\scans\\${name}`, visibility: 'agency' });
    assert.equal(res.status, 201, res.text);
    const a = res.json;
    assert.equal(a.filename, name, 'the path is dropped, the name kept as typed');
    assert.equal(a.content_type, 'application/pdf');
    assert.equal(a.size, file.length);
    assert.equal(a.sha256, sha256(file));
    assert.equal(a.visibility, 'agency');
    assert.equal(a.agency_id, w.agencies.police);

    // its agency: the same bytes, as an attachment, never sniffed
    const got = await download(police, a.id);
    assert.equal(got.status, 200);
    assert.equal(sha256(got.body), a.sha256);
    assert.equal(got.headers.get('content-type'), 'application/pdf');
    assert.match(got.headers.get('content-disposition'), /^attachment; filename="Order [^"]+\.pdf"; filename\*=UTF-8''Order%20/);
    assert.equal(got.headers.get('x-content-type-options'), 'nosniff');

    // a shared file afterwards, so the other agency's socket provably got later frames
    const shared = await upload(cac, Buffer.from(`Meeting notes, shared.\n`), { filename: 'notes.txt', visibility: 'mdt' });
    assert.equal(shared.status, 201, shared.text);
    assert.equal(shared.json.content_type, 'text/plain');

    // the other agency: 404 on the content, as for a file that does not exist
    const denied = await download(cac, a.id);
    assert.equal(denied.status, 404);
    assert.equal(JSON.parse(denied.body.toString()).error.code, 'not_found');
    assert.equal((await download(cac, a.id + 100000)).status, 404);
    const list = await cac.get(`/api/v1/cases/${caseId}/attachments`);
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.json.items.map((x) => x.id), [shared.json.id]);
    const board = await cac.get(`/api/v1/cases/${caseId}`);
    assert.deepEqual(board.json.attachments.map((x) => x.id), [shared.json.id]);
    assert.ok(!board.text.includes(token));
    // and its own agency's board and list hold both
    const pb = await police.get(`/api/v1/cases/${caseId}`);
    assert.deepEqual(pb.json.attachments.map((x) => x.id), [a.id, shared.json.id]);
    assert.deepEqual(pb.json.attachments[0], a);

    // live: the police socket gets both, the CAC socket only the shared one
    await until(() => cacWs.frames.some((f) => f.type === 'event' && f.data?.id === shared.json.id), 5000, 'the shared file on the CAC socket');
    await policeWs.barrier();
    await cacWs.barrier();
    const kinds = (conn) => conn.frames.filter((f) => f.type === 'event' && f.kind.startsWith('attachment.')).map((f) => [f.kind, f.data.id]);
    assert.deepEqual(kinds(policeWs), [['attachment.created', a.id], ['attachment.created', shared.json.id]]);
    assert.deepEqual(kinds(cacWs), [['attachment.created', shared.json.id]]);
    assert.deepEqual(policeWs.frames.find((f) => f.kind === 'attachment.created').data, a);
    assert.ok(!Buffer.concat(cacWs.raw).toString('latin1').includes(token), 'no byte of the file or its name reaches the CAC');
    await policeWs.close();
    await cacWs.close();

    // reads of content are audited
    await flushAudit(server);
    assert.ok(
        (await count(`SELECT count(*) FROM audit WHERE action = 'attachment.content.read' AND object_id = ${a.id} AND outcome = 'ok'`)) >= 1,
    );
});

test('type from the content: HTML named .pdf, an executable, a plain ZIP are 415 and store nothing; a Word document is taken', async () => {
    const before = await count(`SELECT count(*) FROM attachments`);
    const html = Buffer.from('<!DOCTYPE html>\n<html><head><title>x</title></head><body><script>alert(document.cookie)</script></body></html>\n');
    const res = await upload(police, html, { filename: 'court-order.pdf', visibility: 'mdt' });
    assert.equal(res.status, 415, res.text);
    assert.equal(res.json.error.code, 'unsupported_media_type');
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(56)]);
    assert.equal((await upload(police, elf, { filename: 'scan.png', visibility: 'mdt' })).status, 415);
    // a ZIP is refused, the same ZIP shaped as a Word document is taken
    const parts = [
        ['_rels/.rels', '<?xml version="1.0"?><Relationships/>'],
        ['word/document.xml', '<?xml version="1.0"?><w:document/>'],
    ];
    assert.equal((await upload(police, storedZip(parts), { filename: 'letter.docx', visibility: 'mdt' })).status, 415);
    assert.equal(await count(`SELECT count(*) FROM attachments`), before);
    const docx = storedZip([['[Content_Types].xml', '<?xml version="1.0"?><Types/>'], ...parts]);
    const ok = await upload(police, docx, { filename: 'letter.docx', visibility: 'mdt' });
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.json.content_type, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document');
    assert.equal(await count(`SELECT count(*) FROM attachment_chunks c JOIN attachments a ON a.id = c.attachment_id WHERE a.id > 0`), await count(`SELECT coalesce(sum(chunks), 0) FROM attachments`));
});

test('an image is served inline, sandboxed and never sniffed; other types as attachments', async () => {
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
    const res = await upload(police, png, { filename: 'photo "of" document.png', visibility: 'mdt' });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.content_type, 'image/png');
    const got = await download(cac, res.json.id);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-type'), 'image/png');
    assert.equal(got.headers.get('content-disposition'), `inline; filename="photo _of_ document.png"; filename*=UTF-8''photo%20%22of%22%20document.png`);
    assert.match(got.headers.get('content-security-policy'), /sandbox; default-src 'none'/);
    assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(got.body.equals(png));
    const text = await upload(police, Buffer.from('plain words\n'), { filename: 'n.txt', visibility: 'mdt' });
    const t = await download(cac, text.json.id);
    assert.match(t.headers.get('content-disposition'), /^attachment; /);
    assert.doesNotMatch(t.headers.get('content-security-policy'), /sandbox/);
});

test('bad input is a clear error that stores nothing', async () => {
    const before = await count(`SELECT count(*) FROM attachments`);
    const file = pdf('x');
    const cases = [
        [{ visibility: 'mdt' }, 422, 'filename'],
        [{ filename: '../', visibility: 'mdt' }, 422, 'filename'],
        [{ filename: 'a.pdf' }, 422, 'visibility'],
        [{ filename: 'a.pdf', visibility: 'everyone' }, 422, 'visibility'],
        [{ filename: 'a.pdf', visibility: 'agencies' }, 422, 'visible_to'],
        [{ filename: 'a.pdf', visibility: 'agencies', visible_to: 'x' }, 422, 'visible_to'],
        [{ filename: 'a.pdf', visibility: 'agencies', visible_to: String(w.agencies.legal) }, 422, 'visible_to'],
        [{ filename: 'a.pdf', visibility: 'mdt', entry_id: '999999999' }, 422, 'entry_id'],
    ];
    for (const [query, status, field] of cases) {
        const res = await upload(police, file, query);
        assert.equal(res.status, status, `${JSON.stringify(query)}: ${res.text}`);
        assert.equal(res.json.error.field, field, JSON.stringify(query));
    }
    assert.equal((await upload(police, Buffer.alloc(0), { filename: 'a.pdf', visibility: 'mdt' })).status, 422);
    const legal = await login(server.url, w.users.legalMember);
    assert.equal((await upload(legal, file, { filename: 'a.pdf', visibility: 'mdt' })).status, 404, 'not on the case');
    assert.equal(await count(`SELECT count(*) FROM attachments`), before);
    // visible_to naming agencies on the case is taken
    const ok = await upload(police, file, { filename: 'a.pdf', visibility: 'agencies', visible_to: `${w.agencies.police},${w.agencies.dcf}` });
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual(ok.json.visible_to, [w.agencies.police, w.agencies.dcf]);
    const dcf = await login(server.url, w.users.dcfMember);
    assert.equal((await download(dcf, ok.json.id)).status, 200);
    assert.equal((await download(cac, ok.json.id)).status, 404);
});

// headersOnly(path, headers) - sends a request's headers and not one byte
// of its body, and resolves {status, json} of the answer once the server
// closes: an answer here was decided from the headers alone.
function headersOnly(p, headers) {
    const { port } = new URL(server.url);
    const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    return new Promise((resolve, reject) => {
        const sock = net.connect(Number(port), '127.0.0.1');
        let data = '';
        sock.on('data', (d) => (data += d.toString('latin1')));
        sock.on('error', reject);
        sock.on('close', () => {
            const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
            let json = null;
            try {
                json = JSON.parse(data.slice(data.indexOf('\r\n\r\n') + 4));
            } catch {
                json = null;
            }
            resolve({ status: m ? Number(m[1]) : 0, json });
        });
        sock.setTimeout(10000, () => reject(new Error('the server waited for the body')));
        sock.write(`POST ${p} HTTP/1.1\r\nHost: x\r\n${lines}\r\n`);
    });
}

test('over MDT_ATTACHMENT_MAX (25 MiB) is 413 from the headers, before any body byte; nothing stored', async () => {
    const before = await count(`SELECT count(*) FROM attachments`);
    const res = await headersOnly(`/api/v1/cases/${caseId}/attachments?filename=big.txt&visibility=mdt`, {
        Cookie: police.cookie(),
        'X-CSRF-Token': police.csrf,
        'Content-Type': 'text/plain',
        'Content-Length': 30 * 1024 * 1024,
    });
    assert.equal(res.status, 413);
    assert.equal(res.json.error.code, 'too_large');
    assert.match(res.json.error.message, /26214400 bytes/);
    assert.equal(await count(`SELECT count(*) FROM attachments`), before);
    // any other route keeps MDT_MAX_BODY (256 KiB)
    const entry = await headersOnly(`/api/v1/cases/${caseId}/entries`, {
        Cookie: police.cookie(),
        'X-CSRF-Token': police.csrf,
        'Content-Type': 'application/json',
        'Content-Length': 20 * 1024 * 1024,
    });
    assert.equal(entry.status, 413);
    assert.match(entry.json.error.message, /262144 bytes/);
    // without a session cookie an upload is 401 before its body is read
    const anonymous = await headersOnly(`/api/v1/cases/${caseId}/attachments?filename=a.txt&visibility=mdt`, {
        'Content-Type': 'text/plain',
        'Content-Length': 1024 * 1024,
    });
    assert.equal(anonymous.status, 401);
    // the server goes on serving uploads
    assert.equal((await upload(police, Buffer.from('after\n'), { filename: 'after.txt', visibility: 'mdt' })).status, 201);
});

test('a 20 MiB text file round-trips in 80 sealed chunks with the same SHA-256', async (t) => {
    const line = Buffer.from(`Exam report line ${randomBytes(8).toString('hex')} ............................\n`);
    const file = Buffer.alloc(20 * 1024 * 1024);
    for (let o = 0; o < file.length; o += line.length) line.copy(file, o, 0, Math.min(line.length, file.length - o));
    file[file.length - 1] = 0x0a;
    let t0 = performance.now();
    const res = await upload(police, file, { filename: 'exam.txt', visibility: 'mdt' });
    const up = performance.now() - t0;
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.size, file.length);
    assert.equal(await count(`SELECT count(*) FROM attachment_chunks WHERE attachment_id = ${res.json.id}`), 80, "256 KiB chunks");
    t0 = performance.now();
    const got = await download(cac, res.json.id);
    const down = performance.now() - t0;
    assert.equal(got.status, 200);
    assert.equal(sha256(got.body), sha256(file));
    assert.equal(got.headers.get('content-type'), 'text/plain');
    t.diagnostic(`20 MiB: upload ${(20000 / up).toFixed(1)} MiB/s, download ${(20000 / down).toFixed(1)} MiB/s`);
});

// The server's resident memory, from /proc (bytes).
const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.proc.pid}/status`, 'utf8'))[1]) * 1024;

test('a 20 MiB upload and its download stream: the server grows by well under the file size', async (t) => {
    if (process.env.ASAN_OPTIONS) {
        // AddressSanitizer holds freed memory in quarantine (256 MiB): RSS measures that, not us
        t.skip('not under AddressSanitizer');
        return;
    }
    const MiB = 1024 * 1024;
    const file = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(20 * MiB - 9)]);
    // warm-up: the pools, libpq buffers and allocator arenas exist before the baseline
    for (let i = 0; i < 2; i++) {
        const small = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(2 * MiB)]);
        const w0 = await upload(police, small, { filename: 'warm.pdf', visibility: 'mdt' });
        assert.equal(w0.status, 201, w0.text);
        assert.equal((await download(police, w0.json.id)).status, 200);
    }
    const base = rss();
    let peak = base;
    const sampler = setInterval(() => (peak = Math.max(peak, rss())), 2);
    try {
        const res = await upload(police, file, { filename: 'scan.pdf', visibility: 'mdt' });
        assert.equal(res.status, 201, res.text);
        assert.equal(res.json.sha256, sha256(file));
        assert.equal(await count(`SELECT count(*) FROM attachment_chunks WHERE attachment_id = ${res.json.id}`), 80, '256 KiB chunks');
        const got = await download(cac, res.json.id);
        assert.equal(got.status, 200);
        assert.equal(sha256(got.body), res.json.sha256);
    } finally {
        clearInterval(sampler);
    }
    peak = Math.max(peak, rss());
    const growth = peak - base;
    console.log(`# RSS baseline ${(base / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB, growth ${(growth / MiB).toFixed(2)} MiB for a 20 MiB round trip`);
    assert.ok(growth < 8 * MiB, `the server grew by ${(growth / MiB).toFixed(1)} MiB`);
});

test('streaming: a refused type stops at the first chunk (415, nothing stored); a download that does not match its SHA-256 is cut short', async () => {
    const MiB = 1024 * 1024;
    const rows = await count(`SELECT count(*) FROM attachments`);
    const chunks = await count(`SELECT count(*) FROM attachment_chunks`);
    const html = Buffer.concat([Buffer.from('<!DOCTYPE html><html><body>'), Buffer.alloc(3 * MiB, 'x'), Buffer.from('</body></html>\n')]);
    const refused = await upload(police, html, { filename: 'big.pdf', visibility: 'mdt' });
    assert.equal(refused.status, 415, refused.text);
    assert.equal(await count(`SELECT count(*) FROM attachments`), rows);
    assert.equal(await count(`SELECT count(*) FROM attachment_chunks`), chunks);
    // the server goes on serving on new connections
    const file = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(600 * 1024)]);
    const res = await upload(police, file, { filename: 'three-chunks.pdf', visibility: 'mdt' });
    assert.equal(res.status, 201, res.text);
    assert.equal(sha256((await download(police, res.json.id)).body), sha256(file));
    await psql(dbUrl, `UPDATE attachments SET sha256 = repeat('f', 64) WHERE id = ${res.json.id}`);
    const cut = await fetch(`${server.url}/api/v1/attachments/${res.json.id}/content`, { headers: { Cookie: police.cookie() } });
    assert.equal(cut.status, 200, 'the headers went before the last chunk was checked');
    assert.equal(Number(cut.headers.get('content-length')), file.length);
    await assert.rejects(cut.arrayBuffer(), 'the body ends short of its Content-Length: never taken for the file');
});

test('Idempotency-Key on an upload: a retry answers the same attachment and stores nothing twice; another body is 422', async () => {
    const key = randomUUID();
    const file = pdf(`idem ${randomBytes(4).toString('hex')}`);
    const q = { filename: 'release.pdf', visibility: 'mdt' };
    const first = await upload(police, file, q, { 'Idempotency-Key': key });
    assert.equal(first.status, 201, first.text);
    const rows = await count(`SELECT count(*) FROM attachments`);
    const chunks = await count(`SELECT count(*) FROM attachment_chunks`);
    const again = await upload(police, file, q, { 'Idempotency-Key': key });
    assert.equal(again.status, 201, again.text);
    assert.equal(again.headers.get('idempotency-replayed'), 'true');
    assert.equal(again.text, first.text, 'the same answer, byte for byte');
    assert.equal(await count(`SELECT count(*) FROM attachments`), rows, 'no second attachment');
    assert.equal(await count(`SELECT count(*) FROM attachment_chunks`), chunks, 'no second copy of the bytes');
    const other = await upload(police, pdf('another body'), q, { 'Idempotency-Key': key });
    assert.equal(other.status, 422, other.text);
    const renamed = await upload(police, file, { ...q, filename: 'other.pdf' }, { 'Idempotency-Key': key });
    assert.equal(renamed.status, 422, 'the same bytes under another name are another request');
    assert.equal(await count(`SELECT count(*) FROM attachments`), rows);
    assert.equal((await upload(police, file, q, { 'Idempotency-Key': '' })).status, 400);
    // another user's key is their own
    const theirs = await upload(cac, file, q, { 'Idempotency-Key': key });
    assert.equal(theirs.status, 201, theirs.text);
    assert.notEqual(theirs.json.id, first.json.id);
});

test('a pg_dump after uploads holds neither a token inside a file nor a file name', async () => {
    const token = `DUMPTOK${process.pid}${randomBytes(6).toString('hex')}`;
    const text = await upload(police, Buffer.from(`Release of information ${token}\n`), { filename: `release-${token}-a.txt`, visibility: 'mdt' });
    assert.equal(text.status, 201, text.text);
    const p = await upload(police, pdf(token), { filename: `release-${token}-b.pdf`, visibility: 'mdt' });
    assert.equal(p.status, 201, p.text);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mdt-dump-'));
    const file = path.join(dir, 'dump.sql');
    await run(`${PG_BIN}/pg_dump`, ['--no-password', '--file', file, '--dbname', ownerUrl(dbUrl)]);
    const dump = readFileSync(file, 'utf8');
    assert.ok(dump.includes('attachment_chunks'), 'the dump holds the attachment tables');
    assert.ok(dump.includes(p.json.sha256), 'the SHA-256 stays clear');
    assert.ok(!dump.includes(token), 'no token in the dump');
    // and the API still reads them
    assert.ok((await download(police, text.json.id)).body.toString().includes(token));
    assert.equal((await police.get(`/api/v1/cases/${caseId}/attachments`)).json.items.find((x) => x.id === p.json.id).filename, `release-${token}-b.pdf`);
});

test('retraction keeps who, when and why; the content stays only with the author agency', async () => {
    const res = await upload(police, pdf('retract me'), { filename: 'wrong-child.pdf', visibility: 'mdt' });
    assert.equal(res.status, 201, res.text);
    const id = res.json.id;
    assert.equal((await download(cac, id)).status, 200);
    assert.equal((await cac.del(`/api/v1/attachments/${id}`, { body: { reason: 'not mine' } })).status, 403, 'another agency may not');
    assert.equal((await police.del(`/api/v1/attachments/${id}`, { body: {} })).status, 422, 'a reason is required');
    const r = await police.del(`/api/v1/attachments/${id}`, { body: { reason: 'Uploaded to the wrong case' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.retract_reason, 'Uploaded to the wrong case');
    assert.equal(r.json.retracted_by, w.users.policeMember.userId);
    assert.ok(r.json.retracted_at);
    const again = await police.del(`/api/v1/attachments/${id}`, { body: { reason: 'twice' } });
    assert.equal(again.status, 409);
    // the others keep the record without its name or content
    const seen = (await cac.get(`/api/v1/cases/${caseId}/attachments`)).json.items.find((x) => x.id === id);
    assert.equal(seen.filename, null);
    assert.equal(seen.content_url, null);
    assert.equal(seen.retract_reason, 'Uploaded to the wrong case');
    assert.equal((await download(cac, id)).status, 404);
    const own = await download(police, id);
    assert.equal(own.status, 200);
    assert.equal(sha256(own.body), res.json.sha256);
    assert.equal(await count(`SELECT count(*) FROM attachment_chunks WHERE attachment_id = ${id}`), 1, 'the record stays');
});

// ---- a consent's document (docs/attachments.md, "Consent governance") ----

const today = (days) => new Date(Date.now() + days * 86400_000).toISOString().slice(0, 10);

// consentFor(agencyId, expiresMs) - the CAC (owner of identity on this
// case) records a consent for that agency; resolves the Consent.
async function consentFor(agencyId, expiresMs) {
    const res = await cac.post(`/api/v1/cases/${caseId}/consents`, {
        categories: ['identity'],
        agency_id: agencyId,
        consented_by: [{ role: 'guardian', name: 'Ana Guardian' }],
        purpose: 'share the forensic interview summary',
        signed_on: today(-1),
        expires_at: new Date(expiresMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
    assert.equal(res.status, 201, res.text);
    return res.json;
}

// What the client sees of attachment id: [content status, in list, in board].
async function sees(client, id) {
    const list = await client.get(`/api/v1/cases/${caseId}/attachments`);
    const board = await client.get(`/api/v1/cases/${caseId}`);
    return [(await download(client, id)).status, list.json.items.some((x) => x.id === id), board.json.attachments.some((x) => x.id === id)];
}

test("a consent's document: its recipient sees it while the consent is in force; revocation hides it at once, live", async () => {
    const consent = await consentFor(w.agencies.police, Date.now() + 86400_000);
    const policeWs = await openSocket(police);
    const res = await upload(cac, pdf('signed release'), { filename: 'release.pdf', visibility: 'mdt', consent_id: consent.id });
    assert.equal(res.status, 201, res.text);
    const id = res.json.id;
    assert.equal(res.json.consent_id, consent.id);
    const k = (await cac.get(`/api/v1/cases/${caseId}/consents`)).json.items.find((x) => x.id === consent.id);
    assert.equal(k.document_ref, `attachment:${id}`, "the consent's document_ref points at it");
    assert.deepEqual(await sees(police, id), [200, true, true], 'the recipient sees it while the consent is in force');
    await until(() => policeWs.frames.some((f) => f.kind === 'attachment.created' && f.data?.id === id), 5000, 'the created frame');

    const del = await cac.del(`/api/v1/consents/${consent.id}`);
    assert.equal(del.status, 200, del.text);
    const hide = await policeWs.next((f) => f.kind === 'access.revoked' && f.data?.entity === 'attachment', 5000);
    assert.deepEqual(hide.data, { entity: 'attachment', id });
    assert.deepEqual(await sees(police, id), [404, false, false], 'revoked: no content, not in the list or the board');
    assert.deepEqual(await sees(cac, id), [200, true, true], 'the author agency keeps it');
    const dcf = await login(server.url, w.users.dcfMember);
    assert.deepEqual(await sees(dcf, id), [200, true, true], 'not the recipient: its visibility decides');
    // a later change of the file reaches the recipient no more
    const r = await cac.del(`/api/v1/attachments/${id}`, { body: { reason: 'superseded' } });
    assert.equal(r.status, 200, r.text);
    await policeWs.barrier();
    assert.ok(!policeWs.frames.some((f) => f.kind === 'attachment.retracted' && f.data?.id === id), 'no frame of it after the revocation');
    await policeWs.close();
});

test("a consent's document disappears for the recipient at the consent's expiry", async () => {
    const expiresMs = (Math.floor(Date.now() / 1000) + 4) * 1000; // whole seconds, from the clock
    const consent = await consentFor(w.agencies.police, expiresMs);
    const res = await upload(cac, pdf('exam summary'), { filename: 'exam.pdf', visibility: 'mdt', consent_id: consent.id });
    assert.equal(res.status, 201, res.text);
    const id = res.json.id;
    const policeWs = await openSocket(police);
    assert.deepEqual(await sees(police, id), [200, true, true]);
    const hide = await policeWs.next((f) => f.kind === 'access.revoked' && f.data?.entity === 'attachment' && f.data.id === id, 15000);
    assert.ok(Date.now() >= expiresMs, 'not before the expiry');
    assert.deepEqual(hide.data, { entity: 'attachment', id });
    assert.deepEqual(await sees(police, id), [404, false, false], 'expired: no content, not in the list or the board');
    assert.deepEqual(await sees(cac, id), [200, true, true]);
    await policeWs.close();
});
