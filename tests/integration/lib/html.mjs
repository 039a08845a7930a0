// html.mjs - what "rendered safely" means for HTML the server made from
// Markdown (entries, action items, outcomes, the composer preview).
//
// Raw HTML a person typed is shown as escaped text ("known only as <Beto>"
// stays readable), so words such as "onerror" or "javascript:" may appear
// in the text; what must never appear is markup: no dangerous element (a
// "<" in text is always escaped, so "<script" cannot be text), and no
// dangerous attribute or URL inside any tag.

import assert from 'node:assert/strict';

const ELEMENTS = /<(script|img|iframe|svg|style|object|embed|details|math|form|input|link|meta)\b/i;
const IN_TAGS = /javascript:|vbscript:|data:|file:|href="\/\/|\bon[a-z]+=|src=|style=/i;

/** The tags of html only, text between them left out. */
export function tagsOf(html) {
    return (html.match(/<[^>]*>/g) ?? []).join('');
}

/** Asserts that html holds no dangerous element and no dangerous attribute. */
export function assertSafeHtml(html, message = html) {
    assert.doesNotMatch(html, ELEMENTS, message);
    assert.doesNotMatch(tagsOf(html), IN_TAGS, message);
}
