/* test_csv.c - the RFC 4180 CSV writer (server/csv.c).
 *
 * Plain cells, quoting of commas, quotes, CR and LF, CRLF row ends, empty
 * and NULL cells, integers, UTF-8 passed through untouched, and formula
 * injection: every cell starting with =, +, -, @, tab or CR gets a leading
 * apostrophe, quoted as well when it needs quoting. */
#include "check.h"
#include "csv.h"

#include <stdlib.h>
#include <string.h>

/* One row of the given text cells, as the writer puts it. */
static char *one_row(const char *const *cells, size_t n)
{
    mdt_csv_t w;
    mdt_csv_init(&w);
    mdt_csv_row(&w, cells, n);
    size_t len;
    char *out = mdt_csv_take(&w, &len);
    if (out && strlen(out) != len) {
        free(out);
        return NULL;
    }
    return out;
}

static void check_cell(const char *cell, const char *want)
{
    const char *cells[] = {cell};
    char *out = one_row(cells, 1);
    CHECK_EQ_STR(out, want);
    free(out);
}

static void test_plain(void)
{
    check_cell("abc", "abc\r\n");
    check_cell("", "\r\n");
    check_cell(NULL, "\r\n");
    check_cell("Stamford 06901", "Stamford 06901\r\n");
    check_cell("Ni\xc3\xb1o \xe2\x80\x94 caf\xc3\xa9", "Ni\xc3\xb1o \xe2\x80\x94 caf\xc3\xa9\r\n");
    check_cell("<5", "<5\r\n");
    check_cell(" =lead space", " =lead space\r\n");
    const char *row[] = {"a", NULL, "", "b"};
    char *out = one_row(row, 4);
    CHECK_EQ_STR(out, "a,,,b\r\n");
    free(out);
}

static void test_quoting(void)
{
    check_cell("a,b", "\"a,b\"\r\n");
    check_cell("say \"hi\"", "\"say \"\"hi\"\"\"\r\n");
    check_cell("\"", "\"\"\"\"\r\n");
    check_cell("line1\nline2", "\"line1\nline2\"\r\n");
    check_cell("a\r\nb", "\"a\r\nb\"\r\n");
    check_cell("Call DCF, then \"school\"\nby Friday",
               "\"Call DCF, then \"\"school\"\"\nby Friday\"\r\n");
}

static void test_formulas(void)
{
    check_cell("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"\r\n");
    check_cell("=1+2", "'=1+2\r\n");
    check_cell("+1", "'+1\r\n");
    check_cell("-1", "'-1\r\n");
    check_cell("@SUM(A1)", "'@SUM(A1)\r\n");
    check_cell("\tx", "'\tx\r\n");
    check_cell("\rx", "\"'\rx\"\r\n");
    check_cell("=a,b", "\"'=a,b\"\r\n");
    check_cell("a=b", "a=b\r\n");
    CHECK(mdt_csv_formula_like("=x"));
    CHECK(mdt_csv_formula_like("-"));
    CHECK(!mdt_csv_formula_like(""));
    CHECK(!mdt_csv_formula_like(NULL));
    CHECK(!mdt_csv_formula_like("x="));
}

static void test_rows_and_ints(void)
{
    mdt_csv_t w;
    mdt_csv_init(&w);
    const char *hdr[] = {"group", "item", "count"};
    mdt_csv_row(&w, hdr, 3);
    mdt_csv_text(&w, "cases");
    mdt_csv_text(&w, "new");
    mdt_csv_int(&w, 12);
    mdt_csv_end_row(&w);
    mdt_csv_int(&w, -7);
    mdt_csv_int(&w, 0);
    mdt_csv_end_row(&w);
    size_t len;
    char *out = mdt_csv_take(&w, &len);
    CHECK_EQ_STR(out, "group,item,count\r\ncases,new,12\r\n-7,0\r\n");
    CHECK_EQ_INT(len, strlen("group,item,count\r\ncases,new,12\r\n-7,0\r\n"));
    CHECK(w.out.s == NULL && w.out.len == 0);
    free(out);
}

static void test_large(void)
{
    mdt_csv_t w;
    mdt_csv_init(&w);
    for (int i = 0; i < 10000; i++) {
        mdt_csv_text(&w, "x,\"y\"");
        mdt_csv_end_row(&w);
    }
    size_t len;
    char *out = mdt_csv_take(&w, &len);
    CHECK(out != NULL);
    CHECK_EQ_INT(len, 10000 * strlen("\"x,\"\"y\"\"\"\r\n"));
    free(out);
}

/* JSON values as cells: integers unprefixed, strings formula-safe,
 * booleans as words, null and absent values empty. */
static void test_json_cells(void)
{
    mdt_csv_t w;
    mdt_csv_init(&w);
    static const char *const cols[] = {"n", "=f", NULL};
    CHECK_EQ_INT(mdt_csv_header(&w, cols), 2);
    json_t *v[] = {json_integer(-3), json_string("=1+2"), json_true(), json_null(), NULL};
    for (size_t i = 0; i < 5; i++)
        mdt_csv_json(&w, v[i]);
    mdt_csv_end_row(&w);
    size_t len;
    char *out = mdt_csv_take(&w, &len);
    CHECK_EQ_STR(out, "n,'=f\r\n-3,'=1+2,true,,\r\n");
    free(out);
    for (size_t i = 0; i < 4; i++)
        json_decref(v[i]);
}

int main(void)
{
    test_plain();
    test_quoting();
    test_formulas();
    test_rows_and_ints();
    test_large();
    test_json_cells();
    return check_done();
}
