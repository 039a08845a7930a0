/* test_attachfile.c - an uploaded file's type comes from its bytes only
 * (server/attachfile.c): a PDF, a PNG, plain text are taken; HTML, an
 * executable and a ZIP that is not an Office document are not, whatever
 * name they would carry. File names lose their path and control
 * characters and keep what was typed otherwise; invalid UTF-8 and names
 * that are nothing are refused. The Content-Disposition quotes safely and
 * carries the UTF-8 name percent-encoded. */
#include "attachfile.h"
#include "check.h"

#include <string.h>

static const char *detect(const char *data, size_t len)
{
    const char *why = NULL;
    const char *t = mdt_attachfile_detect(data, len, &why);
    CHECK(t || (why && why[0]));
    return t;
}

static void test_types(void)
{
    static const char pdf[] = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n";
    CHECK_EQ_STR(detect(pdf, sizeof(pdf) - 1), "application/pdf");
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0,    0,   0,
                                        13,   'I', 'H', 'D', 'R',  0,    0,    0,    1,    0,   0,
                                        0,    1,   8,   2,   0,    0,    0,    0x90, 0x77, 0x53};
    CHECK_EQ_STR(detect((const char *)png, sizeof(png)), "image/png");
    static const char text[] = "Release of information, signed 3 May.\nPage 1 of 1\n";
    CHECK_EQ_STR(detect(text, sizeof(text) - 1), "text/plain");
    static const char html[] =
        "<!DOCTYPE html>\n<html><body><script>alert(1)</script></body></html>\n";
    CHECK(detect(html, sizeof(html) - 1) == NULL);
    static const char elf[] = "\x7f"
                              "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0";
    CHECK(detect(elf, sizeof(elf) - 1) == NULL);
    static const char zip[] =
        "PK\x03\x04\x14\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x05\0\0\0a.txt";
    CHECK(detect(zip, sizeof(zip) - 1) == NULL);
    CHECK(mdt_attachfile_inline("image/png"));
    CHECK(!mdt_attachfile_inline("application/pdf"));
    CHECK(!mdt_attachfile_inline("text/plain"));
}

static void test_sha256(void)
{
    char hex[65];
    mdt_attachfile_sha256("abc", 3, hex);
    CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_names(void)
{
    char out[MDT_ATTACHFILE_NAME_MAX + 1];
    CHECK(mdt_attachfile_name("../../etc/passwd", out) == 0);
    CHECK_EQ_STR(out, "passwd");
    CHECK(mdt_attachfile_name("C:\\Users\\x\\Release form.pdf", out) == 0);
    CHECK_EQ_STR(out, "Release form.pdf");
    CHECK(mdt_attachfile_name("  Ex\x01\x1f\x7f"
                              "am\r\n.pdf  ",
                              out) == 0);
    CHECK_EQ_STR(out, "Exam.pdf");
    CHECK(mdt_attachfile_name("Zeugnis Müller – 2 Seiten.pdf", out) == 0);
    CHECK_EQ_STR(out, "Zeugnis Müller – 2 Seiten.pdf");
    CHECK(mdt_attachfile_name("bad\xff.pdf", out) == -1);
    CHECK(mdt_attachfile_name("\xc0\xaf.pdf", out) == -1); /* overlong '/' */
    CHECK(mdt_attachfile_name("dir/", out) == -1);
    CHECK(mdt_attachfile_name("..", out) == -1);
    CHECK(mdt_attachfile_name("\x01\x02", out) == -1);
    char longname[600];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    CHECK(mdt_attachfile_name(longname, out) == 0);
    CHECK_EQ_INT(strlen(out), MDT_ATTACHFILE_NAME_MAX);
    /* a cut never splits a character: 200 two-byte characters give 127 */
    char wide[401];
    for (int i = 0; i < 200; i++)
        memcpy(wide + 2 * i, "\xc3\xbc", 2);
    wide[400] = 0;
    CHECK(mdt_attachfile_name(wide, out) == 0);
    CHECK_EQ_INT(strlen(out), 254);
}

static void test_disposition(void)
{
    char d[1024];
    CHECK(mdt_attachfile_disposition("a \"b\".pdf", 0, d, sizeof(d)) == 0);
    CHECK_EQ_STR(d, "attachment; filename=\"a _b_.pdf\"; filename*=UTF-8''a%20%22b%22.pdf");
    CHECK(mdt_attachfile_disposition("Müller.png", 1, d, sizeof(d)) == 0);
    CHECK_EQ_STR(d, "inline; filename=\"M__ller.png\"; filename*=UTF-8''M%C3%BCller.png");
    char longname[MDT_ATTACHFILE_NAME_MAX + 1];
    memset(longname, '%', MDT_ATTACHFILE_NAME_MAX);
    longname[MDT_ATTACHFILE_NAME_MAX] = 0;
    CHECK(mdt_attachfile_disposition(longname, 0, d, sizeof(d)) == 0);
    CHECK(strlen(d) < 1000);
    CHECK(mdt_attachfile_disposition(longname, 0, d, 100) == -1);
}

int main(void)
{
    test_types();
    test_sha256();
    test_names();
    test_disposition();
    return check_done();
}
