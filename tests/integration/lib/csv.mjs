// csv.mjs - a strict RFC 4180 reader for the tests of CSV answers
// (quoted cells, doubled quotes, CRLF after every row; a bare LF, a quote
// inside an unquoted cell or an unterminated quote fail the test).

import assert from 'node:assert/strict';

// parseCsv(text) - the rows, each an array of cells.
export function parseCsv(text) {
    const rows = [];
    let row = [];
    let i = 0;
    for (;;) {
        let cell = '';
        if (text[i] === '"') {
            i++;
            for (;;) {
                const q = text.indexOf('"', i);
                assert.ok(q >= 0, 'unterminated quoted cell');
                cell += text.slice(i, q);
                i = q + 1;
                if (text[i] === '"') {
                    cell += '"';
                    i++;
                } else break;
            }
        } else {
            const m = /[,\r\n"]/.exec(text.slice(i));
            const end = m ? i + m.index : text.length;
            assert.notEqual(text[end], '"', 'a quote inside an unquoted cell');
            assert.ok(text[end] !== '\n', 'a bare LF ends a row');
            cell = text.slice(i, end);
            i = end;
        }
        row.push(cell);
        if (text[i] === ',') {
            i++;
            continue;
        }
        assert.equal(text.slice(i, i + 2), '\r\n', `row end at ${i}`);
        i += 2;
        rows.push(row);
        row = [];
        if (i === text.length) return rows;
    }
}
