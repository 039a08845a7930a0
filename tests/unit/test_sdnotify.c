/* test_sdnotify.c - the sd_notify datagram reaches a socket named by
 * NOTIFY_SOCKET, as a path and as an abstract name; without the variable
 * nothing is sent, and a bad name is an error. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "sdnotify.h"

/* A datagram socket bound to name (abstract when it starts with '@'). */
static int bind_dgram(const char *name)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    memcpy(addr.sun_path, name, len);
    if (name[0] == '@')
        addr.sun_path[0] = 0;
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr,
                       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) != 0)
        return -1;
    return fd;
}

static void expect_received(const char *name)
{
    int fd = bind_dgram(name);
    CHECK(fd >= 0);
    setenv("NOTIFY_SOCKET", name, 1);
    CHECK_EQ_INT(mdt_sdnotify_send("READY=1\nSTATUS=serving"), 1);
    char buf[64] = "";
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    CHECK_EQ_INT(n, (long)strlen("READY=1\nSTATUS=serving"));
    CHECK_EQ_STR(buf, "READY=1\nSTATUS=serving");
    close(fd);
}

int main(void)
{
    unsetenv("NOTIFY_SOCKET");
    CHECK_EQ_INT(mdt_sdnotify_send("READY=1"), 0);

    char dir[] = "/tmp/mdt-sdnotify-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[96];
    snprintf(path, sizeof(path), "%s/notify", dir);
    expect_received(path);
    unlink(path);
    rmdir(dir);

    char abstract[64];
    snprintf(abstract, sizeof(abstract), "@mdt-sdnotify-%d", (int)getpid());
    expect_received(abstract);

    setenv("NOTIFY_SOCKET", "relative/name", 1);
    CHECK_EQ_INT(mdt_sdnotify_send("READY=1"), -1);
    setenv("NOTIFY_SOCKET", "/nonexistent/mdt-sdnotify", 1);
    CHECK_EQ_INT(mdt_sdnotify_send("READY=1"), -1);
    unsetenv("NOTIFY_SOCKET");
    return check_done();
}
