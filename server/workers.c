/* workers.c - the supervisor of MDT_WORKERS worker processes (see
 * workers.h). It owns the workers' pids and ready pipes, its signalfd and
 * the restart budget; each worker owns everything else, as a node would.
 *
 * The supervisor never opens the database or the listening socket: the
 * configuration was read (and the key file checked) before it forks, and
 * each worker starts from that copy. Signals are blocked before the first
 * fork and read from a signalfd, so no handler runs; a worker keeps
 * SIGTERM/SIGINT/SIGHUP blocked (its server adopts them on its own
 * signalfd) and gets SIGCHLD back. */
#include "workers.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sdnotify.h"
#include "server.h"

#define WORKERS_RESTART_MAX      5
#define WORKERS_RESTART_WINDOW_S 60

typedef struct {
    pid_t pid;    /* 0: not running */
    int ready_fd; /* read end of its ready pipe; -1 once read or closed */
    int ready;
} worker_t;

typedef struct {
    const mdt_config_t *cfg;
    int n;
    worker_t w[MDT_WORKERS_MAX];
    int sfd;                              /* signalfd: SIGTERM, SIGINT, SIGHUP, SIGCHLD */
    pid_t self;                           /* the supervisor's pid, for the workers' orphan check */
    int stopping;                         /* a stop signal came, or a failure stops everything */
    int all_ready;                        /* READY=1 was sent (start-up is over) */
    int status;                           /* the exit status so far */
    time_t restarts[WORKERS_RESTART_MAX]; /* the latest restarts, a ring */
    int nrestarts;
} sup_t;

/* Worker process: closes what belongs to the supervisor, keeps the stop
 * signals blocked for its server's signalfd, never talks to systemd, and
 * runs the server with its index and ready pipe. Does not return. */
static void worker_main(sup_t *s, int k, int ready_wfd)
{
    close(s->sfd);
    for (int i = 0; i < s->n; i++)
        if (s->w[i].ready_fd >= 0)
            close(s->w[i].ready_fd);
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* the supervisor killed: drain and go */
    if (getppid() != s->self)
        _exit(1);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_UNBLOCK, &chld, NULL);
    unsetenv("NOTIFY_SOCKET"); /* systemd hears the supervisor only */
    mdt_config_t cfg = *s->cfg;
    cfg.worker = k;
    cfg.ready_fd = ready_wfd;
    mdt_log_set_worker(k);
    int rc = mdt_server_run(&cfg);
    OPENSSL_cleanse(cfg.audit_key, sizeof(cfg.audit_key));
    fflush(NULL);
    exit(rc);
}

/* Forks worker k with a fresh ready pipe. 0 ok, -1 (logged) when the pipe
 * or the fork failed. */
static int worker_spawn(sup_t *s, int k)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        mdt_log_error("cannot start worker", "worker_index=%d errno=%d", k, errno);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        worker_main(s, k, p[1]);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        mdt_log_error("cannot start worker", "worker_index=%d errno=%d", k, errno);
        return -1;
    }
    s->w[k] = (worker_t){.pid = pid, .ready_fd = p[0], .ready = 0};
    return 0;
}

/* Sends sig to every running worker. */
static void workers_signal(sup_t *s, int sig)
{
    for (int i = 0; i < s->n; i++)
        if (s->w[i].pid > 0)
            kill(s->w[i].pid, sig);
}

/* Starts the stop (once): STOPPING=1 to systemd, sig to every worker;
 * status is the exit status the supervisor will answer at the least. */
static void workers_stop(sup_t *s, int sig, int status)
{
    if (status > s->status)
        s->status = status;
    if (s->stopping)
        return;
    s->stopping = 1;
    if (mdt_sdnotify_send("STOPPING=1") < 0)
        mdt_log_warn("sd_notify STOPPING failed", "errno=%d", errno);
    workers_signal(s, sig);
}

static int workers_running(const sup_t *s)
{
    int n = 0;
    for (int i = 0; i < s->n; i++)
        n += s->w[i].pid > 0;
    return n;
}

/* One more restart now: 0 within the budget, -1 when it is spent (more than
 * WORKERS_RESTART_MAX restarts in WORKERS_RESTART_WINDOW_S seconds). */
static int restart_budget(sup_t *s)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int slot = s->nrestarts % WORKERS_RESTART_MAX;
    if (s->nrestarts >= WORKERS_RESTART_MAX &&
        now.tv_sec - s->restarts[slot] < WORKERS_RESTART_WINDOW_S)
        return -1;
    s->restarts[slot] = now.tv_sec;
    s->nrestarts++;
    return 0;
}

/* Worker k (pid) ended with wait status st: while stopping, only its status
 * counts; before every worker was ready it is a failed start (stop all);
 * after, it is restarted within the budget. */
static void worker_ended(sup_t *s, int k, pid_t pid, int st)
{
    int clean = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    int sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    if (s->w[k].ready_fd >= 0)
        close(s->w[k].ready_fd);
    s->w[k] = (worker_t){.pid = 0, .ready_fd = -1};
    if (s->stopping) {
        mdt_log(clean ? MDT_LOG_INFO : MDT_LOG_WARN, "worker stopped",
                "worker_index=%d pid=%d exit=%d signal=%d", k, (int)pid, code, sig);
        if (!clean)
            s->status = 1;
        return;
    }
    if (!s->all_ready) {
        mdt_log_error("worker failed to start: stopping the others",
                      "worker_index=%d pid=%d exit=%d signal=%d", k, (int)pid, code, sig);
        workers_stop(s, SIGTERM, 1);
        return;
    }
    mdt_log_error("worker died: restarting it", "worker_index=%d pid=%d exit=%d signal=%d", k,
                  (int)pid, code, sig);
    if (restart_budget(s) != 0) {
        mdt_log_error("workers keep dying: stopping", "restarts=%d window_s=%d",
                      WORKERS_RESTART_MAX, WORKERS_RESTART_WINDOW_S);
        workers_stop(s, SIGTERM, 1);
    } else if (worker_spawn(s, k) != 0) {
        workers_stop(s, SIGTERM, 1);
    }
}

/* Reaps every ended child. */
static void workers_reap(sup_t *s)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        for (int k = 0; k < s->n; k++) {
            if (s->w[k].pid == pid) {
                worker_ended(s, k, pid, st);
                break;
            }
        }
    }
}

/* Drains the signalfd: stop signals start the stop, SIGHUP is forwarded
 * (each worker reloads the key file), SIGCHLD reaps. */
static void workers_on_signals(sup_t *s)
{
    struct signalfd_siginfo si;
    while (read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) {
            workers_reap(s);
        } else if (sig == SIGHUP) {
            mdt_log_info("forwarding SIGHUP to the workers", "workers=%d", workers_running(s));
            workers_signal(s, SIGHUP);
        } else if (!s->stopping) {
            mdt_log_info("stopping the workers", "signal=%d workers=%d", sig, workers_running(s));
            workers_stop(s, sig, 0);
        }
    }
}

/* Worker k's ready pipe is readable: its byte (ready), or its end (it
 * exited; SIGCHLD tells how). Says READY=1 once every worker is ready. */
static void worker_on_ready(sup_t *s, int k)
{
    char b = 0;
    ssize_t r = read(s->w[k].ready_fd, &b, 1);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    close(s->w[k].ready_fd);
    s->w[k].ready_fd = -1;
    if (r != 1)
        return;
    s->w[k].ready = 1;
    mdt_log_info("worker ready", "worker_index=%d pid=%d", k, (int)s->w[k].pid);
    for (int i = 0; i < s->n; i++)
        if (!s->w[i].ready)
            return;
    if (s->all_ready || s->stopping)
        return;
    s->all_ready = 1;
    mdt_log_info("workers ready", "workers=%d", s->n);
    if (mdt_sdnotify_send("READY=1\nSTATUS=serving") < 0)
        mdt_log_warn("sd_notify READY failed", "errno=%d", errno);
}

/* One wait on the signalfd and the open ready pipes. */
static void workers_wait(sup_t *s)
{
    struct pollfd pfd[MDT_WORKERS_MAX + 1];
    int who[MDT_WORKERS_MAX + 1];
    nfds_t n = 0;
    pfd[n++] = (struct pollfd){.fd = s->sfd, .events = POLLIN};
    for (int k = 0; k < s->n; k++) {
        if (s->w[k].ready_fd >= 0) {
            who[n] = k;
            pfd[n++] = (struct pollfd){.fd = s->w[k].ready_fd, .events = POLLIN};
        }
    }
    if (poll(pfd, n, -1) < 0)
        return; /* EINTR: nothing is delivered to a handler, so only a stop */
    for (nfds_t i = 1; i < n; i++)
        if (pfd[i].revents)
            worker_on_ready(s, who[i]);
    if (pfd[0].revents)
        workers_on_signals(s);
}

/* Blocks the signals the supervisor reads into s->sfd. 0 ok. */
static int workers_block_signals(sup_t *s)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    s->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return s->sfd < 0 ? -1 : 0;
}

int mdt_workers_listen(const mdt_config_t *cfg, char *err, size_t errlen)
{
    const char *host = strcmp(cfg->listen_host, "*") == 0 ? NULL : cfg->listen_host;
    struct addrinfo hints = {.ai_family = strchr(cfg->listen_host, ':') ? AF_INET6 : AF_INET,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%d", cfg->listen_port);
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", cfg->listen_host, gai_strerror(rc));
        return -1;
    }
    int one = 1;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", cfg->listen_host, cfg->listen_port,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

int mdt_workers_run(const mdt_config_t *cfg)
{
    sup_t *s = calloc(1, sizeof(*s));
    if (!s)
        return 1;
    s->cfg = cfg;
    s->n = cfg->workers;
    s->self = getpid();
    s->sfd = -1;
    for (int k = 0; k < s->n; k++)
        s->w[k].ready_fd = -1;
    mdt_log_set_level(cfg->log_level); /* a bad level: each worker says so and fails */
    int rc = 1;
    if (workers_block_signals(s) != 0) {
        fprintf(stderr, "mdtboard: cannot set up the supervisor's signals: %s\n", strerror(errno));
        goto exit;
    }
    mdt_log_info("starting workers", "workers=%d pid=%d", s->n, (int)s->self);
    for (int k = 0; k < s->n && !s->stopping; k++)
        if (worker_spawn(s, k) != 0)
            workers_stop(s, SIGTERM, 1);
    while (workers_running(s) > 0)
        workers_wait(s);
    rc = s->status;
    mdt_log_info("workers stopped", "status=%d", rc);
exit:
    if (s->sfd >= 0)
        close(s->sfd);
    free(s);
    return rc;
}
