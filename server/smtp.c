/* smtp.c - one email through the configured relay with libcurl (see
 * smtp.h): checking the settings, composing a plain-text message, sending
 * it with TLS required. Owns nothing beyond a call. */
#include "smtp.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"

/* ---- addresses and the relay's URL ---- */

static int local_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr(".!#$%&'*+/=?^_`{|}~-", ch) != NULL);
}

static int domain_ok(const char *d)
{
    size_t label = 0;
    for (const char *s = d;; s++) {
        char ch = *s;
        if (ch == '.' || ch == 0) {
            if (label == 0 || label > 63 || s[-1] == '-')
                return 0;
            if (ch == 0)
                return 1;
            label = 0;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9') || (ch == '-' && label > 0)) {
            label++;
        } else {
            return 0;
        }
    }
}

int mdt_smtp_valid_address(const char *s)
{
    if (!s)
        return 0;
    size_t n = strlen(s);
    const char *at = strchr(s, '@');
    if (n < 3 || n > MDT_SMTP_ADDRESS_MAX || !at || strchr(at + 1, '@'))
        return 0;
    size_t local = (size_t)(at - s);
    if (local < 1 || local > 64)
        return 0;
    for (size_t i = 0; i < local; i++)
        if (!local_char(s[i]))
            return 0;
    return domain_ok(at + 1);
}

static int host_loopback(const char *h)
{
    return strncmp(h, "127.", 4) == 0 || strcmp(h, "[::1]") == 0 || strcmp(h, "::1") == 0 ||
           strcmp(h, "localhost") == 0;
}

/* Fills scheme and host of url; 0 ok, -1 malformed. */
static int url_parts(const char *url, char *scheme, size_t sl, char *host, size_t hl)
{
    CURLU *u = curl_url();
    char *sc = NULL, *ho = NULL;
    int rc = -1;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &sc, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &ho, 0) != CURLUE_OK)
        goto exit;
    snprintf(scheme, sl, "%s", sc);
    snprintf(host, hl, "%s", ho);
    rc = 0;
exit:
    curl_free(sc);
    curl_free(ho);
    curl_url_cleanup(u);
    return rc;
}

/* Whether cfg allows plain SMTP to its relay (the loopback exception). */
static int plain_allowed(const mdt_config_t *cfg, const char *host)
{
    return cfg->smtp_insecure_loopback && host_loopback(host);
}

int mdt_smtp_check(const mdt_config_t *cfg, char *err, size_t errlen)
{
    if (!cfg->smtp_url)
        return 0;
    char scheme[16], host[256];
    if (url_parts(cfg->smtp_url, scheme, sizeof(scheme), host, sizeof(host)) != 0 ||
        (strcmp(scheme, "smtp") != 0 && strcmp(scheme, "smtps") != 0)) {
        snprintf(err, errlen, "MDT_SMTP_URL must be smtp://host[:port] or smtps://host[:port]");
        return -1;
    }
    if (cfg->smtp_insecure_loopback && !host_loopback(host)) {
        snprintf(err, errlen, "MDT_SMTP_INSECURE_LOOPBACK applies only to a loopback relay");
        return -1;
    }
    if (!mdt_smtp_valid_address(cfg->smtp_from)) {
        snprintf(err, errlen, "MDT_SMTP_FROM must be set to a plain address (user@domain)");
        return -1;
    }
    return 0;
}

int mdt_smtp_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void mdt_smtp_global_cleanup(void)
{
    curl_global_cleanup();
}

/* ---- the message ---- */

/* Date, From, To, Subject, Message-ID (id, domain), then the body. */
#define MESSAGE_FMT                                                                                \
    "Date: %s\r\nFrom: MDT Board <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"                              \
    "Message-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"                                                 \
    "Content-Type: text/plain; charset=utf-8\r\n"                                                  \
    "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n"                        \
    "\r\n%s\r\n"

char *mdt_smtp_message(const mdt_config_t *cfg, const char *to, const char *subject,
                       const char *body)
{
    char date[64], id[33];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    if (mdt_crypto_token_hex(id, 16) != 0)
        return NULL;
    const char *domain = strchr(cfg->smtp_from, '@') + 1;
    int n = snprintf(NULL, 0, MESSAGE_FMT, date, cfg->smtp_from, to, subject, id, domain, body);
    char *out = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (out)
        snprintf(out, (size_t)n + 1, MESSAGE_FMT, date, cfg->smtp_from, to, subject, id, domain,
                 body);
    return out;
}

/* ---- sending ---- */

typedef struct {
    const char *p;
    size_t left;
} smtp_src_t;

static size_t smtp_read(char *buf, size_t size, size_t nitems, void *arg)
{
    smtp_src_t *src = arg;
    size_t n = size * nitems;
    if (n > src->left)
        n = src->left;
    memcpy(buf, src->p, n);
    src->p += n;
    src->left -= n;
    return n;
}

/* The curl handle's options for one send; 0 ok. */
static int smtp_setup(CURL *h, const mdt_config_t *cfg, struct curl_slist *rcpt, smtp_src_t *src,
                      int plain)
{
    int bad = 0;
    bad |= curl_easy_setopt(h, CURLOPT_URL, cfg->smtp_url) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_USE_SSL,
                            plain ? (long)CURLUSESSL_TRY : (long)CURLUSESSL_ALL) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_MAIL_FROM, cfg->smtp_from) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_READFUNCTION, smtp_read) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_READDATA, src) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_UPLOAD, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)MDT_SMTP_TIMEOUT_S) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L) != CURLE_OK;
    if (cfg->smtp_user)
        bad |= curl_easy_setopt(h, CURLOPT_USERNAME, cfg->smtp_user) != CURLE_OK;
    if (cfg->smtp_password)
        bad |= curl_easy_setopt(h, CURLOPT_PASSWORD, cfg->smtp_password) != CURLE_OK;
    if (cfg->smtp_ca_file)
        bad |= curl_easy_setopt(h, CURLOPT_CAINFO, cfg->smtp_ca_file) != CURLE_OK;
    return bad ? -1 : 0;
}

int mdt_smtp_send(const mdt_config_t *cfg, const char *to, const char *message, char *err,
                  size_t errlen)
{
    char scheme[16], host[256];
    if (!cfg->smtp_url ||
        url_parts(cfg->smtp_url, scheme, sizeof(scheme), host, sizeof(host)) != 0) {
        snprintf(err, errlen, "no SMTP relay is configured");
        return -1;
    }
    CURL *h = curl_easy_init();
    struct curl_slist *rcpt = curl_slist_append(NULL, to);
    smtp_src_t src = {message, strlen(message)};
    int rc = -1;
    if (!h || !rcpt || smtp_setup(h, cfg, rcpt, &src, plain_allowed(cfg, host)) != 0) {
        snprintf(err, errlen, "cannot set up the SMTP transfer");
        goto exit;
    }
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_easy_strerror(cc));
        goto exit;
    }
    rc = 0;
exit:
    curl_slist_free_all(rcpt);
    if (h)
        curl_easy_cleanup(h);
    return rc;
}
