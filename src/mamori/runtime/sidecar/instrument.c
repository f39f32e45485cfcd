/*
 * mamori-instrument: the app container's entrypoint prefix in sidecar mode.
 *
 *   mamori-instrument [--socket PATH] [--priority security|availability] [--timeout S]
 *                     -- ENTRYPOINT [ARGS...]
 *
 * Connects to the mamori agent's unix socket (the kernel tells the agent this process's pid),
 * says hello, receives the seccomp filter once the agent has seized this process with ptrace,
 * sets no_new_privs, installs the filter, acknowledges and execs the entrypoint: not one of
 * the app's instructions runs untraced. Flags default from MAMORI_SOCKET, MAMORI_PRIORITY and
 * MAMORI_TIMEOUT. With priority security (the default) the app never starts untraced: without
 * an agent before the timeout this exits 125. With priority availability it then execs the
 * app untraced and says so on stderr.
 *
 * Exit codes of its own: 125 (usage, no agent, refused), 126 (entrypoint not executable),
 * 127 (entrypoint not found); otherwise the app's, since the app replaces this process.
 * Statically linked, no heap: it must run in any image, distroless included.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/opt/mamori/run/agent.sock"
#define DEFAULT_TIMEOUT 30.0
#define RETRY_NS 100000000L /* between connection attempts */
#define EXIT_OWN 125
#define MAX_MESSAGE 1024

static const char HELLO[] = "MAMORI/1 HELLO\n";

enum priority { SECURITY, AVAILABILITY };

enum outcome { FILTER, RETRY, REFUSED };

struct options {
    const char *socket;
    enum priority priority;
    double timeout;
    char **argv;
};

static struct sock_filter program[BPF_MAXINSNS];
static char message[MAX_MESSAGE + 1];

static void say(const char *format, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    (void)fputs("mamori-instrument: ", stderr);
    (void)vfprintf(stderr, format, args);
    (void)fputc('\n', stderr);
    va_end(args);
}

static int usage(const char *problem)
{
    say("%s", problem);
    (void)fputs("usage: mamori-instrument [--socket PATH] [--priority security|availability]"
                " [--timeout SECONDS] -- ENTRYPOINT [ARGS...]\n", stderr);
    return EXIT_OWN;
}

static int parse_priority(const char *text, enum priority *out)
{
    if (strcmp(text, "security") == 0) {
        *out = SECURITY;
        return 0;
    }
    if (strcmp(text, "availability") == 0) {
        *out = AVAILABILITY;
        return 0;
    }
    return -1;
}

static int parse_timeout(const char *text, double *out)
{
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(value > 0.0) || value > 86400.0)
        return -1;
    *out = value;
    return 0;
}

/* Returns 0, or EXIT_OWN after a usage message. */
static int parse(int argc, char **argv, struct options *options)
{
    const char *env;
    options->socket = DEFAULT_SOCKET;
    options->priority = SECURITY;
    options->timeout = DEFAULT_TIMEOUT;
    options->argv = NULL;
    if ((env = getenv("MAMORI_SOCKET")) != NULL && *env != '\0')
        options->socket = env;
    if ((env = getenv("MAMORI_PRIORITY")) != NULL && *env != '\0'
        && parse_priority(env, &options->priority) != 0)
        return usage("MAMORI_PRIORITY must be security or availability");
    if ((env = getenv("MAMORI_TIMEOUT")) != NULL && *env != '\0'
        && parse_timeout(env, &options->timeout) != 0)
        return usage("MAMORI_TIMEOUT must be a number of seconds in (0, 86400]");
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--") == 0) {
            if (i + 1 >= argc)
                return usage("no entrypoint after --");
            options->argv = &argv[i + 1];
            return 0;
        }
        if (i + 1 >= argc)
            return usage(flag[0] == '-' ? "a flag without its value, or no -- ENTRYPOINT"
                                        : "expected -- before the entrypoint");
        const char *value = argv[++i];
        if (strcmp(flag, "--socket") == 0) {
            options->socket = value;
        } else if (strcmp(flag, "--priority") == 0) {
            if (parse_priority(value, &options->priority) != 0)
                return usage("--priority must be security or availability");
        } else if (strcmp(flag, "--timeout") == 0) {
            if (parse_timeout(value, &options->timeout) != 0)
                return usage("--timeout must be a number of seconds in (0, 86400]");
        } else {
            return usage("unknown flag, or no -- before the entrypoint");
        }
    }
    return usage("no -- ENTRYPOINT");
}

static double now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0.0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int set_timeouts(int fd, double seconds)
{
    if (seconds < 0.001)
        seconds = 0.001;
    struct timeval tv = {(time_t)seconds, (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
        return -1;
    return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int send_all(int fd, const void *data, size_t size)
{
    const char *at = data;
    while (size > 0) {
        ssize_t sent = send(fd, at, size, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            return -1;
        at += sent;
        size -= (size_t)sent;
    }
    return 0;
}

/* 0 when `size` bytes were read; -1 on error, timeout or end of stream. */
static int read_all(int fd, void *buffer, size_t size)
{
    char *at = buffer;
    while (size > 0) {
        ssize_t got = recv(fd, at, size, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        at += got;
        size -= (size_t)got;
    }
    return 0;
}

/* A connected socket, or -1 (`why` says why) when the agent is not there yet or at all. */
static int connect_agent(const char *path, const char **why)
{
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof address.sun_path) {
        *why = "socket path too long";
        return -1;
    }
    memcpy(address.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        *why = strerror(errno);
        (void)close(fd);
        return -1;
    }
    return fd;
}

/*
 * The handshake on a connected socket: hello, then one frame from the agent: a type byte
 * ('F' filter or 'E' error), a little-endian u32 length, the payload. On FILTER the program
 * is in `program` and `*instructions` says how long it is.
 */
static enum outcome handshake(int fd, double deadline, unsigned short *instructions,
                              const char **why)
{
    unsigned char header[5];
    if (set_timeouts(fd, deadline - now()) != 0 || send_all(fd, HELLO, sizeof HELLO - 1) != 0
        || read_all(fd, header, sizeof header) != 0) {
        *why = errno == EAGAIN ? "no answer in time" : "the agent closed the connection";
        return RETRY;
    }
    uint32_t size = (uint32_t)header[1] | (uint32_t)header[2] << 8 | (uint32_t)header[3] << 16
                    | (uint32_t)header[4] << 24;
    if (header[0] == 'E' && size <= MAX_MESSAGE) {
        if (read_all(fd, message, size) != 0) {
            *why = "the agent closed the connection";
            return RETRY;
        }
        message[size] = '\0';
        *why = message;
        return REFUSED;
    }
    if (header[0] != 'F' || size == 0 || size % sizeof program[0] != 0 || size > sizeof program) {
        *why = "malformed answer from the agent";
        return REFUSED;
    }
    if (read_all(fd, program, size) != 0) {
        *why = "the agent closed the connection";
        return RETRY;
    }
    *instructions = (unsigned short)(size / sizeof program[0]);
    return FILTER;
}

static void report(int fd, const char *text)
{
    if (send_all(fd, text, strlen(text)) != 0)
        say("could not acknowledge to the agent: %s", strerror(errno));
}

static int run(char **argv)
{
    (void)execvp(argv[0], argv);
    int status = errno == ENOENT ? 127 : 126;
    say("%s: %s", argv[0], status == 127 ? "command not found" : strerror(errno));
    return status;
}

static int untraced_or_fail(const struct options *options, const char *reason)
{
    if (options->priority == AVAILABILITY) {
        say("WARNING: %s; starting %s UNTRACED (no runtime detection)", reason,
            options->argv[0]);
        return run(options->argv);
    }
    say("%s; not starting %s (priority security)", reason, options->argv[0]);
    return EXIT_OWN;
}

int main(int argc, char **argv)
{
    struct options options;
    if (parse(argc, argv, &options) != 0)
        return EXIT_OWN;
    double deadline = now() + options.timeout;
    const char *why = "no agent";
    unsigned short instructions = 0;
    int fd = -1;
    for (;;) {
        fd = connect_agent(options.socket, &why);
        if (fd >= 0) {
            enum outcome outcome = handshake(fd, deadline, &instructions, &why);
            if (outcome == FILTER)
                break;
            (void)close(fd);
            if (outcome == REFUSED) {
                char reason[MAX_MESSAGE + 64];
                (void)snprintf(reason, sizeof reason, "the agent refused: %s", why);
                return untraced_or_fail(&options, reason);
            }
        }
        if (now() >= deadline) {
            char reason[MAX_MESSAGE + 256];
            (void)snprintf(reason, sizeof reason, "no mamori agent at %s after %gs (%s)",
                           options.socket, options.timeout, why);
            return untraced_or_fail(&options, reason);
        }
        struct timespec pause = {0, RETRY_NS};
        (void)nanosleep(&pause, NULL);
    }
    struct sock_fprog fprog = {instructions, program};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
        || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0) {
        char reason[160];
        (void)snprintf(reason, sizeof reason, "cannot install the seccomp filter: %s",
                       strerror(errno));
        report(fd, "ERROR ");
        report(fd, reason);
        report(fd, "\n");
        (void)close(fd);
        return untraced_or_fail(&options, reason);
    }
    report(fd, "OK\n");
    return run(options.argv); /* the socket is close-on-exec */
}
