/* fuzz_markdown.c - the Markdown renderer and sanitizer (server/markdown.c).
 *
 * Renders the input and its plain-text excerpt; on success checks what
 * mdt_markdown_render promises: the HTML within MDT_MARKDOWN_MAX_HTML and
 * nothing active in it (no tag we do not emit, no javascript: or data:
 * link target, no event-handler attribute). Any violation aborts. */
#include <ctype.h>
#include <stdio.h>
#include <strings.h>

#include "fuzz.h"
#include "markdown.h"

/* The tags cmark emits for the nodes we keep. */
static int tag_allowed(const char *tag, size_t n)
{
    static const char *const ok[] = {"p",   "br",         "em", "strong", "a",  "code",
                                     "pre", "blockquote", "ul", "ol",     "li", "hr",
                                     "h1",  "h2",         "h3", "h4",     "h5", "h6"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (strlen(ok[i]) == n && strncasecmp(tag, ok[i], n) == 0)
            return 1;
    }
    return 0;
}

/* The attributes of one tag, from a to end (its '>'): only href, title,
 * start and class, each quoted (cmark escapes '"', '<' and '>' inside). */
static void check_attrs(const char *a, const char *end)
{
    static const char *const ok[] = {"href", "title", "start", "class"};
    while (a < end) {
        while (a < end && (*a == ' ' || *a == '/'))
            a++;
        if (a == end)
            return;
        const char *eq = memchr(a, '=', (size_t)(end - a));
        size_t n = eq ? (size_t)(eq - a) : 0;
        int known = 0;
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
            known |= n == strlen(ok[i]) && strncmp(a, ok[i], n) == 0;
        if (!known || eq[1] != '"')
            abort();
        const char *v = eq + 2, *close = memchr(v, '"', (size_t)(end - v));
        if (!close)
            abort();
        if (n == 4 && *v != '"' && strncasecmp(v, "http:", 5) != 0 &&
            strncasecmp(v, "https:", 6) != 0 && strncasecmp(v, "mailto:", 7) != 0)
            abort();
        a = close + 1;
    }
}

/* Every '<' in cmark's output opens a tag (text has '<' escaped). */
static void check_html(const char *html)
{
    for (const char *p = strchr(html, '<'); p; p = strchr(p + 1, '<')) {
        const char *t = p + 1 + (p[1] == '/');
        size_t n = 0;
        while (isalnum((unsigned char)t[n]))
            n++;
        const char *end = strchr(t, '>');
        if (!tag_allowed(t, n) || !end)
            abort();
        check_attrs(t + n, end);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *html = NULL, *text = NULL;
    if (mdt_markdown_render((const char *)data, size, &html) == 0) {
        if (!html || strlen(html) > MDT_MARKDOWN_MAX_HTML)
            abort();
        check_html(html);
    }
    free(html);
    if (mdt_markdown_plaintext((const char *)data, size, &text, 80) == 0 && !text)
        abort();
    free(text);
    return 0;
}
