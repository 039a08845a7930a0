/* test_markdown.c - Markdown rendering and sanitizing (server/markdown.c).
 *
 * Exact HTML for the common constructs, an XSS corpus that must never leave
 * anything active in the output, images turned into links, input checks,
 * and the plain-text excerpt. */
#include "check.h"
#include "markdown.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Renders a NUL-terminated source; NULL when the call fails. */
static char *render(const char *src)
{
    char *html = NULL;
    if (mdt_markdown_render(src, strlen(src), &html) != 0)
        return NULL;
    return html;
}

static void check_render(const char *src, const char *want)
{
    char *html = render(src);
    CHECK_EQ_STR(html, want);
    free(html);
}

static char *excerpt(const char *src, size_t max_chars)
{
    char *out = NULL;
    if (mdt_markdown_plaintext(src, strlen(src), &out, max_chars) != 0)
        return NULL;
    return out;
}

static void check_excerpt(const char *src, size_t max_chars, const char *want)
{
    char *out = excerpt(src, max_chars);
    CHECK_EQ_STR(out, want);
    free(out);
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    }
    return 0;
}

/* The tags of html only (text between them dropped), so "javascript:" shown
 * as escaped text can be told apart from an attribute. cmark escapes every
 * '<' in text, so each '<' in its output opens a tag. */
static char *markup_of(const char *html)
{
    char *out = malloc(strlen(html) + 1), *o = out;
    int in_tag = 0;
    for (const char *p = html; out && *p; p++) {
        if (*p == '<')
            in_tag = 1;
        if (in_tag)
            *o++ = *p;
        if (*p == '>')
            in_tag = 0;
    }
    if (out)
        *o = '\0';
    return out;
}

static void test_basics(void)
{
    check_render("", "");
    check_render("# Title\n", "<h1>Title</h1>\n");
    check_render("### Third *level*", "<h3>Third <em>level</em></h3>\n");
    check_render("Setext\n===", "<h1>Setext</h1>\n");
    check_render("*em* _em_ **strong** __strong__ ***both***",
                 "<p><em>em</em> <em>em</em> <strong>strong</strong> <strong>strong</strong> "
                 "<em><strong>both</strong></em></p>\n");
    check_render("- one\n- two\n", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n");
    check_render("1. one\n2. two\n", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n");
    check_render("3. three\n", "<ol start=\"3\">\n<li>three</li>\n</ol>\n");
    check_render("- a\n\n  b\n", "<ul>\n<li>\n<p>a</p>\n<p>b</p>\n</li>\n</ul>\n");
    check_render("```c\nint x = a < b;\n```\n",
                 "<pre><code class=\"language-c\">int x = a &lt; b;\n</code></pre>\n");
    check_render("    indented\n", "<pre><code>indented\n</code></pre>\n");
    check_render("use `a<b>` here", "<p>use <code>a&lt;b&gt;</code> here</p>\n");
    check_render("> quoted\n", "<blockquote>\n<p>quoted</p>\n</blockquote>\n");
    check_render("a\n\n---\n\nb", "<p>a</p>\n<hr />\n<p>b</p>\n");
    check_render("a & b < c > d \"e\"", "<p>a &amp; b &lt; c &gt; d &quot;e&quot;</p>\n");
    /* Hard breaks: a newline typed in a paragraph stays a line break. */
    check_render("line one\nline two", "<p>line one<br />\nline two</p>\n");
    /* No smart punctuation: quotes and dashes are kept as typed. */
    check_render("\"quoted\" -- 'it's' ...", "<p>&quot;quoted&quot; -- 'it's' ...</p>\n");
    check_render("caf\xc3\xa9 \xe2\x9c\x93", "<p>caf\xc3\xa9 \xe2\x9c\x93</p>\n");
    check_render("&copy; &#x41;", "<p>\xc2\xa9 A</p>\n");
}

static void test_links_kept(void)
{
    check_render("[a](https://example.org/p?q=1&r=2#f)",
                 "<p><a href=\"https://example.org/p?q=1&amp;r=2#f\">a</a></p>\n");
    check_render("[a](http://example.org/)", "<p><a href=\"http://example.org/\">a</a></p>\n");
    check_render("[a](HTTPS://EXAMPLE.ORG/X)", "<p><a href=\"HTTPS://EXAMPLE.ORG/X\">a</a></p>\n");
    check_render("[mail](mailto:someone@example.org)",
                 "<p><a href=\"mailto:someone@example.org\">mail</a></p>\n");
    check_render("<https://example.org/a>",
                 "<p><a href=\"https://example.org/a\">https://example.org/a</a></p>\n");
    check_render("<someone@example.org>",
                 "<p><a href=\"mailto:someone@example.org\">someone@example.org</a></p>\n");
    check_render("[r][ref]\n\n[ref]: https://example.org/r",
                 "<p><a href=\"https://example.org/r\">r</a></p>\n");
    /* Titles are kept and escaped by cmark: no attribute can be opened. */
    check_render("[a](https://example.org \"t\\\" onmouseover=\\\"x\")",
                 "<p><a href=\"https://example.org\" title=\"t&quot; onmouseover=&quot;x\">a</a>"
                 "</p>\n");
    /* A quote in the URL is percent-encoded, never closes the attribute. */
    check_render("[a](<https://example.org/\"onclick=x>)",
                 "<p><a href=\"https://example.org/%22onclick=x\">a</a></p>\n");
}

static void test_links_blanked(void)
{
    check_render("[x](javascript:alert(1))", "<p><a href=\"\">x</a></p>\n");
    check_render("[x](/api/logout)", "<p><a href=\"\">x</a></p>\n");
    check_render("[x](#top)", "<p><a href=\"\">x</a></p>\n");
    check_render("[x](//evil.example/a)", "<p><a href=\"\">x</a></p>\n");
    check_render("[x](java&#9;script:alert(1))", "<p><a href=\"\">x</a></p>\n");
    check_render("[x](&#1;https://example.org)", "<p><a href=\"\">x</a></p>\n");
    check_render("[x](ftp://example.org)", "<p><a href=\"\">x</a></p>\n");
    check_render("[x](httpx://example.org)", "<p><a href=\"\">x</a></p>\n");
    check_render("<javascript:alert(1)>", "<p><a href=\"\">javascript:alert(1)</a></p>\n");
}

static void test_raw_html(void)
{
    /* Shown as the literal, escaped text a person typed: never markup, never
     * dropped ("known only as <Beto>", "<redacted>"). */
    check_render("known only as <Beto>", "<p>known only as &lt;Beto&gt;</p>\n");
    check_render("<redacted>", "<p>&lt;redacted&gt;</p>\n");
    check_render("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n");
    check_render("<div>\nhidden\n</div>\n\nshown",
                 "<p>&lt;div&gt;<br />\nhidden<br />\n&lt;/div&gt;</p>\n<p>shown</p>\n");
    check_render("a <b>bold</b> c", "<p>a &lt;b&gt;bold&lt;/b&gt; c</p>\n");
    check_render("<!-- note -->\n\ntext", "<p>&lt;!-- note --&gt;</p>\n<p>text</p>\n");
    check_render("- <span></span>\n", "<ul>\n<li>&lt;span&gt;&lt;/span&gt;</li>\n</ul>\n");
    check_render("[<b>x</b>](https://example.org/)",
                 "<p><a href=\"https://example.org/\">&lt;b&gt;x&lt;/b&gt;</a></p>\n");
}

static void test_images(void)
{
    check_render("![a photo](https://example.org/p.png)",
                 "<p><a href=\"https://example.org/p.png\">a photo</a></p>\n");
    check_render("![a *b* `c`](https://example.org/p.png \"T\")",
                 "<p><a href=\"https://example.org/p.png\" title=\"T\">a b c</a></p>\n");
    check_render("![](https://example.org/p.png)",
                 "<p><a href=\"https://example.org/p.png\">https://example.org/p.png</a></p>\n");
    check_render("![x](data:image/png;base64,AAAA)", "<p>x</p>\n");
    check_render("![x](//evil.example/p.png)", "<p>x</p>\n");
    check_render("![x](p.png)", "<p>x</p>\n");
    check_render("see ![](data:image/png;base64,AAAA) here", "<p>see  here</p>\n");
    check_render("![](p.png)", "");
    /* Inside a link: text only, no nested <a>. */
    check_render("[![logo](https://example.org/l.png)](https://example.org/)",
                 "<p><a href=\"https://example.org/\">logo</a></p>\n");
    check_render("[![logo](https://example.org/l.png)](javascript:x)",
                 "<p><a href=\"\">logo</a></p>\n");
    /* Nested images and links in alt text flatten into one label. */
    check_render("![a ![b](https://i.example/b.png) [c](javascript:x)](https://i.example/a.png)",
                 "<p><a href=\"https://i.example/a.png\">a b c</a></p>\n");
    check_render("![a <b>x</b>\nb](https://i.example/a.png)",
                 "<p><a href=\"https://i.example/a.png\">a &lt;b&gt;x&lt;/b&gt; b</a></p>\n");
    check_render("![x](https://example.org/p.png \"\\\" onerror=\\\"alert(1)\")",
                 "<p><a href=\"https://example.org/p.png\" title=\"&quot; onerror=&quot;alert(1)\">"
                 "x</a></p>\n");
    check_render("![x](https://i.example/a.png)\n![y](https://i.example/b.png)",
                 "<p><a href=\"https://i.example/a.png\">x</a><br />\n"
                 "<a href=\"https://i.example/b.png\">y</a></p>\n");
}

/* XSS corpus. text_ok: the payload's words legitimately show as escaped text
 * (an autolink's label is its URL), so only the tags are checked for them. */
static const struct {
    const char *src;
    int text_ok;
} xss[] = {
    {"<script>alert(1)</script>", 0},
    {"x <script>alert(1)</script> y", 0},
    {"<img src=x onerror=alert(1)>", 1},      /* raw HTML: escaped text */
    {"a <img src=x onerror=alert(1)> b", 1},  /* raw HTML: escaped text */
    {"<IMG SRC=\"javascript:alert(1)\">", 1}, /* raw HTML: escaped text */
    {"[x](javascript:alert(1))", 0},
    {"[x](JaVaScRiPt:alert(1))", 0},
    {"[x](&#x6a;avascript:alert(1))", 0},
    {"[x](&#106;&#97;vascript:alert(1))", 0},
    {"[x](javascript&colon;alert(1))", 0},
    {"[x](java%0ascript:alert(1))", 0},
    {"[x](java&#9;script:alert(1))", 0},
    {"[x](java&#10;script:alert(1))", 0},
    {"[x](&#1;javascript:alert(1))", 0},
    {"[x](<javascript:alert(1)>)", 0},
    {"[x](< javascript:alert(1)>)", 0},
    {"[x](\\javascript:alert(1))", 0},
    {"![x](data:image/png;base64,AAAA)", 0},
    {"![x](data:image/svg+xml,%3Csvg%20onload=alert(1)%3E)", 0},
    {"![x](javascript:alert(1))", 0},
    {"[x](data:text/html,<script>)", 0},
    {"[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", 0},
    {"[x](//evil.example/a)", 0},
    {"[x](\\\\evil.example/a)", 0},
    {"[x](/\\evil.example/a)", 0},
    {"![x](//evil.example/a.png)", 0},
    {"[x](vbscript:msgbox)", 0},
    {"[x](file:///etc/passwd)", 0},
    {"<a href=\"javascript:x\">y</a>", 1}, /* raw HTML: escaped text */
    {"<a href=\"//evil.example\">y</a>", 0},
    {"<javascript:alert(1)>", 1},
    {"<JAVASCRIPT:alert(1)>", 1},
    {"<data:text/html,hi>", 1},
    {"<vbscript:msgbox>", 1},
    {"[x][r]\n\n[r]: javascript:alert(1)", 0},
    {"[x][r]\n\n[r]: <data:text/html,hi> \"t\"", 0},
    {"![x][r]\n\n[r]: data:image/png;base64,AAAA", 0},
    {"[x](\" onmouseover=\"alert(1))", 0},
    {"<svg onload=alert(1)>", 1},                           /* raw HTML: escaped text */
    {"a <svg/onload=alert(1)> b", 1},                       /* not a tag in CommonMark: text */
    {"<iframe src=\"https://evil.example/\"></iframe>", 1}, /* raw HTML: escaped text */
    {"<iframe src=javascript:alert(1)>", 1},                /* raw HTML: escaped text */
    {"<details open ontoggle=alert(1)>", 1},                /* raw HTML: escaped text */
    {"<style>@import 'https://evil.example/x.css'</style>", 0},
    {"<!-- <img src=x onerror=alert(1)> -->", 1}, /* raw HTML: escaped text */
    {"<![CDATA[<script>alert(1)</script>]]>", 0},
    {"`<script>` ```<img src=x>```", 1},
    {"```\n<script>alert(1)</script>\n```", 0},
    {"```\"><script>alert(1)</script>\nx\n```", 0},
};

/* Tag openers cannot appear as text (cmark escapes '<'), so they are looked
 * for everywhere; the rest must be absent from the tags, and from the whole
 * output unless text_ok. */
static int xss_clean(const char *html, int text_ok)
{
    static const char *const openers[] = {"<script", "<img", "<svg",         "<iframe",
                                          "<style",  "<!--", "<a href=\"//", "<object"};
    static const char *const words[] = {
        "javascript:", "vbscript:", "data:",    "file:", "href=\"//",
        "onerror",     "onload",    "ontoggle", "src="};
    char *tags = markup_of(html);
    int ok = tags != NULL;
    for (size_t i = 0; ok && i < sizeof(openers) / sizeof(openers[0]); i++)
        ok = !contains_ci(html, openers[i]);
    for (size_t i = 0; ok && i < sizeof(words) / sizeof(words[0]); i++)
        ok = !contains_ci(tags, words[i]) && (text_ok || !contains_ci(html, words[i]));
    free(tags);
    return ok;
}

static void test_xss(void)
{
    for (size_t i = 0; i < sizeof(xss) / sizeof(xss[0]); i++) {
        char *html = NULL;
        int rc = mdt_markdown_render(xss[i].src, strlen(xss[i].src), &html);
        CHECK_EQ_INT(rc, 0);
        int ok = html && xss_clean(html, xss[i].text_ok);
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "  payload %s\n  rendered %s\n", xss[i].src, html ? html : "(null)");
        free(html);
    }
}

static void check_refused(const char *src, size_t len)
{
    char *out = (char *)"untouched";
    CHECK_EQ_INT(mdt_markdown_render(src, len, &out), -1);
    CHECK(out == NULL);
    out = (char *)"untouched";
    CHECK_EQ_INT(mdt_markdown_plaintext(src, len, &out, 10), -1);
    CHECK(out == NULL);
}

static void test_input_checks(void)
{
    static const char *const bad[] = {
        "\x80",             /* lone continuation byte */
        "a\xc3",            /* truncated two-byte sequence */
        "\xe2\x82",         /* truncated three-byte sequence */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong '/' */
        "\xf0\x80\x80\xaf", /* overlong '/' */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xf4\x90\x80\x80", /* U+110000 */
        "\xf5\x80\x80\x80", /* invalid lead byte */
        "\xff",             /* invalid byte */
        "ok \xc3\x28 ok",   /* bad continuation */
    };
    char *html = NULL;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_refused(bad[i], strlen(bad[i]));
    check_refused("a\0b", 3); /* NUL byte */

    /* Exactly the limit is accepted, one byte more is refused. */
    size_t max = MDT_MARKDOWN_MAX_SOURCE;
    char *big = malloc(max + 1);
    CHECK(big != NULL);
    if (big) {
        memset(big, ' ', max + 1); /* trailing blanks: small HTML */
        big[0] = 'a';
        CHECK_EQ_INT(mdt_markdown_render(big, max, &html), 0);
        CHECK_EQ_STR(html, "<p>a</p>\n");
        free(html);
        check_refused(big, max + 1);
        /* Brackets that never close stay text (cmark is linear here). */
        memset(big, '[', max / 5);
        memset(big + max / 5, ']', max / 5);
        CHECK_EQ_INT(mdt_markdown_render(big, 2 * (max / 5), &html), 0);
        CHECK(html && strlen(html) == 2 * (max / 5) + strlen("<p></p>\n"));
        free(html);
        free(big);
    }

    /* The largest valid code points pass; the length is what counts. */
    check_render("\xf4\x8f\xbf\xbf \xef\xbf\xbd", "<p>\xf4\x8f\xbf\xbf \xef\xbf\xbd</p>\n");
    CHECK_EQ_INT(mdt_markdown_render("# x", 0, &html), 0);
    CHECK_EQ_STR(html, "");
    free(html);
    CHECK_EQ_INT(mdt_markdown_render(NULL, 0, &html), 0);
    CHECK_EQ_STR(html, "");
    free(html);
    CHECK_EQ_INT(mdt_markdown_render(NULL, 1, &html), -1);
    CHECK_EQ_INT(mdt_markdown_render("x", 1, NULL), -1);
    CHECK_EQ_INT(mdt_markdown_plaintext("x", 1, NULL, 5), -1);
}

/* Refused by the renderer (the plain-text excerpt has no HTML to bound). */
static void render_refused(const char *src, size_t len)
{
    char *out = (char *)"untouched";
    CHECK_EQ_INT(mdt_markdown_render(src, len, &out), -1);
    CHECK(out == NULL);
}

/* n copies of unit followed by tail, NUL-terminated (caller frees). */
static char *repeat(const char *unit, size_t n, const char *tail)
{
    size_t u = strlen(unit), t = strlen(tail);
    char *s = malloc(u * n + t + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * u, unit, u);
    memcpy(s + u * n, tail, t + 1);
    return s;
}

/* Nested lists of n levels, one item each ("- a" indented 2 more per level). */
static char *nested_list(size_t n)
{
    char *s = malloc(n * (2 * n + 4) + 1), *o = s;
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        memset(o, ' ', 2 * i);
        o += 2 * i;
        memcpy(o, "- a\n", 4);
        o += 4;
    }
    *o = 0;
    return s;
}

/* A level k list holds its text at depth 2k + 2 (list, item, paragraph). */
static void check_lists(void)
{
    char *html = NULL, *src;
    size_t ok = (MDT_MARKDOWN_MAX_DEPTH - 2) / 2;
    src = nested_list(ok);
    CHECK_EQ_INT(mdt_markdown_render(src, strlen(src), &html), 0);
    free(html);
    free(src);
    src = nested_list(ok + 1);
    render_refused(src, strlen(src));
    free(src);
    src = repeat("- ", 20000, "x"); /* one line, 20,000 levels */
    render_refused(src, strlen(src));
    free(src);
    src = repeat("1. > - ", 5000, "x");
    render_refused(src, strlen(src));
    free(src);
}

/* The rendered HTML and the nesting depth are bounded; a legitimate large
 * note still passes. */
static void test_bounds(void)
{
    char *html = NULL, *src;
    /* The example: 60 KB of '>' rendered to 1.6 MB before. */
    src = repeat(">", 60000, "");
    render_refused(src, strlen(src));
    free(src);
    /* Quotes: 30 deep render (doc > 30 quotes > paragraph > text would be
     * 32 levels), one more is refused. */
    src = repeat(">", MDT_MARKDOWN_MAX_DEPTH - 2, " x");
    CHECK_EQ_INT(mdt_markdown_render(src, strlen(src), &html), 0);
    free(html);
    free(src);
    src = repeat(">", MDT_MARKDOWN_MAX_DEPTH - 1, " x");
    render_refused(src, strlen(src));
    free(src);
    /* Lists: each level is a list and an item. */
    check_lists();
    /* Emphasis nesting counts too. */
    src = repeat("*a ", 40, "");
    char *tail = repeat(" a*", 40, "");
    char *both = malloc(strlen(src) + strlen(tail) + 1);
    if (both) {
        strcpy(both, src);
        strcat(both, tail);
        render_refused(both, strlen(both));
    }
    free(both);
    free(tail);
    free(src);
    /* HTML over the bound: 12,000 "&" become 60,000 bytes of "&amp;". */
    src = repeat("&", 12000, "");
    render_refused(src, strlen(src));
    free(src);
    /* At the bound exactly: "<p>" + text + "</p>\n" is MAX_HTML bytes. */
    src = repeat("a", MDT_MARKDOWN_MAX_HTML - strlen("<p></p>\n"), "");
    CHECK_EQ_INT(mdt_markdown_render(src, strlen(src), &html), 0);
    CHECK(html && strlen(html) == MDT_MARKDOWN_MAX_HTML);
    free(html);
    free(src);
    src = repeat("a", MDT_MARKDOWN_MAX_HTML - strlen("<p></p>\n") + 1, "");
    render_refused(src, strlen(src));
    free(src);
    /* A legitimate large note: ~20 KB of headed paragraphs, lists, links,
     * emphasis and a quote renders. */
    src = repeat("## Visit\n\nMet the *family* at home; **school** attendance was "
                 "discussed with [the counsellor](https://example.org/c).\n\n"
                 "- follow-up call\n  - with the aunt\n- services referral\n\n"
                 "> Quote from the interview, kept as said.\n\n",
                 90, "");
    CHECK(strlen(src) > 18000);
    CHECK_EQ_INT(mdt_markdown_render(src, strlen(src), &html), 0);
    CHECK(html && strlen(html) <= MDT_MARKDOWN_MAX_HTML && strstr(html, "<blockquote>"));
    free(html);
    free(src);
}

static void test_plaintext(void)
{
    const char *doc = "# Title\n\nSome *emph* text\nwith [a link](https://example.org) and "
                      "![pic](https://example.org/p.png).\n\n- one\n- two\n\n"
                      "```\ncode  block\n```\n<div>raw</div>\n\nend &amp; `x`";
    check_excerpt(
        doc, 1000,
        "Title Some emph text with a link and pic. one two code block <div>raw</div> end & x");
    check_excerpt(doc, 10, "Title Som\xe2\x80\xa6");
    check_excerpt(doc, 7, "Title\xe2\x80\xa6"); /* trailing space trimmed before "…" */
    check_excerpt(doc, 1, "\xe2\x80\xa6");
    check_excerpt(doc, 0, "");
    check_excerpt("", 10, "");
    check_excerpt("", 0, "");
    check_excerpt("  \n\n  ", 10, "");
    check_excerpt("abc", 3, "abc");
    check_excerpt("abcd", 3, "ab\xe2\x80\xa6");
    check_excerpt("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 3, "\xc3\xa9\xc3\xa9\xe2\x80\xa6");
    check_excerpt("\xc3\xa9\xc3\xa9\xc3\xa9", 3, "\xc3\xa9\xc3\xa9\xc3\xa9");
    check_excerpt("a\tb&#1;c&#x85;d\n\ne", 100, "a b c d e");
    check_excerpt("<script>alert(1)</script>\n\nsafe <b>x</b>", 100,
                  "<script>alert(1)</script> safe <b>x</b>");
    check_excerpt("a b\n\n\nc", 4, "a b\xe2\x80\xa6");
    check_excerpt("ab cd", 4, "ab\xe2\x80\xa6");
}

int main(void)
{
    test_basics();
    test_links_kept();
    test_links_blanked();
    test_raw_html();
    test_images();
    test_xss();
    test_input_checks();
    test_bounds();
    test_plaintext();
    return check_done();
}
