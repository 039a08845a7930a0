// openapi.mjs - checks every answer the integration tests' HTTP client gets
// against the server's own OpenAPI document (GET /api/v1/openapi.json), so
// the document cannot drift from the server (issue #18, docs/api.md
// "OpenAPI document").
//
// The document is fetched once per process from the first server a test
// talks to and compiled with ajv (JSON Schema 2020-12, as OpenAPI 3.1 uses).
// checkExchange() then, for one request and its answer:
//   - finds the operation by templating the path against the document's
//     paths ({id} a positive integer, {token} a token segment);
//   - fails when the path is an /api/ path the document does not list
//     (unless the answer is the router's own 404/405 in the error shape),
//     when the operation does not list the status, or when a JSON body does
//     not match the status's schema;
//   - when the server accepted the request (2xx), checks the JSON body the
//     test sent against the operation's request schema: a body the server
//     takes must be one the document allows.
// Paths outside /api/ that the document does not list (web/ files), the
// test hooks (/api/v1/_test/...) and a proxy's 502/504 pages (nginx in
// front of a node that died mid-request) are not checked.
//
// MDT_OPENAPI_SOFT=FILE records mismatches as JSON lines in FILE instead of
// failing (to collect every disagreement of a whole suite run at once).
// Each process appends its counts to tests/artifacts/openapi-coverage.jsonl;
// scripts/openapi-coverage sums them.

import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const SOURCE_DIR =
    process.env.MDT_SOURCE_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

let specPromise = null;
const stats = { responses: 0, requests: 0, frames: 0, unmatched: 0, operations: new Set(), total: 0 };

const pointer = (...parts) => parts.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

// The compiled document: {ajv, routes: [{re, path, item}], doc, cache}.
async function loadSpec(base) {
    const res = await fetch(new URL('/api/v1/openapi.json', base));
    if (res.status !== 200) throw new Error(`GET /api/v1/openapi.json answered ${res.status}`);
    const doc = await res.json();
    const ajv = new Ajv2020({ strict: false, allErrors: true, inlineRefs: false });
    addFormats(ajv);
    ajv.addSchema(doc, 'openapi');
    const routes = Object.entries(doc.paths).map(([p, item]) => {
        const re = p
            .split(/(\{[a-z0-9_]+\})/)
            .map((part) => {
                if (part === '{token}') return '[A-Za-z0-9_-]{1,128}';
                if (/^\{id\d*\}$/.test(part)) return '[1-9][0-9]{0,18}';
                return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
            })
            .join('');
        return { re: new RegExp(`^${re}$`), path: p, item };
    });
    const s = { ajv, routes, doc, cache: new Map() };
    for (const r of routes) stats.total += Object.keys(r.item).length;
    warm(s).catch(() => {}); // a schema that does not compile fails in validate()
    return s;
}

// warm(s) - compiles every schema of the document in the background, one
// per turn of the event loop, while the test sets itself up: a test that
// times a request should not time ajv's compiler (validate() compiles on
// first use whatever is not warm yet). Never all at once: that blocks the
// loop for seconds on a loaded box, and a keep-alive socket the server
// closed meanwhile is reused before its close is seen ("other side
// closed").
async function warm(s) {
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    for (const r of s.routes) {
        for (const [m, op] of Object.entries(r.item)) {
            const refs = Object.entries(op.responses ?? {})
                .filter(([, resp]) => resp.content?.['application/json'])
                .map(([status]) => ['responses', status, 'content', 'application/json', 'schema']);
            if (op.requestBody?.content?.['application/json']) refs.push(['requestBody', 'content', 'application/json', 'schema']);
            for (const ref of refs) {
                await turn();
                compiled(s, pointer('paths', r.path, m, ...ref));
            }
        }
    }
    await turn();
    compiled(s, 'components/schemas/WsServerMessage');
}

// compiled(s, ref) - the validator of the schema at ref (a JSON pointer in
// the document); a bare {$ref} to a component shares that component's
// validator, so each component is compiled once.
function compiled(s, ref) {
    if (!s.cache.has(ref)) {
        const node = ref.split('/').reduce((o, k) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], s.doc);
        const only = node && Object.keys(node).length === 1 && typeof node.$ref === 'string' && node.$ref.startsWith('#/');
        s.cache.set(ref, only ? compiled(s, node.$ref.slice(2)) : s.ajv.getSchema(`openapi#/${ref}`));
    }
    return s.cache.get(ref);
}

// validate(s, ref, value) - ajv's error text, or null when value matches.
function validate(s, ref, value) {
    const check = compiled(s, ref);
    if (!check) return `no schema at ${ref}`;
    if (check(value)) return null;
    return s.ajv.errorsText(check.errors, { dataVar: 'body' });
}

function fail(msg) {
    if (process.env.MDT_OPENAPI_SOFT) {
        appendFileSync(process.env.MDT_OPENAPI_SOFT, `${JSON.stringify({ file: process.argv[1], msg })}\n`);
        return;
    }
    throw new Error(`OpenAPI: ${msg}`);
}

const isJson = (headers) => /^application\/json\b/i.test(headers.get?.('content-type') ?? headers['content-type'] ?? '');

// spec(base) - the compiled document, fetched from base once per process.
function spec(base) {
    specPromise ??= loadSpec(base).catch((err) => {
        specPromise = null;
        throw err;
    });
    return specPromise;
}

// frameChecker(base) - resolves a function that checks one frame the server
// sent on /ws against components.schemas.WsServerMessage (throws, or
// records under MDT_OPENAPI_SOFT, on a mismatch).
export async function frameChecker(base) {
    const s = await spec(base);
    return (frame) => {
        const err = validate(s, 'components/schemas/WsServerMessage', frame);
        stats.frames++;
        if (err) fail(`WebSocket frame: ${err}; frame ${JSON.stringify(frame).slice(0, 600)}`);
    };
}

// checkExchange({base, method, url, reqBody, status, headers, json}) - the
// checks above for one exchange; throws (or records) on a mismatch.
export async function checkExchange({ base, method, url, reqBody, status, headers, json }) {
    const pathname = new URL(url, base).pathname;
    if (pathname.startsWith('/api/v1/_test/')) return;
    // nginx's own answer for a node that died mid-request (deploy tests);
    // mdtboard never answers 502 or 504
    if ((status === 502 || status === 504) && !isJson(headers)) return;
    const doc = await spec(base);
    const route = doc.routes.find((r) => r.re.test(pathname));
    const m = method.toLowerCase();
    const op = route?.item[m];
    const where = `${method} ${pathname} → ${status}`;
    if (!op) {
        if (!route && !pathname.startsWith('/api/')) return;
        if ((status === 404 || status === 405) && json) {
            const err = validate(doc, 'components/schemas/Error', json);
            if (err) fail(`${where} (no such operation): ${err}`);
            stats.unmatched++;
            return;
        }
        return fail(`${where}: the document has no such operation`);
    }
    const opRef = ['paths', route.path, m];
    stats.operations.add(pointer(...opRef));
    const resp = op.responses?.[status];
    if (!resp) return fail(`${where}: status ${status} is not documented for ${route.path}; body ${JSON.stringify(json ?? null).slice(0, 600)}`);
    const schema = resp.content?.['application/json']?.schema;
    if (json !== null && json !== undefined && isJson(headers)) {
        if (!schema) return fail(`${where}: a JSON answer the document does not describe: ${JSON.stringify(json).slice(0, 400)}`);
        const err = validate(doc, pointer(...opRef, 'responses', status, 'content', 'application/json', 'schema'), json);
        stats.responses++;
        if (err) return fail(`${where}: ${err}; body ${JSON.stringify(json).slice(0, 600)}`);
    }
    const reqSchema = op.requestBody?.content?.['application/json']?.schema;
    if (status >= 200 && status < 300 && reqSchema && reqBody && typeof reqBody === 'object' && !(reqBody instanceof Uint8Array)) {
        const err = validate(doc, pointer(...opRef, 'requestBody', 'content', 'application/json', 'schema'), reqBody);
        stats.requests++;
        if (err) fail(`${method} ${pathname}: the server took a request body the document refuses: ${err}; body ${JSON.stringify(reqBody).slice(0, 400)}`);
    }
}

process.on('exit', () => {
    if (!specPromise) return;
    const line = {
        file: path.basename(process.argv[1] ?? ''),
        responses: stats.responses,
        requests: stats.requests,
        frames: stats.frames,
        unmatched: stats.unmatched,
        operations: [...stats.operations],
        total: stats.total,
    };
    process.stderr.write(
        `openapi: ${stats.responses} responses, ${stats.requests} request bodies and ${stats.frames} WebSocket frames validated, ` +
            `${stats.operations.size}/${stats.total} operations exercised\n`,
    );
    try {
        const dir = path.join(SOURCE_DIR, 'tests', 'artifacts');
        mkdirSync(dir, { recursive: true });
        appendFileSync(path.join(dir, 'openapi-coverage.jsonl'), `${JSON.stringify(line)}\n`);
    } catch {
        // a read-only tree: the stderr line is enough
    }
});
