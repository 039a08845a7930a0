// auditchain.mjs - the audit chain as the tests see it (docs/security.md):
// the key the server derives from a key file, the hash of one link, and
// appending or re-hashing rows with a chosen key, for fixtures and for the
// tamper tests (an attacker with the database but without the key file).

import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { keyFile, psql } from './harness.mjs';

// auditKey(file) - the audit-chain key derived from a key file: HKDF-SHA-256
// of its master secret, salt "mdtboard key file v1", info "audit-chain".
export function auditKey(file = keyFile()) {
    const m = /^master ([0-9a-f]{64})$/m.exec(readFileSync(file, 'utf8'));
    if (!m) throw new Error(`${file}: no master line`);
    const okm = hkdfSync('sha256', Buffer.from(m[1], 'hex'), 'mdtboard key file v1', 'audit-chain', 32);
    return Buffer.from(okm);
}

// linkHash(key, prev, canonical) - HMAC-SHA-256 under key (plain SHA-256
// when key is null) of prev + "\n" + canonical, as hex.
export function linkHash(key, prev, canonical) {
    const h = key ? createHmac('sha256', key) : createHash('sha256');
    return h.update(`${prev}\n${canonical}`, 'utf8').digest('hex');
}

const sqlText = (v) => `'${String(v).replace(/'/g, "''")}'`;

// appendAudit(dbUrl, rows, key) - appends rows (objects with the audit
// columns, as mdt_audit_prepare takes them) as the server would; `at`
// defaults to now. Retries when a server appends meanwhile.
export async function appendAudit(dbUrl, rows, key = auditKey()) {
    const json = JSON.stringify(rows.map((r) => ({ at: new Date().toISOString(), ...r })));
    for (let tries = 0; tries < 20; tries++) {
        const prepared = JSON.parse(
            await psql(
                dbUrl,
                `SELECT json_agg(json_build_array(row_id, row_canonical, chain_head))
                   FROM mdt_audit_prepare(${sqlText(json)}::jsonb)`,
            ),
        );
        let prev = prepared[0][2];
        const hashes = prepared.map(([, canonical]) => (prev = linkHash(key, prev, canonical)));
        try {
            await psql(
                dbUrl,
                `SELECT mdt_audit_insert(${sqlText(json)}::jsonb, ${sqlText(JSON.stringify(hashes))}::jsonb, ${prepared[0][0] - 1})`,
            );
            return;
        } catch (err) {
            if (!/head moved/.test(err.message)) throw err;
        }
    }
    throw new Error('appendAudit: the chain head kept moving');
}

// rehash(dbUrl, fromId, key) - what an attacker with the database does
// after editing rows: recomputes every hash from row fromId on with key
// (null: plain SHA-256) and moves the ledger's head to match, with the
// append-only trigger disabled meanwhile. dbUrl must be a superuser's.
export async function rehash(dbUrl, fromId, key) {
    const rows = JSON.parse(
        await psql(
            dbUrl,
            `SELECT json_agg(json_build_array(id, mdt_audit_canonical(a)) ORDER BY id) FROM audit a WHERE id >= ${fromId}`,
        ),
    );
    let prev = await psql(dbUrl, `SELECT coalesce((SELECT hash FROM audit WHERE id = ${fromId - 1}), repeat('0', 64))`);
    const values = rows.map(([id, canonical]) => {
        const p = prev;
        prev = linkHash(key, p, canonical);
        return `(${id}, '${p}', '${prev}')`;
    });
    await psql(
        dbUrl,
        `BEGIN;
         ALTER TABLE audit DISABLE TRIGGER audit_no_update;
         UPDATE audit a SET prev_hash = v.p, hash = v.h FROM (VALUES ${values.join(',')}) v(id, p, h) WHERE a.id = v.id;
         UPDATE ledger SET audit_hash = '${prev}';
         ALTER TABLE audit ENABLE TRIGGER audit_no_update;
         COMMIT;`,
    );
}
