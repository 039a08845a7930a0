// diff.js - what changed between two versions of a text, word by word,
// computed in the browser (the history view of an entry). No library: a
// longest-common-subsequence table over words and the spaces between them.

const MAX_CELLS = 4_000_000; // beyond this the texts are shown as replaced whole

function tokens(text) {
    return (text ?? '').split(/(\s+)/).filter((t) => t !== '');
}

// Merges neighbouring parts of the same kind.
function push(parts, op, text) {
    const last = parts.at(-1);
    if (last && last.op === op) last.text += text;
    else parts.push({ op, text });
}

// wordDiff(before, after) - [{op: 'same'|'del'|'ins', text}] in reading
// order: the words of `before` that are gone (del), the new ones of `after`
// (ins) and what both share (same). Concatenating the same and ins parts
// gives `after`; the same and del parts give `before`.
export function wordDiff(before, after) {
    const a = tokens(before);
    const b = tokens(after);
    const parts = [];
    if (a.length * b.length > MAX_CELLS) {
        if (a.length) push(parts, 'del', a.join(''));
        if (b.length) push(parts, 'ins', b.join(''));
        return parts;
    }
    // lcs[i][j]: the length of the common subsequence of a[i..] and b[j..].
    const lcs = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
    for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    let i = 0;
    let j = 0;
    while (i < a.length && j < b.length) {
        if (a[i] === b[j]) {
            push(parts, 'same', a[i]);
            i++;
            j++;
        } else if (lcs[i + 1][j] >= lcs[i][j + 1]) push(parts, 'del', a[i++]);
        else push(parts, 'ins', b[j++]);
    }
    while (i < a.length) push(parts, 'del', a[i++]);
    while (j < b.length) push(parts, 'ins', b[j++]);
    return parts;
}
