/*
 * runtime.c - the parts of an OCI runtime that are not its lesson (step 17):
 * runc's command line, the state kept between commands, and what the
 * container's process does with config.json before it waits to be started.
 *
 * The command line is runc's (runc/main.go and its commands), because
 * podman (through conmon), containerd's runc shim and runtime-tools'
 * validation suite call the runtime so: global options, a command, its
 * options, the container's id. Errors are runc's too: exit 1, and the
 * messages clients look for ("container does not exist").
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"

/* ---- the command line ---------------------------------------------------- */

static const char *const commands[] = { "create", "start",    "state", "kill",  "delete",
                                        "run",    "exec",     "list",  "ps",    "spec",
                                        "features", "pause", "resume", "update", NULL };

/* Options only runc's ps, kill and exec take: with one, the command is
 * runc's, not a program to run in a container. */
static bool oci_only_option(const char *a)
{
    static const char *const options[] = { "--format", "-f", "--all", "-a", "--process", "-p",
                                           "--pid-file", "--detach", "-d", "--console-socket",
                                           "--preserve-fds", "--tty", "-t", NULL };

    for (int i = 0; options[i]; i++)
        if (strcmp(a, options[i]) == 0 || (strncmp(a, options[i], strlen(options[i])) == 0 &&
                                           a[strlen(options[i])] == '='))
            return true;
    return false;
}

bool rt_is_command(int argc, char *argv[])
{
    char root[PATH_MAX] = RT_DEFAULT_ROOT, dir[PATH_MAX];
    bool global = false;
    int i = 1, k;

    /* Global options first, as runc takes them. */
    for (; i < argc && argv[i][0] == '-'; i++, global = true) {
        if (strcmp(argv[i], "--root") == 0 && i + 1 < argc)
            snprintf(root, sizeof(root), "%s", argv[++i]);
        else if (strncmp(argv[i], "--root=", 7) == 0)
            snprintf(root, sizeof(root), "%s", argv[i] + 7);
        else if (strcmp(argv[i], "--log") == 0 || strcmp(argv[i], "--log-format") == 0 ||
                 strcmp(argv[i], "--rootless") == 0)
            i++;
        else if (strcmp(argv[i], "--debug") && strcmp(argv[i], "--systemd-cgroup") &&
                 strncmp(argv[i], "--log=", 6) && strncmp(argv[i], "--log-format=", 13) &&
                 strncmp(argv[i], "--rootless=", 11))
            return false;
    }
    for (k = 0; i < argc && commands[k]; k++)
        if (strcmp(argv[i], commands[k]) == 0)
            break;
    if (i >= argc || !commands[k])
        return false;
    /* ./step-17 ps runs ps in a new container (pause and resume too: the
     * rootfs has both programs), and ./step-17 exec NAME is step 15's
     * docker exec: runc's when global options came first, when an option
     * only runc's take is given, or when the first word names a container
     * of --root. */
    if (strcmp(argv[i], "ps") && strcmp(argv[i], "exec") && strcmp(argv[i], "pause") &&
        strcmp(argv[i], "resume"))
        return true;
    if (global)
        return true;
    for (i++; i < argc; i++) {
        if (oci_only_option(argv[i]))
            return true;
        if (argv[i][0] != '-')
            return strchr(argv[i], '/') == NULL &&
                   path_join(dir, sizeof(dir), root, argv[i]) == 0 && access(dir, F_OK) == 0;
    }
    return false;
}

_Noreturn void rt_usage_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    die_msg("%s (see --help)", msg);
}

/* --name VALUE or --name=VALUE: the value, else NULL. */
static const char *value_of(const char *name, int argc, char *const argv[], int *i)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc)
        rt_usage_error("%s: needs a value", name);
    return argv[++*i];
}

static bool flag_of(const char *name, const char *alias, const char *arg)
{
    return strcmp(arg, name) == 0 || (alias && strcmp(arg, alias) == 0);
}

static void open_log(struct rt_cli *cli)
{
    int fd;

    if (strcmp(cli->log_format, "text") && strcmp(cli->log_format, "json"))
        rt_usage_error("invalid log-format: %s", cli->log_format);
    if (!cli->log)
        return;
    if ((fd = open(cli->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0)
        die("open the log %s", cli->log);
    lab_set_error_log(fd, strcmp(cli->log_format, "json") == 0);
}

static int global_options(struct rt_cli *cli, int argc, char *argv[])
{
    int i;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *v;

        if ((v = value_of("--root", argc, argv, &i)))
            snprintf(cli->root, sizeof(cli->root), "%s", v);
        else if ((v = value_of("--log", argc, argv, &i)))
            cli->log = v;
        else if ((v = value_of("--log-format", argc, argv, &i)))
            cli->log_format = v;
        else if (flag_of("--debug", NULL, argv[i]))
            cli->debug = true;
        else if ((v = value_of("--rootless", argc, argv, &i))) {
            if (strcmp(v, "false") && strcmp(v, "auto"))
                rt_usage_error("--rootless %s: not supported", v);
        } else if (flag_of("--systemd-cgroup", NULL, argv[i]))
            rt_usage_error("--systemd-cgroup: not supported: the lab manages cgroupfs itself");
        else
            rt_usage_error("%s: unknown global option", argv[i]);
    }
    return i;
}

/* runc update's options: those the lab takes, and the others refused. */
static bool update_option(struct rt_cli *cli, int argc, char *const argv[], int *i)
{
    static const char *const unsupported[] = {
        "--blkio-weight", "--cpu-burst", "--cpu-share", "--cpu-rt-period", "--cpu-rt-runtime",
        "--cpuset-cpus", "--cpuset-mems", "--kernel-memory", "--kernel-memory-tcp", "--cpu-idle",
        "--memory-reservation", "--l3-cache-schema", "--mem-bw-schema", NULL
    };
    const char *v;

    if ((v = value_of("--memory", argc, argv, i)))
        cli->memory = v;
    else if ((v = value_of("--memory-swap", argc, argv, i)))
        cli->memory_swap = v;
    else if ((v = value_of("--cpu-period", argc, argv, i)))
        cli->cpu_period = v;
    else if ((v = value_of("--cpu-quota", argc, argv, i)))
        cli->cpu_quota = v;
    else if ((v = value_of("--pids-limit", argc, argv, i)))
        cli->pids_limit = v;
    else if ((v = value_of("--resources", argc, argv, i)) || (v = value_of("-r", argc, argv, i)))
        cli->resources = v;
    else {
        for (int k = 0; unsupported[k]; k++)
            if (value_of(unsupported[k], argc, argv, i))
                rt_usage_error("update: %s: not supported by the lab's runtime (it sets memory, "
                               "swap, the CPU quota and period, and the pids limit)",
                               unsupported[k]);
        return false;
    }
    return true;
}

static void command_options(struct rt_cli *cli, int argc, char *const argv[], int i)
{
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const char *v, *a = argv[i];

        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if ((v = value_of("--bundle", argc, argv, &i)) || (v = value_of("-b", argc, argv, &i)))
            cli->bundle = v;
        else if ((v = value_of("--pid-file", argc, argv, &i)))
            cli->pid_file = v;
        else if ((v = value_of("--console-socket", argc, argv, &i)))
            cli->console_socket = v;
        else if ((v = value_of("--process", argc, argv, &i)) ||
                 (v = value_of("-p", argc, argv, &i)))
            cli->process = v;
        else if ((v = value_of("--format", argc, argv, &i)) ||
                 (strcmp(cli->command, "delete") && (v = value_of("-f", argc, argv, &i))))
            cli->format = v;
        else if ((v = value_of("--preserve-fds", argc, argv, &i))) {
            char *end;
            long n = strtol(v, &end, 10);

            if (*end || n < 0 || n > 1000)
                rt_usage_error("--preserve-fds %s: not a count", v);
            cli->preserve_fds = (int)n;
        } else if (flag_of("--detach", "-d", a))
            cli->detach = true;
        else if (flag_of("--force", "-f", a) && strcmp(cli->command, "delete") == 0)
            cli->force = true;
        else if (flag_of("--all", "-a", a))
            cli->all = true;
        else if (flag_of("--quiet", "-q", a))
            cli->quiet = true;
        else if (flag_of("--rootless", NULL, a))
            cli->rootless = true;
        else if (flag_of("--no-pivot", NULL, a))
            rt_usage_error("--no-pivot: not supported: the lab always uses pivot_root");
        else if (flag_of("--no-new-keyring", NULL, a))
            cli->no_new_keyring = true; /* the lab never makes a session keyring */
        else if (strcmp(cli->command, "update") == 0 && update_option(cli, argc, argv, &i))
            continue;
        else if (flag_of("--tty", "-t", a))
            rt_usage_error("%s: not supported: give exec --process a terminal and "
                           "--console-socket", a);
        else
            rt_usage_error("%s %s: unknown option", cli->command, a);
    }
    cli->args = argv + i;
    cli->nargs = argc - i;
}

void rt_parse(struct rt_cli *cli, int argc, char *argv[])
{
    int i;

    memset(cli, 0, sizeof(*cli));
    snprintf(cli->root, sizeof(cli->root), "%s", RT_DEFAULT_ROOT);
    cli->log_format = "text";
    cli->format = "table";
    lab_set_failure_status(RT_EXIT_FAILED);
    i = global_options(cli, argc, argv);
    open_log(cli);
    lab_set_quiet(!cli->debug);
    cli->command = argv[i++];
    command_options(cli, argc, argv, i);
    /* The id: every command but list, spec and features takes one. */
    if (strcmp(cli->command, "list") && strcmp(cli->command, "spec") &&
        strcmp(cli->command, "features")) {
        if (cli->nargs < 1 || !cli->args[0][0])
            rt_usage_error("%s: container id cannot be empty", cli->command);
        cli->id = cli->args[0];
        cli->args++;
        cli->nargs--;
        /* After the id: kill's signal, ps's options, exec's command. */
        if (strcmp(cli->command, "exec"))
            command_options(cli, cli->nargs + 1, cli->args - 1, 1);
    }
    if (cli->id && (strchr(cli->id, '/') || strcmp(cli->id, ".") == 0 ||
                    strcmp(cli->id, "..") == 0 || strlen(cli->id) > 200))
        die_msg("%s %s: invalid container ID format", cli->command, cli->id);
    if (cli->id && path_join(cli->dir, sizeof(cli->dir), cli->root, cli->id) < 0)
        die_msg("%s: --root too long", cli->command);
    if (!cli->bundle)
        cli->bundle = ".";
}

/* ---- the state kept between commands ----------------------------------------- */

int rt_state_read(const struct rt_cli *cli, struct rt_state *st)
{
    char *cursor, *key, *value;
    unsigned long long n;
    int dir, err;

    memset(st, 0, sizeof(*st));
    if ((dir = open(cli->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return -errno;
    err = kv_read(dir, RT_STATE_FILE, st->text, sizeof(st->text));
    st->created_only = faccessat(dir, RT_FIFO, F_OK, 0) == 0;
    close(dir);
    if (err < 0)
        return err;
    cursor = st->text;
    while ((err = kv_next(&cursor, &key, &value)) > 0) {
        if (strcmp(key, "pid") == 0 && kv_number(value, 10, INT32_MAX, &n) == 0)
            st->pid = (pid_t)n;
        else if (strcmp(key, "start") == 0 && kv_number(value, 10, ULLONG_MAX, &n) == 0)
            st->start = n;
        else if (strcmp(key, "bundle") == 0)
            st->bundle = value;
        else if (strcmp(key, "rootfs") == 0)
            st->rootfs = value;
        else if (strcmp(key, "created") == 0)
            st->created = value;
        else if (strcmp(key, "owner") == 0)
            st->owner = value;
        else if (strcmp(key, "annotations") == 0)
            st->annotations = value;
        else if (strcmp(key, "hooks") == 0)
            st->hooks = value;
        else if (strcmp(key, "own_pid_ns") == 0)
            st->own_pid_ns = strcmp(value, "1") == 0;
        else if (strcmp(key, "cgroup") == 0 && st->ncgroups < CG_MAX_DIRS)
            st->cgroups[st->ncgroups++] = value;
        else
            return -EBADMSG;
    }
    if (err < 0 || !st->pid || !st->start || !st->bundle || !st->rootfs || !st->created)
        return -EBADMSG;
    return 0;
}

void rt_state_load(const struct rt_cli *cli, struct rt_state *st)
{
    int err = rt_state_read(cli, st);

    if (err == -ENOENT || err == -ENOTDIR)
        die_msg("%s %s: container does not exist", cli->command, cli->id);
    if (err < 0)
        die_errno(err, "%s %s: read the state in %s", cli->command, cli->id, cli->dir);
}

static json_object *state_json(const char *id, const struct rt_state *st, const char *status)
{
    json_object *o = json_object_new_object(), *annotations = NULL;
    bool stopped = strcmp(status, "stopped") == 0;

    json_object_object_add(o, "ociVersion", json_object_new_string(RT_OCI_VERSION));
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "pid", json_object_new_int(stopped ? 0 : st->pid));
    json_object_object_add(o, "status", json_object_new_string(status));
    json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
    json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs));
    json_object_object_add(o, "created", json_object_new_string(st->created));
    if (st->annotations && st->annotations[0] &&
        (annotations = json_tokener_parse(st->annotations)))
        json_object_object_add(o, "annotations", annotations);
    json_object_object_add(o, "owner", json_object_new_string(st->owner ? st->owner : ""));
    return o;
}

/* ---- pause and resume: the cgroup freezer ---------------------------------- */

/* The container's freezer: v1's freezer.state, in the freezer hierarchy, or
 * v2's cgroup.freeze, in its one group. */
static int freezer_file(const struct rt_state *st, char *path, size_t len, bool *v2)
{
    for (int i = 0; i < st->ncgroups; i++)
        for (int v = 0; v < 2; v++)
            if (path_join(path, len, st->cgroups[i], v ? "cgroup.freeze" : "freezer.state") == 0 &&
                access(path, F_OK) == 0) {
                *v2 = v;
                return 0;
            }
    return -ENOENT;
}

/* runc's status "paused" is not in the state file either: a running (or
 * created) container whose group is frozen (libcontainer's refreshState). */
static const char *shown(const struct rt_state *st, const char *status)
{
    char path[PATH_MAX], text[32];
    bool v2;

    if (strcmp(status, "stopped") == 0 || freezer_file(st, path, sizeof(path), &v2) < 0 ||
        file_read(path, text, sizeof(text)) < 0)
        return status;
    return (v2 ? text[0] == '1' : strncmp(text, "FROZEN", 6) == 0) ? "paused" : status;
}

/* Freezes or thaws the group, and waits until the kernel says it is done:
 * v1's freezer.state reads FREEZING until every task has stopped, and
 * offers no event to wait on, so it is read again (runc's library does the
 * same: opencontainers/cgroups, fs/freezer.go); v2's cgroup.events
 * says "frozen 1", and poll(2) wakes when it changes. */
static int set_frozen(const struct rt_state *st, bool frozen)
{
    char path[PATH_MAX], text[256];
    bool v2;
    int err;

    if ((err = freezer_file(st, path, sizeof(path), &v2)) < 0)
        return err;
    if ((err = file_write(path, v2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED"))) < 0)
        return err;
    if (v2) {
        char events[PATH_MAX];
        int fd;

        snprintf(events, sizeof(events), "%.*s/cgroup.events", (int)(strrchr(path, '/') - path),
                 path);
        if ((fd = open(events, O_RDONLY | O_CLOEXEC)) < 0)
            return -errno;
        for (int tries = 0; tries < 100; tries++) {
            struct pollfd pfd = { fd, POLLPRI, 0 };
            ssize_t n = pread(fd, text, sizeof(text) - 1, 0);

            text[n > 0 ? n : 0] = '\0';
            if (strstr(text, frozen ? "frozen 1" : "frozen 0"))
                break;
            (void)poll(&pfd, 1, 100);
        }
        close(fd);
        return 0;
    }
    for (int tries = 0; tries < 2000; tries++) {
        if (file_read(path, text, sizeof(text)) == 0 &&
            strncmp(text, frozen ? "FROZEN" : "THAWED", 6) == 0)
            return 0;
        (void)poll(NULL, 0, 1);
    }
    return -ETIMEDOUT;
}

void rt_pause(const struct rt_cli *cli, const struct rt_state *st, const char *status)
{
    int err;

    if (strcmp(shown(st, status), "running") && strcmp(shown(st, status), "created"))
        die_msg("pause %s: container not running", cli->id);
    if ((err = set_frozen(st, true)) < 0)
        die_errno(err, "pause %s: freeze its group", cli->id);
}

void rt_resume(const struct rt_cli *cli, const struct rt_state *st, const char *status)
{
    int err;

    if (strcmp(shown(st, status), "paused"))
        die_msg("resume %s: container not paused", cli->id);
    if ((err = set_frozen(st, false)) < 0)
        die_errno(err, "resume %s: thaw its group", cli->id);
}

void rt_thaw_to_delete(const struct rt_cli *cli, const struct rt_state *st, const char *status)
{
    /* A frozen task takes its SIGKILL only once thawed (v1); runc's
     * destroy thaws too. Without --force, delete refuses it anyway. */
    if (cli->force && strcmp(shown(st, status), "paused") == 0)
        (void)set_frozen(st, false);
}

void rt_print_state(const char *id, const struct rt_state *st, const char *status)
{
    json_object *o = state_json(id, st, shown(st, status));

    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

void rt_list(struct rt_cli *cli, const char *(*status_of)(const struct rt_state *))
{
    json_object *all = json_object_new_array();
    struct dirent *e;
    DIR *d = opendir(cli->root);

    if (!cli->quiet && strcmp(cli->format, "json"))
        printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
               "OWNER");
    while (d && (e = readdir(d))) {
        struct rt_state st;
        const char *status;

        if (e->d_name[0] == '.')
            continue;
        if (path_join(cli->dir, sizeof(cli->dir), cli->root, e->d_name) < 0 ||
            rt_state_read(cli, &st) < 0)
            continue;
        status = shown(&st, status_of(&st));
        if (strcmp(cli->format, "json") == 0)
            json_object_array_add(all, state_json(e->d_name, &st, status));
        else if (cli->quiet)
            printf("%s\n", e->d_name);
        else
            printf("%-12s %-8d %-10s %-40s %-30s %s\n", e->d_name,
                   strcmp(status, "stopped") ? (int)st.pid : 0, status, st.bundle, st.created,
                   st.owner ? st.owner : "");
    }
    if (d)
        closedir(d);
    if (strcmp(cli->format, "json") == 0)
        printf("%s\n", json_object_to_json_string_ext(all, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(all);
}

/* The pids in the container's first group, for ps and kill --all. */
int rt_pids(const struct rt_state *st, pid_t *pids, int max)
{
    char path[PATH_MAX];
    FILE *f;
    int n = 0;
    long pid;

    if (!st->ncgroups || path_join(path, sizeof(path), st->cgroups[0], "cgroup.procs") < 0)
        return 0;
    if (!(f = fopen(path, "re")))
        return -errno;
    while (n < max && fscanf(f, "%ld", &pid) == 1)
        pids[n++] = (pid_t)pid;
    fclose(f);
    return n;
}

/* ---- update: new limits for a running container -------------------------- */

/* What update sets; a field not given stays as it is. */
struct limits {
    long long memory, swap, pids;
    long quota, period;
    bool memory_given, swap_given, quota_given, period_given, pids_given;
};

/* A number of update's JSON (LinuxResources), at section.key. */
static bool json_number(json_object *root, const char *section, const char *key, long long *v)
{
    json_object *s, *x;

    if (!json_object_object_get_ex(root, section, &s) || !json_object_object_get_ex(s, key, &x) ||
        json_object_is_type(x, json_type_null))
        return false;
    if (!json_object_is_type(x, json_type_int))
        die_msg("update: resources: %s.%s: not a number", section, key);
    *v = json_object_get_int64(x);
    return true;
}

/* The members the lab does not set, refused by name (shares of 0 or 1024,
 * the kernel's default, which containerd and podman send, excepted). */
static void refuse_unset(json_object *root)
{
    static const char *const sections[] = { "memory", "cpu", "pids", NULL };
    static const char *const known[] = { "limit", "swap", "quota", "period", NULL };
    json_object *s;

    json_object_object_foreach(root, key, value) {
        bool ok = false;

        for (int i = 0; sections[i]; i++)
            ok |= strcmp(key, sections[i]) == 0;
        if (!ok && !json_object_is_type(value, json_type_null))
            die_msg("update: resources: %s: not supported by the lab's runtime", key);
    }
    for (int i = 0; sections[i]; i++) {
        if (!json_object_object_get_ex(root, sections[i], &s) ||
            !json_object_is_type(s, json_type_object))
            continue;
        json_object_object_foreach(s, member, x) {
            bool ok = strcmp(member, "shares") == 0 && (json_object_get_int64(x) == 0 ||
                                                         json_object_get_int64(x) == 1024);

            for (int k = 0; known[k]; k++)
                ok |= strcmp(member, known[k]) == 0;
            if (!ok && !json_object_is_type(x, json_type_null))
                die_msg("update: resources: %s.%s: not supported by the lab's runtime",
                        sections[i], member);
        }
    }
}

static void limits_from_json(const char *from, struct limits *l)
{
    char text[65536];
    json_object *root;
    long long v;
    ssize_t n;
    int fd = strcmp(from, "-") == 0 ? 0 : open(from, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || (n = read(fd, text, sizeof(text) - 1)) < 0)
        die("update: read the resources from %s", from);
    text[n > 0 ? n : 0] = '\0'; /* (die() does not return) */
    if (fd > 0)
        close(fd);
    if (!(root = json_tokener_parse(text)) || !json_object_is_type(root, json_type_object))
        die_msg("update: resources from %s: not a JSON object", from);
    refuse_unset(root);
    if ((l->memory_given = json_number(root, "memory", "limit", &v)))
        l->memory = v;
    if ((l->swap_given = json_number(root, "memory", "swap", &v)))
        l->swap = v;
    if ((l->quota_given = json_number(root, "cpu", "quota", &v)))
        l->quota = (long)v;
    if ((l->period_given = json_number(root, "cpu", "period", &v)))
        l->period = (long)v;
    if ((l->pids_given = json_number(root, "pids", "limit", &v)))
        l->pids = v;
    json_object_put(root);
}

static long long bytes_of(const char *option, const char *v)
{
    const char *why;
    long long n;

    if (strcmp(v, "-1") == 0)
        return -1;
    if (parse_bytes(v, &n, &why) < 0)
        die_msg("update: invalid value for %s: %s", option, why);
    return n;
}

/* The checked parsers of parse.c, as docker run's options use them. */
static long microseconds_of(const char *option, const char *v, long min, long max)
{
    const char *why;
    long n;

    if (strcmp(v, "-1") == 0 && min < 0)
        return -1; /* the quota: none */
    if (parse_microseconds(v, min < 0 ? 1000 : min, max, &n, &why) < 0)
        die_msg("update: invalid value for %s: %s", option, why);
    return n;
}

static void limits_from_options(const struct rt_cli *cli, struct limits *l)
{
    const char *why;
    long pids;

    if ((l->memory_given = cli->memory != NULL))
        l->memory = bytes_of("memory", cli->memory);
    if ((l->swap_given = cli->memory_swap != NULL))
        l->swap = bytes_of("memory-swap", cli->memory_swap);
    if ((l->quota_given = cli->cpu_quota != NULL))
        l->quota = microseconds_of("cpu-quota", cli->cpu_quota, -1, 1000000000);
    if ((l->period_given = cli->cpu_period != NULL))
        l->period = microseconds_of("cpu-period", cli->cpu_period, 1000, 1000000);
    if ((l->pids_given = cli->pids_limit != NULL) &&
        parse_pids_limit(cli->pids_limit, &pids, &why) < 0)
        die_msg("update: invalid value for pids-limit: %s", why);
    if (l->pids_given)
        l->pids = pids;
}

void rt_update(const struct rt_cli *cli, const struct rt_state *st, const char *status)
{
    struct limits l = { 0 };
    struct cg_group g;
    long quota, period;
    int err = 0;

    if (strcmp(status, "stopped") == 0)
        die_msg("update %s: container not running", cli->id);
    if (cli->resources)
        limits_from_json(cli->resources, &l);
    else
        limits_from_options(cli, &l);
    if (l.swap_given && !l.memory_given)
        die_msg("update %s: --memory-swap needs --memory here (the lab sets them together)",
                cli->id);
    if ((err = cg_open_dirs(&g, st->cgroups, st->ncgroups)) < 0)
        die_errno(err, "update %s: its groups", cli->id);
    /* One value given, the other as it is: both are read back first. */
    if ((l.quota_given || l.period_given) && (err = cg_cpu_limit_now(&g, &quota, &period)) == 0)
        err = cg_set_cpu_limit(&g, l.quota_given ? l.quota : quota,
                               l.period_given ? l.period : period);
    if (!err && l.memory_given)
        err = cg_set_memory_limit(&g, l.memory > 0 ? l.memory : 0,
                                  !l.swap_given ? 0 : l.swap < 0 ? LAB_UNLIMITED : l.swap);
    if (!err && l.pids_given)
        err = cg_set_pids_limit(&g, l.pids > 0 ? (long)l.pids : LAB_UNLIMITED);
    if (err < 0)
        die_errno(err, "update %s: %s", cli->id, g.what);
}

void rt_ps(struct rt_cli *cli, const struct rt_state *st)
{
    pid_t pids[1024];
    int n = rt_pids(st, pids, 1024);

    if (strcmp(cli->format, "json") == 0) {
        printf("[");
        for (int i = 0; i < n; i++)
            printf("%s%d", i ? "," : "", (int)pids[i]);
        printf("]\n");
        return;
    }
    if (strcmp(cli->format, "table"))
        rt_usage_error("ps --format %s: table or json", cli->format);
    printf("PID\n");
    for (int i = 0; i < n; i++)
        printf("%d\n", (int)pids[i]);
}

/* runc's createPidFile: the number alone, no newline (containerd reads it
 * with strconv.Atoi), written to a new file renamed into place. */
int rt_write_pid_file(const char *path, pid_t pid)
{
    char tmp[PATH_MAX], text[16];
    const char *slash = strrchr(path, '/');
    int fd, n, err = 0;

    if (path_printf(tmp, sizeof(tmp), "%.*s.%s", slash ? (int)(slash - path + 1) : 0, path,
                    slash ? slash + 1 : path) < 0)
        return -ENAMETOOLONG;
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_SYNC | O_CLOEXEC, 0644)) < 0)
        return -errno;
    n = snprintf(text, sizeof(text), "%d", (int)pid);
    if (write(fd, text, (size_t)n) != n)
        err = -EIO;
    close(fd);
    if (!err && rename(tmp, path) < 0)
        err = -errno;
    if (err)
        unlink(tmp);
    return err;
}

/* "KILL", "SIGKILL", "kill", "9": runc's parseSignal. */
int rt_parse_signal(const char *s)
{
    static const struct {
        const char *name;
        int sig;
    } names[] = {
        { "HUP", SIGHUP },     { "INT", SIGINT },       { "QUIT", SIGQUIT }, { "ILL", SIGILL },
        { "TRAP", SIGTRAP },   { "ABRT", SIGABRT },     { "BUS", SIGBUS },   { "FPE", SIGFPE },
        { "KILL", SIGKILL },   { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
        { "PIPE", SIGPIPE },   { "ALRM", SIGALRM },     { "TERM", SIGTERM }, { "CHLD", SIGCHLD },
        { "CONT", SIGCONT },   { "STOP", SIGSTOP },     { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN },
        { "TTOU", SIGTTOU },   { "URG", SIGURG },       { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
        { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },   { "WINCH", SIGWINCH }, { "IO", SIGIO },
        { "PWR", SIGPWR },     { "SYS", SIGSYS },
    };
    char *end;
    long n = strtol(s, &end, 10);

    if (*s && !*end)
        return n > 0 && n < NSIG ? (int)n : -EINVAL;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(s, names[i].name) == 0)
            return names[i].sig;
    return -EINVAL;
}

void rt_now_rfc3339(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    char secs[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    strftime(secs, sizeof(secs), "%Y-%m-%dT%H:%M:%S", gmtime_r(&ts.tv_sec, &tm));
    snprintf(buf, len, "%s.%09ldZ", secs, ts.tv_nsec);
}

/* ---- hooks ------------------------------------------------------------------ */

/* Whether create must stop the child before pivot_root for its hooks. */
static bool runtime_hooks(const struct oci_config *cfg)
{
    return cfg->nhooks[OCI_PRESTART] || cfg->nhooks[OCI_CREATE_RUNTIME];
}

/* One hook: its program with the state on stdin, within its timeout. */
static int run_hook(const struct oci_hook *h, const char *state, char *why, size_t len)
{
    char *const no_args[] = { (char *)h->path, NULL }, *const no_env[] = { NULL };
    int in[2], status, pidfd, err = 0;
    pid_t pid;

    if (pipe2(in, O_CLOEXEC) < 0 || (pid = fork()) < 0)
        return snprintf(why, len, "%s", strerror(errno)), -errno;
    if (pid == 0) {
        if (dup2(in[0], 0) < 0)
            _exit(127);
        execve(h->path, h->args ? h->args : no_args, h->env ? h->env : no_env);
        _exit(127);
    }
    close(in[0]);
    /* A hook that does not read its stdin must not kill us with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    (void)!write(in[1], state, strlen(state));
    close(in[1]);
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (h->timeout > 0 && pidfd >= 0 && proc_wait_pidfds(&pidfd, 1, h->timeout * 1000) > 0) {
        kill(pid, SIGKILL);
        err = -ETIMEDOUT;
        snprintf(why, len, "timed out after %d s", h->timeout);
    }
    if (pidfd >= 0)
        close(pidfd);
    if (proc_wait(pid, &status) < 0)
        return snprintf(why, len, "wait: %s", strerror(errno)), -ECHILD;
    if (!err && status != 0) {
        snprintf(why, len, "exit status %d", proc_exit_status(status));
        err = -EIO;
    }
    return err;
}

int rt_run_hooks(const struct rt_cli *cli, const struct oci_config *cfg, int kind,
                 const struct rt_state *st, const char *status, bool fatal)
{
    json_object *o;
    const char *state;
    char why[256];

    if (!cfg->nhooks[kind])
        return 0;
    o = state_json(cli->id, st, status);
    state = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    for (int i = 0; i < cfg->nhooks[kind]; i++) {
        const struct oci_hook *h = &cfg->hooks[kind][i];

        if (run_hook(h, state, why, sizeof(why)) == 0)
            continue;
        if (fatal) {
            json_object_put(o);
            die_msg("%s %s: %s hook %s: %s", cli->command, cli->id, oci_hook_names[kind],
                    h->path, why);
        }
        /* poststart, poststop: runtime-spec 1.0.2's runtime.md (the lab's
         * ociVersion) asks for a warning, and goes on. Since spec 1.3 a
         * poststart failure is an error that stops the container, as runc
         * has always made it. */
        warn_errno(0, "%s %s: %s hook %s: %s", cli->command, cli->id, oci_hook_names[kind],
                   h->path, why);
    }
    json_object_put(o);
    return 0;
}

void rt_state_hooks(const struct rt_cli *cli, const struct rt_state *st, int kind,
                    const char *status)
{
    struct oci_config cfg;

    if (!st->hooks || !st->hooks[0])
        return;
    if (oci_read_hooks_text(&cfg, st->hooks) == 0)
        rt_run_hooks(cli, &cfg, kind, st, status, false);
    else
        warn_errno(0, "%s %s: the state's hooks: %s", cli->command, cli->id, cfg.error);
    oci_free(&cfg);
}

/* ---- spec, features --------------------------------------------------------- */

/* runc spec: a config.json for the lab's busybox rootfs, in ./rootfs. */
int rt_spec(const char *bundle, bool rootless)
{
    static const char *const spec_template =
        "{\n"
        "  \"ociVersion\": \"" RT_OCI_VERSION "\",\n"
        "  \"process\": {\n"
        "    \"terminal\": false,\n"
        "    \"user\": { \"uid\": 0, \"gid\": 0 },\n"
        "    \"args\": [ \"sh\" ],\n"
        "    \"env\": [ \"PATH=" LAB_DEFAULT_PATH "\", \"TERM=xterm\" ],\n"
        "    \"cwd\": \"/\",\n"
        "    \"capabilities\": {\n"
        "      \"bounding\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ],\n"
        "      \"effective\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ],\n"
        "      \"permitted\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ]\n"
        "    },\n"
        "    \"rlimits\": [ { \"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024 } ],\n"
        "    \"noNewPrivileges\": true\n"
        "  },\n"
        "  \"root\": { \"path\": \"rootfs\", \"readonly\": true },\n"
        "  \"hostname\": \"lab\",\n"
        "  \"mounts\": [\n"
        "    { \"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\" },\n"
        "    { \"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
        "      \"options\": [ \"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\" ] },\n"
        "    { \"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\",\n"
        "      \"options\": [ \"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\",\n"
        "                   \"mode=0620\"%s ] },\n"
        "    { \"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\",\n"
        "      \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"mode=1777\",\n"
        "                   \"size=65536k\" ] },\n"
        "    { \"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\",\n"
        "      \"options\": [ \"nosuid\", \"noexec\", \"nodev\" ] },\n"
        "    { \"destination\": \"/sys\", \"type\": %s,\n"
        "      \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"ro\"%s ] }\n"
        "  ],\n"
        "  \"linux\": {\n"
        "%s"
        "    \"maskedPaths\": [ \"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\",\n"
        "      \"/proc/keys\",\n"
        "      \"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\",\n"
        "      \"/proc/sched_debug\", \"/sys/firmware\", \"/proc/scsi\" ],\n"
        "    \"readonlyPaths\": [ \"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\",\n"
        "      \"/proc/sysrq-trigger\" ],\n"
        "    \"namespaces\": [ { \"type\": \"pid\" }, { \"type\": \"network\" }, { \"type\": "
        "\"ipc\" },\n"
        "      { \"type\": \"uts\" }, { \"type\": \"mount\" }, { \"type\": \"cgroup\" }%s ]\n"
        "  }\n"
        "}\n";
    char path[PATH_MAX], maps[256] = "";
    FILE *f;
    int fd;

    if (rootless)
        snprintf(maps, sizeof(maps),
                 "    \"uidMappings\": [ { \"containerID\": 0, \"hostID\": %u, \"size\": 1 } ],\n"
                 "    \"gidMappings\": [ { \"containerID\": 0, \"hostID\": %u, \"size\": 1 } ],\n",
                 (unsigned)getuid(), (unsigned)getgid());
    if (path_join(path, sizeof(path), bundle, "config.json") < 0)
        return -ENAMETOOLONG;
    /* runc spec refuses to overwrite: "File config.json exists. Remove it first". */
    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
        return -errno;
    if (!(f = fdopen(fd, "w")))
        return -errno;
    fprintf(f, spec_template, rootless ? "" : ", \"gid=5\"",
            rootless ? "\"none\", \"source\": \"/sys\"" : "\"sysfs\", \"source\": \"sysfs\"",
            rootless ? ", \"rbind\"" : "", maps, rootless ? ", { \"type\": \"user\" }" : "");
    return fclose(f) == 0 ? 0 : -EIO;
}

/* runc features: the runtime-spec's features document (features.md). */
void rt_features(void)
{
    printf("{\n"
           "  \"ociVersionMin\": \"1.0.0\",\n"
           "  \"ociVersionMax\": \"" RT_OCI_VERSION "\",\n"
           "  \"hooks\": [ \"prestart\", \"createRuntime\", \"createContainer\", "
           "\"startContainer\", \"poststart\", \"poststop\" ],\n"
           "  \"mountOptions\": [ \"ro\", \"rw\", \"nosuid\", \"suid\", \"nodev\", \"dev\","
           " \"noexec\", \"exec\", \"sync\", \"async\", \"dirsync\", \"remount\", \"mand\","
           " \"nomand\", \"atime\", \"noatime\", \"diratime\", \"nodiratime\", \"relatime\","
           " \"norelatime\", \"strictatime\", \"nostrictatime\", \"bind\", \"rbind\","
           " \"private\", \"rprivate\", \"shared\", \"rshared\", \"slave\", \"rslave\","
           " \"unbindable\", \"runbindable\" ],\n"
           "  \"linux\": {\n"
           "    \"namespaces\": [ \"cgroup\", \"ipc\", \"mount\", \"network\", \"pid\", \"time\","
           " \"user\", \"uts\" ],\n"
           "    \"capabilities\": [");
    for (int cap = 0; cap < caps_count(); cap++)
        printf("%s \"CAP_%s\"", cap ? "," : "", caps_name(cap));
    printf(" ],\n"
           "    \"cgroup\": { \"v1\": true, \"v2\": true, \"systemd\": false },\n"
           "    \"seccomp\": { \"enabled\": true, \"actions\": [ \"SCMP_ACT_ALLOW\","
           " \"SCMP_ACT_ERRNO\", \"SCMP_ACT_KILL\", \"SCMP_ACT_KILL_PROCESS\","
           " \"SCMP_ACT_KILL_THREAD\", \"SCMP_ACT_LOG\", \"SCMP_ACT_TRACE\", \"SCMP_ACT_TRAP\" ],\n"
           "      \"operators\": [ \"SCMP_CMP_EQ\", \"SCMP_CMP_GE\", \"SCMP_CMP_GT\","
           " \"SCMP_CMP_LE\", \"SCMP_CMP_LT\", \"SCMP_CMP_MASKED_EQ\", \"SCMP_CMP_NE\" ] }\n"
           "  }\n"
           "}\n");
}

/* ---- the container's process, before it waits to be started ------------- */

/* Into the namespaces config.json names by path (podman's network, a pod's),
 * the user namespace first: the others' joins need the capabilities it
 * gives. */
void rt_child_join(struct container *c)
{
    const struct oci_config *cfg = c->oci;

    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < cfg->njoin; i++) {
            int fd;

            if ((cfg->join[i].flag == CLONE_NEWUSER) != (pass == 0))
                continue;
            if ((fd = open(cfg->join[i].path, O_RDONLY | O_CLOEXEC)) < 0)
                die("open the namespace %s", cfg->join[i].path);
            if (setns(fd, cfg->join[i].flag) < 0)
                die("setns(%s, %s)", cfg->join[i].path, ns_flag_names(cfg->join[i].flag));
            close(fd);
        }
}

/* config.json's mounts, in their order, beneath the rootfs; the default
 * devices where /dev is a new file system; linux.devices. */
void rt_child_mounts(struct container *c)
{
    const struct oci_config *cfg = c->oci;
    char what[PATH_MAX + 64];
    bool own_dev = false;
    int root_fd, err;

    if ((root_fd = open(c->root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        die("open the rootfs %s", c->root);
    for (int i = 0; i < cfg->nmounts; i++) {
        const struct oci_mount *m = &cfg->mounts[i];

        if (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0) {
            char dir[PATH_MAX];

            /* The container's own groups, read-only (cg_mount_view). */
            if (path_join(dir, sizeof(dir), c->root, m->destination) < 0 ||
                (err = path_open_beneath(root_fd, m->destination, true)) < 0)
                die_msg("mount cgroup on %s: bad path", m->destination);
            close(err);
            if (c->cg.ndirs && (err = cg_mount_view(&c->cg, dir)) < 0)
                die_errno(err, "%s", c->cg.what);
            continue;
        }
        if ((err = oci_mount(m, root_fd, cfg->bundle, what, sizeof(what))) < 0)
            die_errno(err, "%s", what);
        if (strcmp(m->destination, "/dev") == 0 && !m->bind)
            own_dev = true;
    }
    if (own_dev && (err = oci_default_devices(root_fd, what, sizeof(what))) < 0)
        die_errno(err, "%s", what);
    for (int i = 0; i < cfg->ndevices; i++)
        if ((err = oci_make_device(&cfg->devices[i], root_fd, what, sizeof(what))) < 0)
            die_errno(err, "%s", what);
    close(root_fd);
    say("%d mount(s) of config.json, %s", cfg->nmounts,
        own_dev ? "the default devices in /dev" : "/dev as given");
}

/* After pivot_root: sysctls first, while nothing is read-only yet, then
 * read-only and masked paths, hostname, the root read-only. runc's order
 * differs (libcontainer/standard_init_linux.go, Init: the root read-only,
 * hostname, sysctls, read-only paths, masked paths); /proc is a mount of
 * its own, so the result is the same. */
void rt_child_paths(struct container *c)
{
    const struct oci_config *cfg = c->oci;
    int err;

    for (int i = 0; i < cfg->nsysctl; i++)
        if ((err = oci_write_sysctl(cfg->sysctl[i].key, cfg->sysctl[i].value)) < 0)
            die_errno(err, "sysctl %s=%s", cfg->sysctl[i].key, cfg->sysctl[i].value);
    for (int i = 0; i < cfg->nreadonly; i++)
        if ((err = oci_readonly_path(cfg->readonly[i])) < 0)
            die_errno(err, "make %s read-only", cfg->readonly[i]);
    for (int i = 0; i < cfg->nmasked; i++)
        if ((err = oci_mask_path(cfg->masked[i])) < 0)
            die_errno(err, "mask %s", cfg->masked[i]);
    if (cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
        die("sethostname(\"%s\")", cfg->hostname);
    if (cfg->domainname && setdomainname(cfg->domainname, strlen(cfg->domainname)) < 0)
        die("setdomainname(\"%s\")", cfg->domainname);
    if (cfg->readonly_root && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
        die("make / read-only");
}

/* The bounding set, while we are still root with CAP_SETPCAP. */
static void drop_bounding(const struct oci_process *p)
{
    for (int cap = 0; cap < caps_count(); cap++)
        if (!(p->caps[OCI_BOUNDING] & (1ULL << cap)) &&
            prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            die("drop CAP_%s from the bounding set", caps_name(cap));
}

/* The other four sets of config.json (the lab's steps kept one set). */
static void apply_caps(const struct oci_process *p)
{
    struct __user_cap_header_struct head = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2] = { { 0 } };
    const uint64_t *caps = p->caps;

    for (int i = 0; i < 2; i++) {
        data[i].effective = (uint32_t)(caps[OCI_EFFECTIVE] >> (32 * i));
        data[i].permitted = (uint32_t)(caps[OCI_PERMITTED] >> (32 * i));
        data[i].inheritable = (uint32_t)(caps[OCI_INHERITABLE] >> (32 * i));
    }
    if (syscall(SYS_capset, &head, data) < 0)
        die("capset");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        die("clear the ambient capabilities");
    /* A capability joins the ambient set only if it is in the permitted
     * and inheritable ones; runc warns and goes on
     * (libcontainer/capabilities/capabilities.go; runc spec before 1.2
     * listed ambient capabilities and no inheritable ones), and so do we. */
    for (int cap = 0; cap < caps_count(); cap++)
        if ((caps[OCI_AMBIENT] & (1ULL << cap)) &&
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
            say("CAP_%s not raised in the ambient set: %s", caps_name(cap), strerror(errno));
}

/* The process's limits, user, capabilities, umask, directory and
 * environment. The user changes with the capabilities kept, as in runc's
 * finalizeNamespace (libcontainer/init_linux.go: bounding set, keep caps,
 * the user, then the capabilities); its other steps' order differs. */
void rt_child_process(struct container *c, const struct oci_process *p)
{
    char oom[16];

    for (int i = 0; i < p->nrlimits; i++)
        if (setrlimit(p->rlimits[i].resource, &p->rlimits[i].limit) < 0)
            die("setrlimit %d", p->rlimits[i].resource);
    snprintf(oom, sizeof(oom), "%d", p->oom_score_adj);
    if (p->has_oom_score_adj && file_write("/proc/self/oom_score_adj", oom) < 0)
        die("write /proc/self/oom_score_adj");
    drop_bounding(p);
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        die("prctl(PR_SET_KEEPCAPS)");
    /* In a user namespace whose setgroups is "deny", groups stay as they are. */
    if (setgroups((size_t)p->ngroups, p->groups) < 0 && !(errno == EPERM && c->oci->nuidmap))
        die("setgroups");
    if (setresgid(p->gid, p->gid, p->gid) < 0 || setresuid(p->uid, p->uid, p->uid) < 0)
        die("become %u:%u", (unsigned)p->uid, (unsigned)p->gid);
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        die("prctl(PR_SET_KEEPCAPS, 0)");
    apply_caps(p);
    if (p->umask >= 0)
        umask((mode_t)p->umask);
    if (chdir(p->cwd) < 0)
        die("chdir %s", p->cwd);
    if (clearenv() != 0)
        die("clear the environment");
    for (int i = 0; p->env[i]; i++)
        if (putenv(p->env[i]) != 0)
            die("set %s", p->env[i]);
}

/* The program, found now on the container's PATH, so that a missing one
 * fails create (as runc's exec.LookPath does), not start. */
void rt_child_find_program(const struct oci_process *p, char *path, size_t len)
{
    const char *search = getenv("PATH");
    char dirs[4096], *dir, *save = NULL;

    if (strchr(p->args[0], '/')) {
        snprintf(path, len, "%s", p->args[0]);
        if (access(path, X_OK) < 0)
            die_status(LAB_EXIT_NOTFOUND, errno, "exec: \"%s\": stat %s", p->args[0], path);
        return;
    }
    snprintf(dirs, sizeof(dirs), "%s", search ? search : LAB_DEFAULT_PATH);
    for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
        if (path_join(path, len, dir, p->args[0]) == 0 && access(path, X_OK) == 0)
            return;
    die_msg("exec: \"%s\": executable file not found in $PATH: no such file or directory",
            p->args[0]);
}

/* ---- create, from the runtime's side --------------------------------------- */

static void remove_state_dir(const char *dir)
{
    static const char *const files[] = { RT_STATE_FILE, RT_FIFO, "." RT_STATE_FILE ".new",
                                         RT_PLAN_FILE, "." RT_PLAN_FILE ".new" };
    char path[PATH_MAX];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (path_join(path, sizeof(path), dir, files[i]) == 0)
            (void)unlink(path);
    if (rmdir(dir) < 0 && errno != ENOENT)
        warn_errno(errno, "remove %s", dir);
}

/* A create killed half-way leaves no state, only the plan of its groups:
 * delete --force removes them by it. */
static void remove_planned_groups(const struct rt_cli *cli)
{
    char text[4096], *cursor = text, *key, *value;
    int dir = open(cli->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dir < 0)
        return;
    if (kv_read(dir, RT_PLAN_FILE, text, sizeof(text)) == 0)
        while (kv_next(&cursor, &key, &value) > 0)
            if (strcmp(key, "cgroup") == 0)
                (void)cg_remove_path(value);
    close(dir);
}

void rt_remove_half_made(const struct rt_cli *cli)
{
    remove_planned_groups(cli);
    rt_remove_state(cli);
}

void rt_remove_state(const struct rt_cli *cli)
{
    remove_state_dir(cli->dir);
    /* The last container gone, the root goes too (and the lab's run dir,
     * if nothing else is in it): the host as it was. */
    if (rmdir(cli->root) == 0 && strcmp(cli->root, RT_DEFAULT_ROOT) == 0)
        (void)rmdir(LAB_RUN_DIR);
}

/* die() during create: what was made goes (the state dir last). */
static struct {
    struct container *c;
    char dir[PATH_MAX];
} undo;

static void undo_create(void *arg)
{
    struct container *c = arg;
    int status;

    if (c->pid > 0) {
        (void)kill(c->pid, SIGKILL);
        (void)waitpid(c->pid, &status, 0);
    }
    (void)cg_remove(&c->cg);
    if (undo.dir[0])
        remove_state_dir(undo.dir);
}

static void make_cgroup(struct container *c, const struct rt_cli *cli)
{
    /* The freezer, for pause: a hierarchy of its own on v1; on v2 every
     * group has cgroup.freeze, and cg_detect finds no "freezer". */
    static const char *const controllers[] = { "cpu", "memory", "pids", "freezer" };
    const struct oci_config *cfg = c->oci;
    char path[PATH_MAX];
    int err;

    if (cfg->cgroups_path && strchr(cfg->cgroups_path, ':'))
        die_msg("create %s: cgroupsPath %s: systemd's form is not supported", cli->id,
                cfg->cgroups_path);
    if (path_printf(path, sizeof(path), "%s", cfg->cgroups_path && cfg->cgroups_path[0]
                                                  ? cfg->cgroups_path
                                                  : "") < 0 ||
        (!path[0] && path_printf(path, sizeof(path), "lab-oci/%s", cli->id) < 0))
        die_msg("create %s: cgroupsPath too long", cli->id);
    struct cg_layout l[4];
    char text[4096], file[PATH_MAX], dir[PATH_MAX];
    struct kv_out plan;
    int n = 0;

    /* The groups' places first, in root/id: a create killed before its
     * state is written leaves them for delete --force to find. */
    kv_init(&plan, text, sizeof(text));
    for (int i = 0; i < 4; i++) {
        if ((err = cg_detect(&l[n], controllers[i])) < 0 && i == 3)
            continue; /* no v1 freezer: v2's cgroup.freeze */
        if (err < 0)
            die_errno(err, "create %s: find the cgroup %s controller", cli->id, controllers[i]);
        if (path_join(dir, sizeof(dir), l[n].root, path) < 0)
            die_msg("create %s: cgroupsPath too long", cli->id);
        kv_put(&plan, "cgroup", "%s", dir);
        n++;
    }
    if (path_join(file, sizeof(file), cli->dir, RT_PLAN_FILE) < 0 ||
        (err = kv_write(file, &plan)) < 0)
        die_errno(-ENAMETOOLONG, "create %s: write %s", cli->id, RT_PLAN_FILE);
    for (int i = 0; i < n; i++) {
        err = i == 0 ? cg_create_at(&c->cg, &l[i], path) : cg_add_controller(&c->cg, &l[i]);
        if (err == -EEXIST)
            die_msg("create %s: cgroup %s exists already", cli->id, path);
        if (err < 0)
            die_errno(err, "create %s: %s", cli->id, c->cg.what);
    }
    if ((err = cg_set_cpu_limit(&c->cg, cfg->cpu_quota_us, cfg->cpu_period_us)) < 0 ||
        (err = cg_set_memory_limit(&c->cg, cfg->memory_bytes, cfg->memory_swap_bytes)) < 0 ||
        (err = cg_set_pids_limit(&c->cg, cfg->pids_limit)) < 0)
        die_errno(err, "create %s: %s", cli->id, c->cg.what);
}

/* What the config asks that the lab refuses before anything is made. */
static void check_config(struct container *c, const struct rt_cli *cli)
{
    const struct oci_config *cfg = c->oci;
    int have = cfg->ns_new | cfg->ns_joined;

    if (!cfg->has_process)
        die_msg("create %s: config.json: process: missing", cli->id);
    /* runc's checks (utils_linux.go, checkTerminal): create detaches, so a
     * terminal's other end must go somewhere. */
    if (cfg->process.terminal && !cli->console_socket)
        die_msg("create %s: cannot allocate tty if runc will detach without setting console "
                "socket", cli->id);
    if (!cfg->process.terminal && cli->console_socket)
        die_msg("create %s: cannot use console socket if runc will not detach or allocate tty",
                cli->id);
    if (cfg->ns_new & CLONE_NEWTIME)
        die_msg("create %s: config.json: linux.namespaces[time]: not supported", cli->id);
    for (int i = 0; i < cfg->nsysctl; i++) {
        int ns = oci_sysctl_namespace(cfg->sysctl[i].key);

        if (!ns || !(have & ns))
            die_msg("create %s: config.json: sysctl %s is not in a separate kernel namespace",
                    cli->id, cfg->sysctl[i].key);
    }
}

/* --root, and its parents: mkdir -p. */
static int make_root(const char *root)
{
    char path[PATH_MAX];

    if (path_printf(path, sizeof(path), "%s", root) < 0)
        return -ENAMETOOLONG;
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char end = *p;

        *p = '\0';
        if (mkdir(path, 0711) < 0 && errno != EEXIST)
            return -errno;
        if (!end)
            return 0;
        *p = end;
    }
}

void rt_create_begin(struct container *c, const struct rt_cli *cli)
{
    char err_text[512];
    int err;

    memset(c, 0, sizeof(*c));
    c->fifo = -1;
    c->cg.dir_fd = -1;
    c->hooks_go[0] = c->hooks_go[1] = -1;
    undo.c = c;
    lab_set_cleanup(undo_create, c);
    if (geteuid() != 0)
        die_msg("create %s: the lab's runtime runs as root", cli->id);
    if (!(c->oci = calloc(1, sizeof(*c->oci))))
        die("create %s: memory", cli->id);
    if (oci_read(c->oci, cli->bundle) < 0)
        die_msg("create %s: config.json: %s", cli->id, c->oci->error);
    c->oci->id = cli->id;
    check_config(c, cli);
    c->console = -1;
    if (cli->console_socket && (c->console = rt_connect_console(cli->console_socket)) < 0)
        die_errno(c->console, "create %s: connect to the console socket %s", cli->id,
                  cli->console_socket);
    c->root = c->oci->rootfs_real;
    memcpy(c->opts.uidmap, c->oci->uidmap, sizeof(c->opts.uidmap));
    memcpy(c->opts.gidmap, c->oci->gidmap, sizeof(c->opts.gidmap));
    c->opts.nuidmap = c->oci->nuidmap;
    c->opts.ngidmap = c->oci->ngidmap;
    if (c->oci->seccomp &&
        !(c->seccomp = oci_seccomp_compile(c->oci->seccomp, err_text, sizeof(err_text))))
        die_msg("create %s: config.json: %s", cli->id, err_text);
    /* The state directory, root/id: its mkdir claims the id. */
    if ((err = make_root(cli->root)) < 0)
        die_errno(err, "create %s: mkdir %s", cli->id, cli->root);
    if (mkdir(cli->dir, 0711) < 0) {
        if (errno == EEXIST)
            die_msg("create %s: container with given ID already exists", cli->id);
        die("create %s: mkdir %s", cli->id, cli->dir);
    }
    snprintf(undo.dir, sizeof(undo.dir), "%s", cli->dir);
    make_cgroup(c, cli);
    if ((err = sync_open(&c->sync)) < 0 || (err = ns_snapshot(&c->host_ns)) < 0 ||
        (runtime_hooks(c->oci) && pipe2(c->hooks_go, O_CLOEXEC) < 0 && (err = -errno)))
        die_errno(err, "create %s: a sync pipe", cli->id);
}

static ssize_t read_byte(int fd, char *byte)
{
    ssize_t n;

    do
        n = read(fd, byte, 1);
    while (n < 0 && errno == EINTR);
    return n;
}

/* The state the hooks get while the container is made. */
static void state_of(const struct container *c, pid_t pid, struct rt_state *st)
{
    memset(st, 0, sizeof(*st));
    st->pid = pid;
    st->bundle = c->oci->bundle;
    st->rootfs = c->oci->rootfs_real;
    st->created = "";
    st->annotations = c->oci->annotations;
}

void rt_create_wait_ready(struct container *c, const struct rt_cli *cli)
{
    struct rt_state st;
    char byte;
    ssize_t n;
    int status;

    if (c->hooks_go[0] >= 0)
        close(c->hooks_go[0]);
    if (sync_release(&c->sync) < 0)
        die("release the container's process");
    /* "H": its mounts are made, before pivot_root: prestart and
     * createRuntime now, with the status runc gives them (creating). */
    if ((n = read_byte(c->sync.ready_rd, &byte)) == 1 && byte == 'H') {
        state_of(c, c->pid, &st);
        rt_run_hooks(cli, c->oci, OCI_PRESTART, &st, "creating", true);
        rt_run_hooks(cli, c->oci, OCI_CREATE_RUNTIME, &st, "creating", true);
        if (write(c->hooks_go[1], "G", 1) != 1)
            die("release the container's process after the hooks");
        close(c->hooks_go[1]);
        n = read_byte(c->sync.ready_rd, &byte);
    }
    /* "R": set up. End of file: it died trying, and has said why on
     * stderr (and in --log) already. */
    if (n == 1)
        return;
    if (waitpid(c->pid, &status, 0) == c->pid)
        c->pid = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        undo_create(c);
        exit(RT_EXIT_FAILED);
    }
    die_msg("the container's process ended before it was set up (%s)",
            WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exit 0");
}


void rt_create_end(struct container *c)
{
    lab_set_cleanup(NULL, NULL);
    undo.dir[0] = '\0';
    if (c->fifo >= 0)
        close(c->fifo);
    /* The child has its own copy; ours goes. */
    oci_seccomp_release(c->seccomp);
    c->seccomp = NULL;
    oci_free(c->oci);
    free(c->oci);
    c->oci = NULL;
}

const struct rt_state *rt_check_startable(const struct rt_cli *cli, const struct rt_state *st,
                                          const char *status)
{
    if (strcmp(status, "stopped") == 0)
        die_msg("start %s: cannot start a container that has stopped", cli->id);
    if (strcmp(status, "running") == 0)
        die_msg("start %s: cannot start an already running container", cli->id);
    return st;
}

int rt_signal_of(const struct rt_cli *cli)
{
    const char *name = cli->nargs > 0 ? cli->args[0] : "SIGTERM";
    int sig = rt_parse_signal(name);

    if (sig < 0)
        die_msg("kill %s: invalid signal: %s", cli->id, name);
    return sig;
}

void rt_spec_command(const struct rt_cli *cli)
{
    int err = rt_spec(cli->bundle, cli->rootless);

    if (err == -EEXIST)
        die_msg("spec: File config.json exists. Remove it first");
    if (err < 0)
        die_errno(err, "spec: write %s/config.json", cli->bundle);
}

/* ---- the container's process: its first and last steps before the wait ------- */

void rt_child_begin(struct container *c)
{
    int err;

    proc_child_stack_note();
    lab_enter_child();
    if ((err = sig_reset()) < 0)
        die_errno(err, "reset signal dispositions");
    /* Sync point GO: the id maps are written, the group is ours. No
     * parent-death signal: this process outlives create. */
    if (c->hooks_go[1] >= 0)
        close(c->hooks_go[1]); /* create's: its end of file if create dies */
    if (sync_wait(&c->sync) < 0)
        _exit(RT_EXIT_FAILED);
    sync_close(&c->sync);
    if (ns_not_new(&c->host_ns, CLONE_NEWNS))
        die_msg("still in the host's mount namespace: refusing to change the host");
    if (c->oci->ns_new & CLONE_NEWUSER &&
        (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
        die("become root of the user namespace");
    /* Its root is the group we are in now: ours. */
    if (c->oci->ns_new & CLONE_NEWCGROUP && unshare(CLONE_NEWCGROUP) < 0)
        die("unshare(CLONE_NEWCGROUP)");
}

/* Set up: create may exit. Every descriptor goes but stdio, the FIFO and
 * --preserve-fds's (3, 4, ... passed on to the program, as runc does). */
/* The child's pid on the host, read before pivot_root from the host's
 * proc, which names it so: runtime-spec 1.0.2, the lab's ociVersion, asks
 * for the host's pid; spec 1.1 and later, and runc, give the hooks run in
 * the container the pid seen inside. */
static pid_t child_host_pid;

static void run_child_hooks(struct container *c, int kind, const char *command,
                            const char *status)
{
    struct rt_cli cli = { .command = command, .id = c->oci->id };
    struct rt_state st;

    if (!c->oci->nhooks[kind])
        return;
    state_of(c, child_host_pid, &st);
    rt_run_hooks(&cli, c->oci, kind, &st, status, true);
    signal(SIGPIPE, SIG_DFL); /* ignored for the hooks: not for the program */
}

void rt_child_create_hooks(struct container *c)
{
    char self[32], byte;
    long pid = 0;
    ssize_t n;

    n = readlink("/proc/self", self, sizeof(self) - 1);
    if (n > 0 && (self[n] = '\0', parse_number(self, "", INT_MAX, &pid) == 0))
        child_host_pid = (pid_t)pid;
    if (c->hooks_go[0] >= 0) {
        if (write(c->sync.ready_wr, "H", 1) != 1)
            die("ask create for its hooks");
        if (read_byte(c->hooks_go[0], &byte) != 1)
            _exit(RT_EXIT_FAILED); /* a hook failed: create has said why */
        close(c->hooks_go[0]);
    }
    run_child_hooks(c, OCI_CREATE_CONTAINER, "create", "creating");
}

void rt_child_start_hooks(struct container *c)
{
    run_child_hooks(c, OCI_START_CONTAINER, "start", "created");
}

void rt_child_ready(struct container *c, int preserve_fds)
{
    DIR *d;
    struct dirent *e;

    if (write(c->sync.ready_wr, "R", 1) != 1)
        die("tell create the container is set up");
    sync_ready(&c->sync);
    if (!(d = opendir("/proc/self/fd")))
        die("list /proc/self/fd");
    while ((e = readdir(d))) {
        long fd;

        if (parse_number(e->d_name, "", INT_MAX, &fd) < 0 || fd <= 2 || fd == dirfd(d) ||
            fd == c->fifo || fd < 3 + preserve_fds)
            continue;
        close(fd);
    }
    closedir(d);
}

/* ---- the terminal: --console-socket ------------------------------------------- */

int rt_connect_console(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd;

    if (strlen(path) >= sizeof(addr.sun_path))
        return -ENAMETOOLONG;
    strcpy(addr.sun_path, path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int err = -errno;

        close(fd);
        return err;
    }
    return fd;
}

/* The pty's master, with its name as the message, over the socket: one
 * SCM_RIGHTS descriptor, as conmon (src/ctrl.c) and go-runc (console.go)
 * read it. */
static int send_master(int sock, int master, const char *name)
{
    char control[CMSG_SPACE(sizeof(int))] = { 0 };
    struct iovec iov = { .iov_base = (void *)name, .iov_len = strlen(name) };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                          .msg_controllen = sizeof(control) };
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &master, sizeof(int));
    return sendmsg(sock, &msg, 0) < 0 ? -errno : 0;
}

void rt_child_terminal(struct container *c)
{
    char name[64];
    int master, slave, fd, err;

    if (c->console < 0)
        return;
    /* A pty of the container's own devpts (mounted newinstance): its
     * /dev/ptmx, after pivot_root. */
    if ((master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 || unlockpt(master) < 0 ||
        ptsname_r(master, name, sizeof(name)) != 0)
        die("open a terminal on /dev/ptmx");
    if ((slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
        die("open %s", name);
    /* /dev/console is the terminal too (runtime-spec, config-linux.md). */
    if ((fd = open("/dev/console", O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) >= 0)
        close(fd);
    if (mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0)
        die("bind %s on /dev/console", name);
    if ((err = send_master(c->console, master, name)) < 0)
        die_errno(err, "send the terminal to the console socket");
    close(master);
    close(c->console);
    c->console = -1;
    /* A session of its own, with the terminal as its controlling one. */
    if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
        die("make %s the controlling terminal", name);
    for (int i = 0; i < 3; i++)
        if (dup2(slave, i) < 0)
            die("dup2 the terminal to %d", i);
    close(slave);
}

/* ---- exec: a further process in a running container (runc exec) ----------- */

/* The namespaces of pid that are not the caller's: what setns must join
 * (joining one's own user namespace is an error). */
static int namespaces_to_join(pid_t pid)
{
    static const struct {
        const char *name;
        int flag;
    } kinds[] = { { "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS },   { "uts", CLONE_NEWUTS },
                  { "ipc", CLONE_NEWIPC },   { "net", CLONE_NEWNET },  { "pid", CLONE_NEWPID } };
    int flags = 0;

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        char theirs[64], ours[64];
        struct stat a, b;

        snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", (int)pid, kinds[i].name);
        snprintf(ours, sizeof(ours), "/proc/self/ns/%s", kinds[i].name);
        if (stat(theirs, &a) == 0 && stat(ours, &b) == 0 && a.st_ino != b.st_ino)
            flags |= kinds[i].flag;
    }
    return flags;
}

/* The process to run: --process FILE (what podman and containerd pass),
 * or the command after the id with the container's own environment. */
static void exec_process(struct rt_cli *cli, struct oci_config *cfg, struct oci_config *file,
                         struct oci_process *p)
{
    if (cli->process) {
        if (oci_read_process(file, cli->process, &file->process) < 0)
            die_msg("exec %s: %s", cli->id, file->error);
        *p = file->process;
        return;
    }
    if (cli->nargs < 1)
        rt_usage_error("exec %s: a command, or --process FILE", cli->id);
    *p = cfg->process;
    p->args = (char **)cli->args;
    p->terminal = false;
}

/* The exec'd process, in the container's namespaces (joined by our parent)
 * and, now, its groups and cgroup namespace: set up as config.json's
 * process, then the program. Does not return. */
static _Noreturn void exec_child(struct container *c, struct oci_process *p,
                                 const struct rt_state *st, const int *procs, int cgroup_ns)
{
    char program[PATH_MAX];
    int err;

    for (int i = 0; i < st->ncgroups; i++)
        if (write(procs[i], "0", 1) < 0)
            die("join the group %s", st->cgroups[i]);
    if (setns(cgroup_ns, CLONE_NEWCGROUP) < 0 && errno != EINVAL)
        die("setns(CLONE_NEWCGROUP)");
    if (!p->no_new_privs && c->seccomp && (err = oci_seccomp_load(c->seccomp)) < 0)
        die_errno(err, "load the seccomp filter");
    rt_child_process(c, p);
    if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        die("prctl(PR_SET_NO_NEW_PRIVS)");
    if (p->no_new_privs && c->seccomp && (err = oci_seccomp_load(c->seccomp)) < 0)
        die_errno(err, "load the seccomp filter");
    rt_child_find_program(p, program, sizeof(program));
    if (proc_close_on_exec() < 0)
        die("mark descriptors close-on-exec");
    execv(program, p->args);
    die_status(LAB_EXIT_NOEXEC, errno, "exec %s", program);
}

/* A first child joins the container's namespaces and forks the process
 * (a PID namespace takes in only the children of who joined it), tells
 * us its pid and exits: this process never leaves the host's namespaces,
 * and the process is ours to wait for as the subreaper, or conmon's. */
static pid_t exec_fork(struct container *c, struct oci_process *p, const struct rt_state *st,
                       int pidfd, const int *procs, int cgroup_ns)
{
    int report[2], flags = namespaces_to_join(st->pid), status;
    pid_t joiner, child = -1;

    if (pipe2(report, O_CLOEXEC) < 0 || (joiner = fork()) < 0)
        die("exec: fork");
    if (joiner == 0) {
        lab_enter_child();
        close(report[0]);
        if (flags && setns(pidfd, flags) < 0)
            die("setns(%s)", ns_flag_names(flags));
        if ((child = fork()) < 0)
            die("fork into the container");
        if (child == 0)
            exec_child(c, p, st, procs, cgroup_ns);
        _exit(write(report[1], &child, sizeof(child)) == sizeof(child) ? 0 : LAB_EXIT_FAILED);
    }
    close(report[1]);
    if (read(report[0], &child, sizeof(child)) != sizeof(child))
        child = -1;
    close(report[0]);
    if (proc_wait(joiner, &status) < 0 || child < 0)
        exit(RT_EXIT_FAILED); /* the joiner said why */
    return child;
}

int rt_exec(struct rt_cli *cli, const struct rt_state *st, const char *status)
{
    struct container c = { 0 };
    static struct oci_config cfg, file; /* large: not on the stack */
    struct oci_process p;
    char path[PATH_MAX], err_text[512];
    int pidfd, cgroup_ns, procs[CG_MAX_DIRS], wstatus, err;
    pid_t child;

    if (strcmp(status, "running") != 0)
        die_msg("exec %s: cannot exec in a %s container", cli->id, status);
    /* The container's config: its seccomp filter holds for every process. */
    if (oci_read(&cfg, st->bundle) < 0)
        die_msg("exec %s: config.json: %s", cli->id, cfg.error);
    exec_process(cli, &cfg, &file, &p);
    if (p.terminal)
        die_msg("exec %s: process.terminal: not supported by the lab's runtime", cli->id);
    if (cfg.seccomp && !(c.seccomp = oci_seccomp_compile(cfg.seccomp, err_text, sizeof(err_text))))
        die_msg("exec %s: config.json: %s", cli->id, err_text);
    c.oci = &cfg;
    /* Pinned, and the host's files opened, before anyone leaves the host. */
    pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0);
    if (pidfd < 0 || !record_alive(st->pid, st->start))
        die_msg("exec %s: container not running", cli->id);
    snprintf(path, sizeof(path), "/proc/%d/ns/cgroup", (int)st->pid);
    if ((cgroup_ns = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        die("exec %s: open %s", cli->id, path);
    for (int i = 0; i < st->ncgroups; i++)
        if (path_join(path, sizeof(path), st->cgroups[i], "cgroup.procs") < 0 ||
            (procs[i] = open(path, O_WRONLY | O_CLOEXEC)) < 0)
            die("exec %s: open %s", cli->id, path);
    /* Without --detach the process is ours to wait for: its parent, the
     * joiner, exits at once, and a subreaper adopts it. */
    if (!cli->detach && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        die("exec %s: prctl(PR_SET_CHILD_SUBREAPER)", cli->id);
    child = exec_fork(&c, &p, st, pidfd, procs, cgroup_ns);
    if (cli->pid_file && (err = rt_write_pid_file(cli->pid_file, child)) < 0)
        die_errno(err, "exec %s: write the pid file %s", cli->id, cli->pid_file);
    oci_seccomp_release(c.seccomp);
    oci_free(&cfg);
    oci_free(&file);
    if (cli->detach)
        return 0; /* the caller (conmon, the shim) is its subreaper */
    sig_forward_to(child);
    if (proc_wait(child, &wstatus) < 0)
        die("exec %s: wait", cli->id);
    return proc_exit_status(wstatus);
}
