/* csv.h - the one CSV writer (RFC 4180): UTF-8 text, CRLF after every row,
 * a cell quoted when it holds a comma, a double quote, CR or LF (quotes
 * doubled inside), and spreadsheet formula injection defused: a text cell
 * starting with '=', '+', '-', '@', tab or CR gets a leading apostrophe
 * ('=1+2 is shown as text, never evaluated). The first row a caller writes
 * is its header row. Numbers written with mdt_csv_int are never prefixed.
 *
 * The writer grows one mdt_buf_t; an allocation failure is sticky
 * (mdt_csv_take then returns NULL). Pure: no I/O, no globals. */
#ifndef MDT_CSV_H
#define MDT_CSV_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct {
    mdt_buf_t out; /* the text so far; out.failed: the output is lost */
    size_t cells;  /* cells written in the current row */
} mdt_csv_t;

void mdt_csv_init(mdt_csv_t *w);
/* A text cell; NULL is an empty cell. */
void mdt_csv_text(mdt_csv_t *w, const char *s);
/* An integer cell (no formula escaping: digits and a sign only). */
void mdt_csv_int(mdt_csv_t *w, int64_t v);
/* A cell from a JSON value: an integer as mdt_csv_int, a string as
 * mdt_csv_text, true/false as text, anything else (null, absent) empty. */
void mdt_csv_json(mdt_csv_t *w, const json_t *v);
/* Ends the current row with CRLF. */
void mdt_csv_end_row(mdt_csv_t *w);
/* A whole row of text cells (n of them) followed by CRLF. */
void mdt_csv_row(mdt_csv_t *w, const char *const *cells, size_t n);
/* The header row: the NULL-terminated column names cols; returns how
 * many there are. */
size_t mdt_csv_header(mdt_csv_t *w, const char *const *cols);
/* Hands over the buffer (caller frees) and its length, and resets w; NULL
 * when an allocation failed (w is freed either way). */
char *mdt_csv_take(mdt_csv_t *w, size_t *len);
void mdt_csv_free(mdt_csv_t *w);

/* Does a text cell s need the apostrophe prefix? */
int mdt_csv_formula_like(const char *s);

#endif
