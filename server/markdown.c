/* markdown.c - CommonMark to safe HTML and plain text (see markdown.h).
 *
 * cmark parses; we check the source first (size, strict UTF-8), then walk
 * the tree once to find what must change: raw HTML nodes (shown as the
 * literal text the person typed: "known only as <Beto>" keeps "<Beto>",
 * escaped, never markup), links
 * (target checked in place) and outermost images (replaced by links or
 * text). The tree is only changed after the walk, so the iterator never
 * sees a node we freed. cmark renders the result in its safe mode. A tree
 * nested too deep, or HTML over its bound, is refused: 60 KB of ">" would
 * otherwise render to 1.6 MB. */
#include "markdown.h"

#include <cmark.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* CMARK_OPT_SAFE is the default since 0.29 and only named for clarity;
 * CMARK_OPT_UNSAFE is never set. VALIDATE_UTF8 is belt and braces: the
 * source was validated already. No SMART, no SOURCEPOS. */
#define MD_OPTIONS                                                                                 \
    (CMARK_OPT_DEFAULT | CMARK_OPT_SAFE | CMARK_OPT_HARDBREAKS | CMARK_OPT_VALIDATE_UTF8)

static const char ELLIPSIS[] = "\xe2\x80\xa6"; /* U+2026 */

/* A growable NUL-terminated byte buffer; p is NULL until something is added. */
typedef struct {
    char *p;
    size_t len, cap;
} md_buf_t;

/* A growable array of node pointers (not owned). */
typedef struct {
    cmark_node **v;
    size_t n, cap;
} md_nodes_t;

/* What one walk of the tree found. */
typedef struct {
    md_nodes_t html;   /* HTML_BLOCK and HTML_INLINE nodes, to show as text */
    md_nodes_t images; /* outermost images outside links: become links */
    md_nodes_t inlink; /* outermost images inside a link: become text */
} md_found_t;

/* Strict RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above
 * U+10FFFF, and no NUL byte (PostgreSQL text cannot hold one). */
static int utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i], cp, min;
        size_t n;
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (len - i <= n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += n + 1;
    }
    return 1;
}

/* 1 when no node of the tree under root is more than MDT_MARKDOWN_MAX_DEPTH
 * levels below it (the document's own children are at depth 1). */
static int depth_ok(cmark_node *root)
{
    cmark_iter *it = cmark_iter_new(root);
    cmark_event_type ev;
    int depth = 0, ok = it != NULL;
    while (ok && (ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
        cmark_node *n = cmark_iter_get_node(it);
        if (n == root || cmark_node_first_child(n) == NULL)
            continue; /* leaves enter and exit in one event */
        depth += ev == CMARK_EVENT_ENTER ? 1 : -1;
        ok = depth < MDT_MARKDOWN_MAX_DEPTH;
    }
    cmark_iter_free(it);
    return ok;
}

/* Checks the source and parses it. NULL when refused; the caller frees the
 * document with cmark_node_free(). */
static cmark_node *md_parse(const char *src, size_t len)
{
    if (len > MDT_MARKDOWN_MAX_SOURCE || (len > 0 && !src))
        return NULL;
    if (!utf8_valid((const unsigned char *)src, len))
        return NULL;
    return cmark_parse_document(len > 0 ? src : "", len, MD_OPTIONS);
}

/* The allow-list. cmark hands the destination trimmed, with entities and
 * backslash escapes decoded, so "&#x6a;avascript:" arrives as "javascript:".
 * The scheme must start at byte 0; a control character anywhere (which a
 * browser might strip, as in "java\tscript:") rejects the URL. */
static int url_allowed(const char *url)
{
    static const char *const schemes[] = {"http:", "https:", "mailto:"};
    if (!url)
        return 0;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    }
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        if (strncasecmp(url, schemes[i], strlen(schemes[i])) == 0)
            return 1;
    }
    return 0;
}

static int buf_add(md_buf_t *b, const char *s, size_t n)
{
    if (n >= b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 64;
        while (n >= cap - b->len) {
            if (cap > (size_t)-1 / 2)
                return -1;
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int nodes_push(md_nodes_t *l, cmark_node *node)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        cmark_node **v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = node;
    return 0;
}

static void found_free(md_found_t *f)
{
    free(f->html.v);
    free(f->images.v);
    free(f->inlink.v);
}

/* Appends the text content under root to b: TEXT, CODE, CODE_BLOCK and raw
 * HTML literals (raw HTML is text a person typed, shown as such), a space
 * for each line break and around each block. Used for image alt text and
 * for plain-text excerpts. */
static int gather_text(cmark_node *root, md_buf_t *b)
{
    cmark_iter *it = cmark_iter_new(root);
    cmark_event_type ev;
    int rc = 0;
    if (!it)
        return -1;
    while (rc == 0 && (ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
        cmark_node *n = cmark_iter_get_node(it);
        cmark_node_type t = cmark_node_get_type(n);
        const char *lit;
        if (t >= CMARK_NODE_FIRST_BLOCK && t <= CMARK_NODE_LAST_BLOCK && n != root)
            rc = buf_add(b, " ", 1);
        if (rc != 0 || ev != CMARK_EVENT_ENTER)
            continue;
        if (t == CMARK_NODE_TEXT || t == CMARK_NODE_CODE || t == CMARK_NODE_CODE_BLOCK ||
            t == CMARK_NODE_HTML_INLINE || t == CMARK_NODE_HTML_BLOCK) {
            lit = cmark_node_get_literal(n);
            if (lit)
                rc = buf_add(b, lit, strlen(lit));
        } else if (t == CMARK_NODE_SOFTBREAK || t == CMARK_NODE_LINEBREAK) {
            rc = buf_add(b, " ", 1);
        }
    }
    cmark_iter_free(it);
    return rc;
}

/* One walk: blanks disallowed link targets in place (changing an attribute
 * is safe during iteration) and records what must be removed or replaced. */
static int md_collect(cmark_node *root, md_found_t *f)
{
    cmark_iter *it = cmark_iter_new(root);
    cmark_event_type ev;
    int links = 0, images = 0, rc = 0;
    if (!it)
        return -1;
    while (rc == 0 && (ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
        cmark_node *n = cmark_iter_get_node(it);
        int enter = ev == CMARK_EVENT_ENTER;
        switch (cmark_node_get_type(n)) {
        case CMARK_NODE_HTML_BLOCK:
        case CMARK_NODE_HTML_INLINE:
            rc = nodes_push(&f->html, n);
            break;
        case CMARK_NODE_LINK:
            if (enter && !url_allowed(cmark_node_get_url(n)) && !cmark_node_set_url(n, ""))
                rc = -1;
            links += enter ? 1 : -1;
            break;
        case CMARK_NODE_IMAGE:
            if (enter && images == 0)
                rc = nodes_push(links > 0 ? &f->inlink : &f->images, n);
            images += enter ? 1 : -1;
            break;
        default:
            break;
        }
    }
    cmark_iter_free(it);
    return rc;
}

/* Frees node (and its subtree); a paragraph left empty goes too. */
static void remove_node(cmark_node *node)
{
    cmark_node *parent = cmark_node_parent(node);
    cmark_node_free(node);
    if (parent && cmark_node_get_type(parent) == CMARK_NODE_PARAGRAPH &&
        !cmark_node_first_child(parent))
        cmark_node_free(parent);
}

/* Builds the stand-in for an image: a link to url labelled with label, or
 * (url NULL) a text node. NULL on allocation failure. */
static cmark_node *make_standin(const char *label, const char *url, const char *title)
{
    cmark_node *text = cmark_node_new(CMARK_NODE_TEXT), *link;
    if (!text || !cmark_node_set_literal(text, label))
        goto fail;
    if (!url)
        return text;
    link = cmark_node_new(CMARK_NODE_LINK);
    if (!link)
        goto fail;
    if (!cmark_node_set_url(link, url) || !cmark_node_set_title(link, title ? title : "") ||
        !cmark_node_append_child(link, text)) {
        cmark_node_free(link);
        goto fail;
    }
    return link;
fail:
    if (text)
        cmark_node_free(text);
    return NULL;
}

/* Replaces img by a link to its URL labelled with its alt text (the URL when
 * the alt text is empty), or by the alt text alone when the URL is not
 * allowed or as_text is set; an image with neither is removed. */
static int replace_image(cmark_node *img, int as_text)
{
    md_buf_t alt = {0};
    const char *url = cmark_node_get_url(img);
    const char *label;
    cmark_node *standin;
    int rc = -1;
    if (as_text || !url_allowed(url))
        url = NULL;
    if (gather_text(img, &alt) != 0)
        goto exit;
    label = alt.len > 0 ? alt.p : url;
    if (!label) {
        remove_node(img);
        rc = 0;
        goto exit;
    }
    standin = make_standin(label, url, cmark_node_get_title(img));
    if (!standin)
        goto exit;
    if (!cmark_node_replace(img, standin)) {
        cmark_node_free(standin);
        goto exit;
    }
    cmark_node_free(img);
    rc = 0;
exit:
    free(alt.p);
    return rc;
}

/* Appends to parent the text of lit (len bytes) as TEXT nodes, one per
 * line, with a hard line break between lines. 0, or -1 on allocation
 * failure (parent then holds what was added so far and is freed by the
 * caller). */
static int append_lines(cmark_node *parent, const char *lit, size_t len)
{
    while (len > 0) {
        const char *nl = memchr(lit, '\n', len);
        size_t n = nl ? (size_t)(nl - lit) : len;
        md_buf_t line = {0};
        cmark_node *text = cmark_node_new(CMARK_NODE_TEXT);
        int ok = text && buf_add(&line, lit, n) == 0 &&
                 cmark_node_set_literal(text, line.p ? line.p : "") &&
                 cmark_node_append_child(parent, text);
        free(line.p);
        if (!ok) {
            if (text && !cmark_node_parent(text))
                cmark_node_free(text);
            return -1;
        }
        lit += nl ? n + 1 : n;
        len -= nl ? n + 1 : n;
        if (len > 0) {
            cmark_node *br = cmark_node_new(CMARK_NODE_LINEBREAK);
            if (!br || !cmark_node_append_child(parent, br)) {
                if (br)
                    cmark_node_free(br);
                return -1;
            }
        }
    }
    return 0;
}

/* Replaces a raw HTML node by the same characters as text, which the
 * renderer escapes: an inline one by text in place, a block by a paragraph
 * of its lines (its final line break dropped). Never markup, never lost. */
static int html_to_text(cmark_node *node)
{
    int block = cmark_node_get_type(node) == CMARK_NODE_HTML_BLOCK;
    const char *lit = cmark_node_get_literal(node);
    size_t len = lit ? strlen(lit) : 0;
    cmark_node *standin = cmark_node_new(block ? CMARK_NODE_PARAGRAPH : CMARK_NODE_CUSTOM_INLINE);
    while (block && len > 0 && (lit[len - 1] == '\n' || lit[len - 1] == '\r'))
        len--;
    if (!standin)
        return -1;
    if ((len > 0 && append_lines(standin, lit, len) != 0) || !cmark_node_replace(node, standin)) {
        cmark_node_free(standin);
        return -1;
    }
    cmark_node_free(node);
    return 0;
}

/* Applies what md_collect found. Raw HTML goes first, so no recorded node
 * is inside a subtree freed earlier: recorded images are outermost and never
 * nested in each other, and an emptied paragraph holds no image. */
static int md_sanitize(cmark_node *doc)
{
    md_found_t f = {0};
    int rc = -1;
    if (md_collect(doc, &f) != 0)
        goto exit;
    for (size_t i = 0; i < f.html.n; i++) {
        if (html_to_text(f.html.v[i]) != 0)
            goto exit;
    }
    for (size_t i = 0; i < f.images.n; i++) {
        if (replace_image(f.images.v[i], 0) != 0)
            goto exit;
    }
    for (size_t i = 0; i < f.inlink.n; i++) {
        if (replace_image(f.inlink.v[i], 1) != 0)
            goto exit;
    }
    rc = 0;
exit:
    found_free(&f);
    return rc;
}

int mdt_markdown_render(const char *src, size_t len, char **html_out)
{
    cmark_node *doc;
    char *html = NULL;
    if (!html_out)
        return -1;
    *html_out = NULL;
    doc = md_parse(src, len);
    if (!doc)
        return -1;
    if (depth_ok(doc) && md_sanitize(doc) == 0)
        html = cmark_render_html(doc, MD_OPTIONS);
    cmark_node_free(doc);
    if (!html)
        return -1;
    if (strlen(html) > MDT_MARKDOWN_MAX_HTML) {
        free(html);
        return -1;
    }
    *html_out = html;
    return 0;
}

/* 1 when s[i] starts a whitespace or control code point (ASCII C0, space,
 * DEL, or a C1 control U+0080..U+009F); *n gets its length in bytes. */
static int is_space_at(const unsigned char *s, size_t len, size_t i, size_t *n)
{
    *n = 1;
    if (s[i] <= 0x20 || s[i] == 0x7f)
        return 1;
    if (s[i] == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f) {
        *n = 2;
        return 1;
    }
    return 0;
}

/* Collapses whitespace runs in text (len bytes of valid UTF-8) into single
 * spaces, trims both ends, and cuts the result to max_chars code points,
 * the last being "…". Returns a malloc'ed string, or NULL. */
static char *make_excerpt(const char *text, size_t len, size_t max_chars)
{
    const unsigned char *s = (const unsigned char *)text;
    char *out = malloc(len + sizeof(ELLIPSIS));
    size_t o = 0, chars = 0, cut = 0, n;
    int pending = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i += n) {
        if (is_space_at(s, len, i, &n)) {
            pending = o > 0;
            continue;
        }
        if (pending) {
            if (chars++ == max_chars - 1)
                cut = o;
            out[o++] = ' ';
            pending = 0;
        }
        if ((s[i] & 0xc0) != 0x80 && chars++ == max_chars - 1)
            cut = o;
        out[o++] = (char)s[i];
    }
    if (chars > max_chars) {
        o = max_chars > 0 ? cut : 0;
        while (o > 0 && out[o - 1] == ' ')
            o--;
        if (max_chars > 0) {
            memcpy(out + o, ELLIPSIS, sizeof(ELLIPSIS) - 1);
            o += sizeof(ELLIPSIS) - 1;
        }
    }
    out[o] = '\0';
    return out;
}

int mdt_markdown_plaintext(const char *src, size_t len, char **out, size_t max_chars)
{
    cmark_node *doc;
    md_buf_t text = {0};
    int rc = -1;
    if (!out)
        return -1;
    *out = NULL;
    doc = md_parse(src, len);
    if (!doc)
        return -1;
    if (gather_text(doc, &text) != 0)
        goto exit;
    *out = make_excerpt(text.p ? text.p : "", text.len, max_chars);
    rc = *out ? 0 : -1;
exit:
    free(text.p);
    cmark_node_free(doc);
    return rc;
}
