/* mail.c — outgoing mail. Handlers queue a mail and return at once; one
 * thread delivers: over SMTP through libcurl when DOJO_SMTP_URL is set,
 * otherwise as .eml files in the local outbox folder (DOJO_MAIL_OUTBOX).
 * Delivering off the request path keeps answers equally fast whether or not
 * a mail was sent. The queue is in memory on purpose: it holds reset tokens
 * in clear, which must never be stored. */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "libcommon/cleanup.h"
#include "libcommon/fs.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"

typedef struct mail {
    char *to;
    char *message; /* full RFC 5322 text */
    struct mail *next;
} mail_t;

struct auth_mailer {
    const auth_config_t *cfg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    mail_t *head, *tail;
    bool stopping;
};

static void mail_free(mail_t *m)
{
    if (m == NULL)
        return;
    if (m->message)
        sodium_memzero(m->message, strlen(m->message));
    free(m->to);
    free(m->message);
    free(m);
}

static int deliver_to_folder(const auth_config_t *cfg, const mail_t *m, err_t **err)
{
    if (fs_mkdir_p(cfg->mail_outbox, 0700, 0700) < 0)
        return err_errno(err, errno, "create outbox %s", cfg->mail_outbox);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    unsigned char rnd[4];
    randombytes_buf(rnd, sizeof rnd);
    char path[1200], tmp[1210];
    snprintf(path, sizeof path, "%s/%lld%09ld-%02x%02x%02x%02x.eml", cfg->mail_outbox,
             (long long)now.tv_sec, now.tv_nsec, rnd[0], rnd[1], rnd[2], rnd[3]);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_errno(err, errno, "write %s", tmp);
    size_t len = strlen(m->message);
    if (write(fd, m->message, len) != (ssize_t)len)
        return err_errno(err, errno, "write %s", tmp);
    /* Rename last, so a reader never sees half a mail. */
    if (rename(tmp, path) < 0)
        return err_errno(err, errno, "rename %s", tmp);
    return 0;
}

typedef struct upload {
    const char *data;
    size_t left;
} upload_t;

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *userp)
{
    upload_t *u = userp;
    size_t n = size * nmemb < u->left ? size * nmemb : u->left;
    memcpy(buf, u->data, n);
    u->data += n;
    u->left -= n;
    return n;
}

static int deliver_smtp(const auth_config_t *cfg, const mail_t *m, err_t **err)
{
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        return err_set(err, GRPC_STATUS_INTERNAL, "curl_easy_init failed");
    struct curl_slist *rcpt = curl_slist_append(NULL, m->to);
    upload_t up = {m->message, strlen(m->message)};
    char from[300];
    snprintf(from, sizeof from, "<%s>", cfg->mail_from);
    curl_easy_setopt(curl, CURLOPT_URL, cfg->smtp_url);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(curl, CURLOPT_READDATA, &up);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    if (cfg->smtp_user[0]) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, cfg->smtp_user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, cfg->smtp_password);
    }
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK)
        return err_set(err, GRPC_STATUS_UNAVAILABLE, "smtp: %s", curl_easy_strerror(rc));
    return 0;
}

static void deliver(auth_mailer_t *mailer, mail_t *m)
{
    cleanup_err err_t *err = NULL;
    /* A relay may be briefly away: three tries, a little apart. */
    for (int attempt = 0; attempt < 3; attempt++) {
        err_clear(&err);
        int rc = mailer->cfg->smtp_url[0] ? deliver_smtp(mailer->cfg, m, &err)
                                          : deliver_to_folder(mailer->cfg, m, &err);
        if (rc == 0) {
            LOG_INFO("mail delivered", "via=%s", mailer->cfg->smtp_url[0] ? "smtp" : "outbox");
            return;
        }
        sleep((unsigned)attempt + 1);
    }
    LOG_ERROR("mail not delivered", "error=\"%s\"", log_esc(err->msg));
}

static void *mailer_main(void *arg)
{
    auth_mailer_t *m = arg;
    for (;;) {
        pthread_mutex_lock(&m->mu);
        while (m->head == NULL && !m->stopping)
            pthread_cond_wait(&m->cv, &m->mu);
        mail_t *mail = m->head;
        if (mail)
            m->head = mail->next;
        if (m->head == NULL)
            m->tail = NULL;
        pthread_mutex_unlock(&m->mu);
        if (mail == NULL)
            return NULL;
        deliver(m, mail);
        mail_free(mail);
    }
}

int auth_mailer_start(auth_mailer_t **out, const auth_config_t *cfg, err_t **err)
{
    auth_mailer_t *m = xcalloc(1, sizeof *m);
    m->cfg = cfg;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (pthread_create(&m->thread, NULL, mailer_main, m) != 0) {
        free(m);
        return err_errno(err, errno, "start mail thread");
    }
    *out = m;
    return 0;
}

void auth_mailer_send(auth_mailer_t *mailer, const char *to, const char *subject, const char *body)
{
    mail_t *m = xcalloc(1, sizeof *m);
    m->to = xstrdup(to);
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    unsigned char rnd[12];
    randombytes_buf(rnd, sizeof rnd);
    char id[25];
    sodium_bin2hex(id, sizeof id, rnd, sizeof rnd);
    const char *domain = strchr(mailer->cfg->mail_from, '@');
    m->message = xasprintf(
        "Date: %s\r\nFrom: Dojo <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
        "Message-ID: <%s%s>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
        "\r\n%s",
        date, mailer->cfg->mail_from, to, subject, id, domain ? domain : "@dojo.local", body);
    pthread_mutex_lock(&mailer->mu);
    if (mailer->tail)
        mailer->tail->next = m;
    else
        mailer->head = m;
    mailer->tail = m;
    pthread_cond_signal(&mailer->cv);
    pthread_mutex_unlock(&mailer->mu);
}

void auth_mailer_stop(auth_mailer_t *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->mu);
    m->stopping = true;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    free(m);
}
