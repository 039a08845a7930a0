// totp.mjs - RFC 6238 TOTP (and RFC 4226 HOTP) for the tests, so they can
// answer the server's MFA prompts the way an authenticator app would.
//
//   import { totp, totpStep, base32Decode } from './lib/totp.mjs';
//   totp(secretB32)                     the current 6-digit code
//   totp(secretB32, {time: unixSeconds, step: 30, digits: 6, algorithm: 'sha1'})
//   totpStep()                          the current step number (unix time / 30)
//   freshStep(secret)                   waits for the next step; resolves its code
//
// The server accepts the steps before, at and after now, and each step
// only once per user: a test that needs two codes in a row must use two
// different steps (freshStep, or time: now ± 30).

import { createHmac } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

// base32Decode(s) - RFC 4648 base32 (case-insensitive, spaces and '='
// padding ignored) to a Buffer. Throws on a character outside the alphabet.
export function base32Decode(s) {
    const clean = s.replace(/[\s=]/g, '').toUpperCase();
    let bits = 0;
    let value = 0;
    const out = [];
    for (const ch of clean) {
        const v = ALPHABET.indexOf(ch);
        if (v < 0) throw new Error(`base32: bad character ${JSON.stringify(ch)}`);
        value = (value << 5) | v;
        bits += 5;
        if (bits >= 8) {
            out.push((value >>> (bits - 8)) & 0xff);
            bits -= 8;
        }
    }
    return Buffer.from(out);
}

// base32Encode(buf) - RFC 4648 base32, upper case, no padding.
export function base32Encode(buf) {
    let bits = 0;
    let value = 0;
    let out = '';
    for (const byte of buf) {
        value = (value << 8) | byte;
        bits += 8;
        while (bits >= 5) {
            out += ALPHABET[(value >>> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
    return out;
}

// hotp(key, counter, {digits, algorithm}) - RFC 4226 value as a zero-padded
// string. key is a Buffer (or a base32 string).
export function hotp(key, counter, { digits = 6, algorithm = 'sha1' } = {}) {
    const k = typeof key === 'string' ? base32Decode(key) : key;
    const msg = Buffer.alloc(8);
    msg.writeBigUInt64BE(BigInt(counter));
    const mac = createHmac(algorithm, k).update(msg).digest();
    const off = mac[mac.length - 1] & 0x0f;
    const bin =
        ((mac[off] & 0x7f) << 24) | ((mac[off + 1] & 0xff) << 16) | ((mac[off + 2] & 0xff) << 8) | (mac[off + 3] & 0xff);
    return String(bin % 10 ** digits).padStart(digits, '0');
}

// totpStep(time, step) - the step number for a unix time (seconds).
export function totpStep(time = Date.now() / 1000, step = 30) {
    return Math.floor(time / step);
}

// totp(secret, {time, step, digits, algorithm}) - RFC 6238 code for time
// (unix seconds, default now).
export function totp(secret, { time = Date.now() / 1000, step = 30, digits = 6, algorithm = 'sha1' } = {}) {
    return hotp(secret, totpStep(time, step), { digits, algorithm });
}

// freshStep(secret, {step}) - waits until the next step starts (plus a
// little margin) and resolves that step's code. Use it when a test has
// already spent the current step's code.
export async function freshStep(secret, { step = 30 } = {}) {
    const now = Date.now() / 1000;
    const next = (totpStep(now, step) + 1) * step;
    await new Promise((resolve) => setTimeout(resolve, Math.ceil((next - now) * 1000) + 50));
    return totp(secret, { step });
}
