// openapi.test.mjs - the suite's OpenAPI check (lib/openapi.mjs) fails
// where it must: an answer that breaks its schema, a path or a status the
// document does not list, a taken request body the document refuses, a
// WebSocket frame outside WsServerMessage; and passes the server's real
// answers and the router's own 404.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, createDatabase, startServer } from './lib/harness.mjs';
import { checkExchange, frameChecker } from './lib/openapi.mjs';

let server;
const json = new Headers({ 'content-type': 'application/json; charset=utf-8' });

before(async () => {
    if (process.env.MDT_OPENAPI_SOFT) delete process.env.MDT_OPENAPI_SOFT; // this file tests the failing
    server = await startServer({ dbUrl: await createDatabase() });
});

after(async () => {
    if (server) await server.stop();
});

const exchange = (over) =>
    checkExchange({ base: server.url, method: 'GET', url: '/healthz', status: 200, headers: json, json: { status: 'ok', db: 'ok' }, ...over });

test('real answers pass: /healthz, a refused login, the router 404', async () => {
    const c = api(server.url);
    assert.equal((await c.get('/healthz')).status, 200);
    assert.equal((await c.post('/api/v1/login', { username: 'nobody', password: 'wrong password here' })).status, 401);
    assert.equal((await c.get('/api/v1/no-such-thing')).status, 404);
    await exchange({});
});

test('a body that breaks its schema fails with the path and ajv message', async () => {
    await assert.rejects(exchange({ json: { status: 'ok', db: 'ok', extra: 1 } }), /GET \/healthz → 200: .*must NOT have additional properties/);
    await assert.rejects(
        exchange({ method: 'GET', url: '/api/v1/me', json: { user: { id: 1 }, csrf_token: 'x'.repeat(64), mfa_required: false } }),
        /GET \/api\/v1\/me → 200: .*(agency|username)/,
    );
    await assert.rejects(exchange({ status: 404, json: { error: { code: 'no_such_code', message: 'x' } } }), /must be equal to one of the allowed values/);
});

test('an undocumented path, method or status fails', async () => {
    await assert.rejects(exchange({ url: '/api/v1/nowhere' }), /the document has no such operation/);
    await assert.rejects(exchange({ method: 'DELETE', url: '/api/v1/cases' }), /no such operation/);
    await assert.rejects(exchange({ status: 418 }), /status 418 is not documented for \/healthz/);
    await assert.rejects(exchange({ url: '/api/v1/cases/12', status: 204, json: null }), /status 204 is not documented/);
});

test('a request body the server took must match the request schema', async () => {
    const base = { method: 'POST', url: '/api/v1/render', status: 200, json: { body_html: '<p>x</p>\n' } };
    await exchange({ ...base, reqBody: { body_md: 'x' } });
    await assert.rejects(exchange({ ...base, reqBody: { body_md: 7 } }), /took a request body the document refuses/);
    // refused bodies are what tests send on purpose: not checked
    await exchange({ ...base, status: 422, json: { error: { code: 'validation', message: 'x', field: 'body_md' } }, reqBody: { body_md: 7 } });
});

test('WebSocket frames are checked against WsServerMessage', async () => {
    const check = await frameChecker(server.url);
    check({ type: 'pong', id: 'x' });
    check({ type: 'event', seq: 3, case_id: 1, kind: 'entry.created', data: {} });
    assert.throws(() => check({ type: 'event', case_id: 1, kind: 'entry.created', data: {} }), /WebSocket frame/);
    assert.throws(() => check({ type: 'no_such_frame' }), /WebSocket frame/);
});
