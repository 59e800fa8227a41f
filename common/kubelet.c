/*
 * kubelet.c - the node's side of step 18's kubelet: each pod's directory,
 * its containers run through the OCI runtime of step 17, their status for
 * `get` and for the next kubelet.
 *
 * The kubelet never starts a container itself. It writes a bundle
 * (config.json, a rootfs) and calls the runtime, as a real kubelet calls
 * containerd, which calls runc: this program, as `step-18 --root ROOT/oci
 * create|start|kill|delete|exec`. Each container runs under a monitor, a
 * small process of its own that waits for it and writes down how it ended
 * (conmon's job for podman, the shim's for containerd): the container then
 * outlives the kubelet, and a new kubelet reads its end from the monitor.
 *
 *   ROOT/pods/POD/pod            the pod's record (kv.c): source, hash, owner
 *   ROOT/pods/POD/manifest.yaml  its copy of the manifest it was made from
 *   ROOT/pods/POD/status.json    the Pod, status included, as kubectl shows it
 *   ROOT/pods/POD/C/             a container: config.json, rootfs (an
 *                                overlay), upper, work, log, status, exit
 *
 * Here the plumbing; what the kubelet decides (the reconcile, the restarts,
 * the back-off, the phase) is the lesson, in steps/step-18-kubelet.c.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"

#define SANDBOX_NAME "POD" /* a container's name is a DNS label: never upper case */

long long kl_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Memory for the kubelet's own tables: none left is the end of it. */
static void *zalloc(size_t size)
{
    void *p = calloc(1, size);

    if (!p)
        die("allocate %zu bytes", size);
    return p;
}

static int pidfd_of(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void joined(char *buf, size_t len, const char *dir, const char *name)
{
    if (path_join(buf, len, dir, name) < 0)
        die_msg("%s/%s: path too long", dir, name);
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        die("mkdir %s", path);
}

/* rm -r of a directory of the kubelet's own (no mount beneath it). */
static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char sub[PATH_MAX];

    if (!d) {
        if (errno != ENOENT && errno != ENOTDIR)
            warn_errno(errno, "open %s", path);
        (void)unlink(path);
        return;
    }
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (path_join(sub, sizeof(sub), path, e->d_name) < 0)
            continue;
        if (e->d_type == DT_DIR)
            remove_tree(sub);
        else if (unlink(sub) < 0)
            warn_errno(errno, "remove %s", sub);
    }
    closedir(d);
    if (rmdir(path) < 0 && errno != ENOENT)
        warn_errno(errno, "remove %s", path);
}

static bool is_mount_point(const char *path)
{
    struct statx sx;

    return statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) == 0 &&
           (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
           (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* The kubelet's parent group goes once it holds no pod (the runtime's
 * delete takes a container's group, then its pod's once empty). */
static void remove_cgroup_parent(void)
{
    static const char *const controllers[] = { "cpu", "memory", "pids", "freezer" };
    struct cg_layout l;
    char path[PATH_MAX];

    for (size_t i = 0; i < sizeof(controllers) / sizeof(controllers[0]); i++)
        if (cg_detect(&l, controllers[i]) == 0 &&
            path_join(path, sizeof(path), l.root, KL_CGROUP_PARENT) == 0)
            (void)rmdir(path);
}

/* A kubelet that dies (a fork that fails, a path too long) leaves its pods,
 * as one that is stopped does, and takes its root away when none is left. */
static void teardown_on_error(void *k)
{
    kl_teardown(k);
}

void kl_setup(struct kubelet *k)
{
    char pods[PATH_MAX];

    make_dir(LAB_RUN_DIR);
    make_dir(k->root);
    if (!is_mount_point(k->root)) {
        if (mount(k->root, k->root, NULL, MS_BIND, NULL) < 0)
            die("bind %s on itself", k->root);
        lab_set_cleanup(teardown_on_error, k);
        if (mount(NULL, k->root, NULL, MS_PRIVATE, NULL) < 0)
            die("make %s a private mount", k->root);
    }
    lab_set_cleanup(teardown_on_error, k);
    joined(k->oci_root, sizeof(k->oci_root), k->root, "oci");
    joined(pods, sizeof(pods), k->root, "pods");
    make_dir(k->oci_root);
    make_dir(pods);
}

void kl_teardown(struct kubelet *k)
{
    char pods[PATH_MAX];

    lab_set_cleanup(NULL, NULL);
    joined(pods, sizeof(pods), k->root, "pods");
    if (rmdir(pods) < 0 && errno != ENOENT)
        return; /* pods outlive the kubelet: the next one adopts them */
    (void)rmdir(k->oci_root);
    remove_cgroup_parent();
    if (umount2(k->root, 0) < 0)
        warn_errno(errno, "umount %s", k->root);
    (void)rmdir(k->root);
    (void)rmdir(LAB_RUN_DIR); /* only if nothing else of the lab is there */
}

int kl_file_hash(const char *path, char *hash, size_t len)
{
    unsigned long long h = 0xcbf29ce484222325ULL;
    unsigned char buf[4096];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        for (ssize_t i = 0; i < n; i++)
            h = (h ^ buf[i]) * 0x100000001b3ULL;
    close(fd);
    if (n < 0)
        return -EIO;
    snprintf(hash, len, "%016llx", h);
    return 0;
}

static int copy_file(const char *from, const char *to)
{
    char buf[65536];
    int err = file_read(from, buf, sizeof(buf));
    int fd;

    if (err < 0)
        return err;
    if ((fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return -errno;
    size_t len = strlen(buf);
    err = write(fd, buf, len) == (ssize_t)len ? 0 : -EIO;
    close(fd);
    return err;
}

/* ---- the desired state: the manifests ---------------------------------------- */

/* A manifest the kubelet refused, said once until the file changes. */
static char refused[KL_MAX_PODS][PATH_MAX + 20];
static int nrefused;

static void refuse_once(const char *file, const char *hash, const char *why)
{
    char key[PATH_MAX + 20];

    snprintf(key, sizeof(key), "%s@%s", file, hash);
    for (int i = 0; i < nrefused; i++)
        if (strcmp(refused[i], key) == 0)
            return;
    if (nrefused < KL_MAX_PODS)
        snprintf(refused[nrefused++], sizeof(refused[0]), "%s", key);
    warn_errno(0, "%s: %s: skipped", file, why);
}

/* The kubelet's file source skips dot files; the lab reads *.yaml. */
static int is_manifest(const struct dirent *e)
{
    size_t n = strlen(e->d_name);

    return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".yaml") == 0;
}

/* The desired state: every manifest of the directory, read again. */
int kl_manifests(const struct kubelet *k, struct kl_wanted *w, int max)
{
    struct dirent **names;
    struct k8s_pod *pod = zalloc(sizeof(*pod));
    int n = 0, found = scandir(k->manifests, &names, is_manifest, alphasort);

    for (int i = 0; i < found; i++) {
        struct kl_wanted *x = &w[n];
        if (n < max && path_join(x->file, sizeof(x->file), k->manifests, names[i]->d_name) == 0 &&
            kl_file_hash(x->file, x->hash, sizeof(x->hash)) == 0) {
            if (k8s_read_manifest(pod, x->file) < 0) {
                refuse_once(x->file, x->hash, pod->error);
            } else {
                snprintf(x->name, sizeof(x->name), "%s", pod->name);
                x->replicaset = pod->is_replicaset;
                x->replicas = pod->replicas;
                n++;
            }
        }
        free(names[i]);
    }
    if (found >= 0)
        free(names);
    free(pod);
    return n;
}

/* ---- the containers of a pod ------------------------------------------------ */

static void container_init(struct kl_pod *p, struct kl_container *c, const char *name,
                           const struct k8s_container *spec)
{
    memset(c, 0, sizeof(*c));
    c->spec = spec;
    snprintf(c->id, sizeof(c->id), "%s_%s", p->name, name);
    joined(c->dir, sizeof(c->dir), p->dir, name);
    c->state = KL_WAITING;
    snprintf(c->reason, sizeof(c->reason), "ContainerCreating");
    c->monitor_fd = c->hook_fd = -1;
}

static void containers_init(struct kl_pod *p)
{
    container_init(p, &p->sandbox, SANDBOX_NAME, NULL);
    p->nc = p->spec.ncontainers;
    for (int i = 0; i < p->nc; i++)
        container_init(p, &p->c[i], p->spec.containers[i].name, &p->spec.containers[i]);
}

static void save_container(const struct kl_container *c)
{
    char text[2048], path[PATH_MAX];
    struct kv_out o;

    kv_init(&o, text, sizeof(text));
    kv_put(&o, "state", "%d", c->state);
    kv_put(&o, "reason", "%s", c->reason);
    kv_put(&o, "ready", "%d", c->ready);
    kv_put(&o, "restarts", "%d", c->restarts);
    kv_put(&o, "started", "%lld", c->started);
    kv_put(&o, "monitor", "%d", c->monitor);
    kv_put(&o, "monitor_start", "%llu", c->monitor_start);
    const struct kl_end *ends[2] = { &c->end, &c->last };
    for (int i = 0; i < 2; i++) {
        if (!ends[i]->set)
            continue;
        const char *w = i ? "last" : "end";
        char key[32];
        snprintf(key, sizeof(key), "%s_code", w);
        kv_put(&o, key, "%d", ends[i]->exit_code);
        snprintf(key, sizeof(key), "%s_signal", w);
        kv_put(&o, key, "%d", ends[i]->signal);
        snprintf(key, sizeof(key), "%s_started", w);
        kv_put(&o, key, "%lld", ends[i]->started);
        snprintf(key, sizeof(key), "%s_finished", w);
        kv_put(&o, key, "%lld", ends[i]->finished);
        snprintf(key, sizeof(key), "%s_reason", w);
        kv_put(&o, key, "%s", ends[i]->reason);
    }
    if (access(c->dir, F_OK) < 0)
        return; /* not made yet */
    joined(path, sizeof(path), c->dir, "status");
    if (kv_write(path, &o) < 0)
        warn_errno(EIO, "write %s", path);
}

static long long number(const char *v)
{
    char *end;
    long long n = strtoll(v, &end, 10);

    return *end ? 0 : n;
}

static void load_end(struct kl_end *e, const char *field, const char *value)
{
    e->set = true;
    if (strcmp(field, "code") == 0)
        e->exit_code = (int)number(value);
    else if (strcmp(field, "signal") == 0)
        e->signal = (int)number(value);
    else if (strcmp(field, "started") == 0)
        e->started = number(value);
    else if (strcmp(field, "finished") == 0)
        e->finished = number(value);
    else if (strcmp(field, "reason") == 0)
        snprintf(e->reason, sizeof(e->reason), "%s", value);
}

static void load_container(struct kl_container *c)
{
    char text[2048], path[PATH_MAX], *cur = text, *key, *value;

    joined(path, sizeof(path), c->dir, "status");
    if (kv_read(AT_FDCWD, path, text, sizeof(text)) < 0)
        return; /* never started */
    while (kv_next(&cur, &key, &value) > 0) {
        if (strcmp(key, "state") == 0)
            c->state = (enum kl_state)number(value);
        else if (strcmp(key, "reason") == 0)
            snprintf(c->reason, sizeof(c->reason), "%s", value);
        else if (strcmp(key, "ready") == 0)
            c->ready = number(value);
        else if (strcmp(key, "restarts") == 0)
            c->restarts = (int)number(value);
        else if (strcmp(key, "started") == 0)
            c->started = number(value);
        else if (strcmp(key, "monitor") == 0)
            c->monitor = (pid_t)number(value);
        else if (strcmp(key, "monitor_start") == 0)
            c->monitor_start = strtoull(value, NULL, 10);
        else if (strncmp(key, "end_", 4) == 0)
            load_end(&c->end, key + 4, value);
        else if (strncmp(key, "last_", 5) == 0)
            load_end(&c->last, key + 5, value);
    }
    /* A running container whose monitor still runs: watch it again. */
    if (c->state == KL_RUNNING && record_alive(c->monitor, c->monitor_start))
        c->monitor_fd = pidfd_of(c->monitor);
}

/* ---- pods ---------------------------------------------------------------------- */

static void pod_record(const struct kl_pod *p)
{
    char text[4096], path[PATH_MAX];
    struct kv_out o;

    kv_init(&o, text, sizeof(text));
    kv_put(&o, "name", "%s", p->name);
    kv_put(&o, "source", "%s", p->source);
    kv_put(&o, "hash", "%s", p->hash);
    kv_put(&o, "owner", "%s", p->owner);
    kv_put(&o, "created", "%lld", p->created);
    kv_put(&o, "terminating", "%d", p->terminating);
    /* The grace period's end, on the wall clock: a new kubelet keeps it. */
    if (p->terminating)
        kv_put(&o, "grace_end", "%lld", kl_wall_ms() + (p->grace_deadline - proc_now_ms()));
    joined(path, sizeof(path), p->dir, "pod");
    if (kv_write(path, &o) < 0)
        warn_errno(EIO, "write %s", path);
}

static void add_pod(struct kubelet *k, struct kl_pod *p)
{
    if (k->npods == KL_MAX_PODS)
        die_msg("more than %d pods", KL_MAX_PODS);
    k->pods[k->npods++] = p;
}

struct kl_pod *kl_pod_new(struct kubelet *k, const char *name, const char *source,
                          const char *hash, const char *owner)
{
    struct kl_pod *p = zalloc(sizeof(*p));
    char pods[PATH_MAX], copy[PATH_MAX];

    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->source, sizeof(p->source), "%s", source);
    snprintf(p->hash, sizeof(p->hash), "%s", hash);
    snprintf(p->owner, sizeof(p->owner), "%s", owner);
    joined(pods, sizeof(pods), k->root, "pods");
    joined(p->dir, sizeof(p->dir), pods, name);
    make_dir(p->dir);
    joined(copy, sizeof(copy), p->dir, "manifest.yaml");
    int err = copy_file(source, copy);
    if (err < 0 || k8s_read_manifest(&p->spec, copy) < 0) {
        remove_tree(p->dir);
        free(p);
        if (err < 0)
            warn_errno(-err, "pod %s: copy %s", name, source);
        return NULL; /* the file changed under us: the next pass sees it */
    }
    p->created = kl_wall_ms();
    p->phase = "Pending";
    containers_init(p);
    pod_record(p);
    add_pod(k, p);
    return p;
}

static struct kl_pod *adopt_pod(const char *dir, const char *name)
{
    struct kl_pod *p = zalloc(sizeof(*p));
    char text[4096], path[PATH_MAX], *cur = text, *key, *value;

    snprintf(p->name, sizeof(p->name), "%s", name);
    joined(p->dir, sizeof(p->dir), dir, name);
    joined(path, sizeof(path), p->dir, "pod");
    int err = kv_read(AT_FDCWD, path, text, sizeof(text));
    while (err >= 0 && (err = kv_next(&cur, &key, &value)) > 0) {
        if (strcmp(key, "source") == 0)
            snprintf(p->source, sizeof(p->source), "%s", value);
        else if (strcmp(key, "hash") == 0)
            snprintf(p->hash, sizeof(p->hash), "%s", value);
        else if (strcmp(key, "owner") == 0)
            snprintf(p->owner, sizeof(p->owner), "%s", value);
        else if (strcmp(key, "created") == 0)
            p->created = number(value);
        else if (strcmp(key, "terminating") == 0)
            p->terminating = number(value);
        else if (strcmp(key, "grace_end") == 0)
            p->grace_deadline = proc_now_ms() + (number(value) - kl_wall_ms());
    }
    joined(path, sizeof(path), p->dir, "manifest.yaml");
    if (err < 0 || k8s_read_manifest(&p->spec, path) < 0) {
        warn_errno(err < 0 ? -err : EINVAL, "pod %s: its record in %s cannot be read", name,
                   p->dir);
        free(p);
        return NULL;
    }
    p->phase = "Pending";
    containers_init(p);
    load_container(&p->sandbox);
    for (int i = 0; i < p->nc; i++)
        load_container(&p->c[i]);
    return p;
}

void kl_pods_adopt(struct kubelet *k)
{
    char pods[PATH_MAX];
    struct dirent **names;

    joined(pods, sizeof(pods), k->root, "pods");
    int n = scandir(pods, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        struct kl_pod *p = names[i]->d_name[0] != '.' ? adopt_pod(pods, names[i]->d_name) : NULL;
        if (p) {
            add_pod(k, p);
            say("pod %s: adopted from the kubelet before (%s)", p->name,
                p->sandbox.monitor_fd >= 0 ? "its sandbox runs" : "its sandbox has ended");
        }
        free(names[i]);
    }
    if (n >= 0)
        free(names);
}

void kl_pod_forget(struct kubelet *k, struct kl_pod *p)
{
    for (int i = 0; i < k->npods; i++)
        if (k->pods[i] == p) {
            k->pods[i] = k->pods[--k->npods];
            break;
        }
    free(p);
}

/* ---- the runtime, called as a kubelet calls its CRI runtime ---------------------- */

/* A child of the kubelet gets the default signal mask back (the kubelet
 * blocks SIGTERM for its signalfd, and a mask survives execve). */
static void child_defaults(void)
{
    sigset_t none;

    lab_enter_child(); /* a die() here must not run the kubelet's cleanup */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
}

static _Noreturn void exec_runtime(const struct kubelet *k, const char *const *args)
{
    const char *argv[K8S_MAX_ARGS + 16];
    int n = 0;

    argv[n++] = k->self;
    argv[n++] = "--root";
    argv[n++] = k->oci_root;
    for (int i = 0; args[i] && n < (int)(sizeof(argv) / sizeof(argv[0])) - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    execv(k->self, (char *const *)argv);
    _exit(127);
}

/* The runtime, waited for, its output to out (or /dev/null): 0 or its status. */
static int runtime(const struct kubelet *k, int out, const char *const *args)
{
    pid_t pid = fork();
    int status;

    if (pid < 0)
        die("fork");
    if (pid == 0) {
        child_defaults();
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(out >= 0 ? out : null, 1);
        dup2(out >= 0 ? out : null, 2);
        exec_runtime(k, args);
    }
    if (proc_wait(pid, &status) < 0)
        die("wait for the runtime");
    return proc_exit_status(status);
}

static const char *image_rootfs(const struct kubelet *k, const char *image, char *buf, size_t len)
{
    const char *env = getenv("LAB_ROOTFS");

    if (strcmp(image, "busybox") == 0 || strncmp(image, "busybox:", 8) == 0) {
        char dir[PATH_MAX];
        if (env && *env)
            return env;
        snprintf(dir, sizeof(dir), "%s", k->self);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        return path_join(buf, len, dir, "rootfs/busybox") < 0 ? NULL : buf;
    }
    if (image[0] == '/')
        return image;
    return path_join(buf, len, k->manifests, image) < 0 ? NULL : buf; /* next to the manifests */
}

/* A fresh writable layer over the image: each run of a container starts
 * from the image, as a restarted container does in Kubernetes. */
static int mount_rootfs(const char *dir, const char *image)
{
    char upper[PATH_MAX], work[PATH_MAX], root[PATH_MAX], opts[3 * PATH_MAX + 64];

    joined(upper, sizeof(upper), dir, "upper");
    joined(work, sizeof(work), dir, "work");
    joined(root, sizeof(root), dir, "rootfs");
    remove_tree(upper);
    remove_tree(work);
    make_dir(upper);
    make_dir(work);
    make_dir(root);
    snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", image, upper, work);
    return mount("overlay", root, "overlay", 0, opts) < 0 ? -errno : 0;
}

static void unmount_rootfs(const char *dir)
{
    char root[PATH_MAX];

    joined(root, sizeof(root), dir, "rootfs");
    if (umount2(root, 0) < 0 && errno != EINVAL && errno != ENOENT)
        warn_errno(errno, "umount %s", root);
}

static json_object *strings(const char *const *v, int n)
{
    json_object *a = json_object_new_array();

    for (int i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_string(v[i]));
    return a;
}

static pid_t container_pid(const struct kl_container *c)
{
    char path[PATH_MAX], text[32];

    joined(path, sizeof(path), c->dir, "pid");
    return file_read(path, text, sizeof(text)) < 0 ? -1 : (pid_t)number(text);
}

/* linux.namespaces: the sandbox makes the pod's; a container joins them by
 * path, as the kubelet's containers join their sandbox's. */
static void join_sandbox(json_object *linux_, const struct kl_pod *p, bool sandbox)
{
    static const struct {
        const char *type, *file;
    } kinds[] = { { "ipc", "ipc" }, { "uts", "uts" }, { "network", "net" }, { "pid", "pid" } };
    json_object *nss = json_object_new_array();
    pid_t infra = sandbox ? -1 : container_pid(&p->sandbox);

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        bool net = strcmp(kinds[i].type, "network") == 0, pid = strcmp(kinds[i].type, "pid") == 0;
        if (net && p->spec.host_network)
            continue; /* hostNetwork: the node's own */
        json_object *ns = json_object_new_object();
        json_object_object_add(ns, "type", json_object_new_string(kinds[i].type));
        if (!sandbox && (!pid || p->spec.share_pid)) {
            char path[64];
            snprintf(path, sizeof(path), "/proc/%d/ns/%s", infra, kinds[i].file);
            json_object_object_add(ns, "path", json_object_new_string(path));
        }
        json_object_array_add(nss, ns);
    }
    json_object *mnt = json_object_new_object();
    json_object_object_add(mnt, "type", json_object_new_string("mount"));
    json_object_array_add(nss, mnt);
    json_object_object_add(linux_, "namespaces", nss);
}

static void add_volumes(json_object *mounts, const struct kl_pod *p, const struct k8s_container *s)
{
    for (int i = 0; i < s->nmounts; i++) {
        const char *host = NULL;
        for (int v = 0; v < p->spec.nvolumes; v++)
            if (strcmp(p->spec.volumes[v].name, s->mounts[i].volume) == 0)
                host = p->spec.volumes[v].host_path;
        json_object *m = json_object_new_object();
        json_object_object_add(m, "destination", json_object_new_string(s->mounts[i].path));
        json_object_object_add(m, "type", json_object_new_string("bind"));
        json_object_object_add(m, "source", json_object_new_string(host ? host : "/nonexistent"));
        const char *opts[] = { "rbind", s->mounts[i].readonly ? "ro" : "rw" };
        json_object_object_add(m, "options", strings(opts, 2));
        json_object_array_add(mounts, m);
    }
}

static void set_resources(json_object *linux_, const struct k8s_container *s)
{
    if (!s->cpu_millis && !s->memory_bytes)
        return;
    json_object *r = json_object_new_object();
    if (s->memory_bytes) {
        json_object *m = json_object_new_object();
        json_object_object_add(m, "limit", json_object_new_int64(s->memory_bytes));
        json_object_object_add(r, "memory", m);
    }
    if (s->cpu_millis) { /* the kubelet's: quota = millis * period / 1000 */
        json_object *c = json_object_new_object();
        json_object_object_add(c, "quota", json_object_new_int64(s->cpu_millis * 100));
        json_object_object_add(c, "period", json_object_new_int64(100000));
        json_object_object_add(r, "cpu", c);
    }
    json_object_object_add(linux_, "resources", r);
}

/* linux.cgroupsPath: the pod's group, and each container's below it, as the
 * kubelet's pod-level groups (kubepods/[QoS class/]pod<UID>/, its
 * --cgroups-per-qos) hold the containers containerd puts there. */
static void set_cgroup(json_object *linux_, const struct kl_pod *p, const struct kl_container *c)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/pod-%s/%s", KL_CGROUP_PARENT, p->name,
             c->id + strlen(p->name) + 1); /* POD_NAME: NAME, or POD for the sandbox */
    json_object_object_add(linux_, "cgroupsPath", json_object_new_string(path));
}

/* Docker's default capabilities, which containerd gives a pod's containers
 * too (moby: daemon/pkg/oci/caps/defaults.go;
 * containerd: pkg/oci/spec.go, defaultUnixCaps). */
static json_object *default_caps(void)
{
    static const char *const caps[] = {
        "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
        "CAP_MKNOD",  "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP",     "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
        "CAP_KILL",   "CAP_AUDIT_WRITE",
    };
    json_object *set = json_object_new_object();
    const char *kinds[] = { "bounding", "effective", "permitted" };

    for (int i = 0; i < 3; i++)
        json_object_object_add(set, kinds[i], strings(caps, sizeof(caps) / sizeof(caps[0])));
    return set;
}

static void set_process(json_object *proc, const struct kl_pod *p, const struct kl_container *c)
{
    const struct k8s_container *s = c->spec;
    const char *args[2 * K8S_MAX_ARGS], *env[K8S_MAX_ENV + 2];
    int n = 0, ne = 0;
    char hostname[280];

    if (!s) {
        args[n++] = "/bin/pause";
    } else {
        for (int i = 0; i < s->ncommand; i++)
            args[n++] = s->command[i];
        for (int i = 0; i < s->nargs; i++)
            args[n++] = s->args[i];
        if (n == 0)
            args[n++] = "sh"; /* the image's entrypoint: busybox's is sh */
    }
    json_object_object_add(proc, "args", strings(args, n));
    env[ne++] = "PATH=" LAB_DEFAULT_PATH;
    snprintf(hostname, sizeof(hostname), "HOSTNAME=%s", p->name);
    env[ne++] = hostname;
    for (int i = 0; s && i < s->nenv; i++)
        env[ne++] = s->env[i];
    json_object_object_add(proc, "env", strings(env, ne));
    json_object_object_add(proc, "cwd",
                           json_object_new_string(s && s->working_dir ? s->working_dir : "/"));
    json_object_object_add(proc, "capabilities", default_caps());
    /* allowPrivilegeEscalation defaults to true: no no_new_privs. */
    json_object_object_add(proc, "noNewPrivileges", json_object_new_boolean(0));
}

static void annotate(json_object *cfg, const struct kl_pod *p, const struct kl_container *c)
{
    json_object *a = json_object_new_object();
    char restarts[16];

    snprintf(restarts, sizeof(restarts), "%d", c->restarts);
    json_object_object_add(a, "io.kubernetes.pod.name", json_object_new_string(p->name));
    json_object_object_add(a, "io.kubernetes.container.name",
                           json_object_new_string(c->spec ? c->spec->name : SANDBOX_NAME));
    json_object_object_add(a, "io.kubernetes.container.restartCount",
                           json_object_new_string(restarts));
    json_object_object_add(cfg, "annotations", a);
}

/* The pod's /dev/shm, POD_DIR/shm: one tmpfs for all its containers, as
 * containerd's CRI plugin binds the sandbox's into each of them
 * (linuxContainerMounts, internal/cri/server/container_create.go): they
 * share the pod's IPC namespace, and POSIX shared memory lives in
 * /dev/shm. Made with the pod's first config, gone with the pod. */
static int pod_shm(const struct kl_pod *p, char *path, size_t len)
{
    joined(path, len, p->dir, "shm");
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -errno;
    if (!is_mount_point(path) && mount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                       "mode=1777,size=65536k") < 0)
        return -errno;
    return 0;
}

/* mounts[/dev/shm]: the pod's, bound, in place of a tmpfs of its own. */
static int share_pod_shm(json_object *mounts, const struct kl_pod *p)
{
    char shm[PATH_MAX];
    int err;

    if ((err = pod_shm(p, shm, sizeof(shm))) < 0)
        return err;
    for (size_t i = 0; i < json_object_array_length(mounts); i++) {
        json_object *m = json_object_array_get_idx(mounts, i), *dest;
        if (!json_object_object_get_ex(m, "destination", &dest) ||
            strcmp(json_object_get_string(dest), "/dev/shm") != 0)
            continue;
        const char *opts[] = { "rbind", "nosuid", "nodev", "noexec" };
        json_object_object_add(m, "type", json_object_new_string("bind"));
        json_object_object_add(m, "source", json_object_new_string(shm));
        json_object_object_add(m, "options", strings(opts, 4));
    }
    return 0;
}

/* config.json: the runtime's default spec, made the pod's. */
static int write_config(const struct kl_pod *p, const struct kl_container *c)
{
    char path[PATH_MAX];

    joined(path, sizeof(path), c->dir, "config.json");
    (void)unlink(path);
    if (rt_spec(c->dir, false) < 0)
        return -EIO;
    json_object *cfg = json_object_from_file(path), *proc, *root, *mounts, *linux_;
    if (!cfg || !json_object_object_get_ex(cfg, "process", &proc) ||
        !json_object_object_get_ex(cfg, "root", &root) ||
        !json_object_object_get_ex(cfg, "mounts", &mounts) ||
        !json_object_object_get_ex(cfg, "linux", &linux_)) {
        json_object_put(cfg);
        return -EINVAL;
    }
    set_process(proc, p, c);
    json_object_object_add(root, "readonly", json_object_new_boolean(0));
    if (c->spec) /* the uts namespace is the sandbox's, its hostname the pod's */
        json_object_object_del(cfg, "hostname");
    else
        json_object_object_add(cfg, "hostname", json_object_new_string(p->name));
    if (c->spec)
        add_volumes(mounts, p, c->spec);
    join_sandbox(linux_, p, !c->spec);
    set_cgroup(linux_, p, c);
    if (share_pod_shm(mounts, p) < 0) {
        json_object_put(cfg);
        return -EIO;
    }
    if (c->spec)
        set_resources(linux_, c->spec);
    annotate(cfg, p, c);
    int err = json_object_to_file_ext(path, cfg, JSON_C_TO_STRING_PRETTY) < 0 ? -EIO : 0;
    json_object_put(cfg);
    return err;
}

/* The monitor: the container's parent once create has exited (a subreaper),
 * in a session of its own, so that the container outlives the kubelet. It
 * writes how the container ended to C/exit, then exits itself. */
static _Noreturn void monitor_main(const struct kubelet *k, const struct kl_container *c, int ready)
{
    char log[PATH_MAX], pidfile[PATH_MAX], rtlog[PATH_MAX], exitfile[PATH_MAX];
    int status = 0;

    child_defaults();
    (void)setsid();
    (void)prctl(PR_SET_CHILD_SUBREAPER, 1);
    (void)prctl(PR_SET_NAME, "lab-monitor");
    joined(log, sizeof(log), c->dir, "log");
    joined(pidfile, sizeof(pidfile), c->dir, "pid");
    joined(rtlog, sizeof(rtlog), c->dir, "runtime.log");
    joined(exitfile, sizeof(exitfile), c->dir, "exit");
    int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (out < 0 || null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 ||
        dup2(ready, 3) < 0)
        _exit(1);
    ready = 3;
    (void)syscall(SYS_close_range, 4, ~0U, 0);
    (void)unlink(pidfile);
    (void)unlink(exitfile);
    pid_t rt = fork();
    if (rt == 0) {
        const char *args[] = { "--log", rtlog, "create", "--bundle", c->dir, "--pid-file", pidfile,
                               c->id, NULL };
        close(ready);
        exec_runtime(k, args);
    }
    if (rt < 0 || proc_wait(rt, &status) < 0 || proc_exit_status(status) != 0) {
        (void)write(ready, "F", 1);
        _exit(1);
    }
    pid_t pid = container_pid(c);
    (void)write(ready, "C", 1);
    close(ready);
    /* Every orphan of the container comes here: wait until none is left. */
    int end = -1;
    for (;;) {
        pid_t w = waitpid(-1, &status, 0);
        if (w == pid)
            end = status;
        else if (w < 0 && errno != EINTR)
            break;
    }
    char text[256];
    struct kv_out o;
    kv_init(&o, text, sizeof(text));
    kv_put(&o, "code", "%d", end < 0 ? 137 : proc_exit_status(end));
    kv_put(&o, "signal", "%d", end >= 0 && WIFSIGNALED(end) ? WTERMSIG(end) : 0);
    kv_put(&o, "finished", "%lld", kl_wall_ms());
    (void)kv_write(exitfile, &o);
    _exit(0);
}

/* The last line the runtime wrote to its --log: why create failed. */
static void runtime_error(const struct kl_container *c, char *buf, size_t len)
{
    char path[PATH_MAX], text[8192];

    joined(path, sizeof(path), c->dir, "runtime.log");
    snprintf(buf, len, "the runtime failed");
    if (file_read(path, text, sizeof(text)) < 0)
        return;
    text[strcspn(text, "\0")] = '\0';
    char *end = text + strlen(text);
    while (end > text && end[-1] == '\n')
        *--end = '\0';
    char *line = strrchr(text, '\n');
    snprintf(buf, len, "%s", line ? line + 1 : text);
}

static int create_and_start(struct kubelet *k, struct kl_container *c)
{
    int pipefd[2];
    char byte = 0;

    if (pipe2(pipefd, O_CLOEXEC) < 0)
        die("pipe");
    pid_t m = fork();
    if (m < 0)
        die("fork");
    if (m == 0)
        monitor_main(k, c, pipefd[1]);
    close(pipefd[1]);
    c->monitor = m;
    c->monitor_start = record_start_time(m);
    c->monitor_fd = pidfd_of(m);
    ssize_t n = read(pipefd[0], &byte, 1);
    close(pipefd[0]);
    if (n != 1 || byte != 'C')
        return -1;
    const char *start[] = { "start", c->id, NULL };
    return runtime(k, -1, start) == 0 ? 0 : -1;
}

/* A container that could not be made ends at once, as one that failed
 * (containerd's reason for it: StartError, exit code 128, in its
 * internal/cri/server/helpers.go). */
static void start_failed(struct kl_container *c, const char *why)
{
    warn_errno(0, "container %s: %s", c->id, why);
    c->state = KL_TERMINATED;
    c->end = (struct kl_end){ .set = true, .exit_code = 128, .started = c->started,
                              .finished = kl_wall_ms() };
    snprintf(c->end.reason, sizeof(c->end.reason), "StartError");
    unmount_rootfs(c->dir);
}

static int start_one(struct kubelet *k, struct kl_pod *p, struct kl_container *c,
                     const char *image)
{
    char buf[PATH_MAX];
    const char *lower = image_rootfs(k, image, buf, sizeof(buf));
    int err;

    make_dir(c->dir);
    c->started = kl_wall_ms();
    c->ready = false;
    c->term_sent = false;
    c->probe_hold = false;
    c->kill_at = 0;
    c->end.set = false;
    char why[PATH_MAX + 512];
    if (!lower || access(lower, X_OK) < 0) {
        snprintf(why, sizeof(why), "image %s: %s (the lab's kubelet knows busybox and directories)",
                 image, strerror(lower ? errno : ENAMETOOLONG));
        start_failed(c, why);
        return -1;
    }
    if ((err = mount_rootfs(c->dir, lower)) < 0) {
        snprintf(why, sizeof(why), "mount its rootfs over %s: %s", lower, strerror(-err));
        start_failed(c, why);
        return -1;
    }
    if (write_config(p, c) < 0 || create_and_start(k, c) < 0) {
        char error[512];
        runtime_error(c, error, sizeof(error));
        snprintf(why, sizeof(why), "create and start: %s", error);
        start_failed(c, why);
        kl_container_remove(k, c);
        return -1;
    }
    c->state = KL_RUNNING;
    c->reason[0] = '\0';
    save_container(c);
    return 0;
}

int kl_sandbox_start(struct kubelet *k, struct kl_pod *p)
{
    return start_one(k, p, &p->sandbox, "busybox");
}

int kl_container_start(struct kubelet *k, struct kl_pod *p, struct kl_container *c)
{
    return start_one(k, p, c, c->spec->image);
}

static bool has_ended(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    return fd < 0 || poll(&pfd, 1, 0) > 0;
}

bool kl_container_ended(struct kubelet *k, struct kl_container *c)
{
    char path[PATH_MAX], text[256], *cur = text, *key, *value;

    if (c->state != KL_RUNNING || !has_ended(c->monitor_fd))
        return false;
    if (c->monitor_fd >= 0) {
        (void)waitpid(c->monitor, NULL, WNOHANG); /* ours, if this kubelet made it */
        close(c->monitor_fd);
        c->monitor_fd = -1;
    }
    c->state = KL_TERMINATED;
    c->ready = false;
    c->end = (struct kl_end){ .set = true, .exit_code = 137, .started = c->started,
                              .finished = kl_wall_ms() };
    snprintf(c->end.reason, sizeof(c->end.reason), "ContainerStatusUnknown");
    joined(path, sizeof(path), c->dir, "exit");
    if (kv_read(AT_FDCWD, path, text, sizeof(text)) == 0) {
        while (kv_next(&cur, &key, &value) > 0)
            load_end(&c->end, key, value);
        /* The reasons containerd's CRI gives (internal/cri/server/helpers.go). */
        snprintf(c->end.reason, sizeof(c->end.reason), "%s",
                 c->end.exit_code == 0 ? "Completed" : "Error");
    }
    kl_container_remove(k, c);
    save_container(c);
    return true;
}

void kl_container_signal(struct kubelet *k, struct kl_container *c, int sig)
{
    char name[16];
    const char *args[] = { "kill", c->id, name, NULL };

    snprintf(name, sizeof(name), "%d", sig);
    (void)runtime(k, -1, args);
}

void kl_container_remove(struct kubelet *k, struct kl_container *c)
{
    const char *args[] = { "delete", "--force", c->id, NULL };

    (void)runtime(k, -1, args);
    unmount_rootfs(c->dir);
}

int kl_hook_start(struct kubelet *k, struct kl_container *c, enum kl_hook kind,
                  const char *const *argv, long long timeout_ms)
{
    const char *args[K8S_MAX_ARGS + 4];
    int n = 0;

    args[n++] = "exec";
    args[n++] = c->id;
    for (int i = 0; argv[i] && n < K8S_MAX_ARGS + 2; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        child_defaults();
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        exec_runtime(k, args);
    }
    c->hook = pid;
    c->hook_fd = pidfd_of(pid);
    c->hook_kind = kind;
    c->hook_deadline = proc_now_ms() + timeout_ms;
    return 0;
}

int kl_hook_ended(struct kl_container *c, int *status)
{
    int ws;

    if (c->hook_fd < 0)
        return 0;
    if (!has_ended(c->hook_fd)) {
        if (proc_now_ms() < c->hook_deadline)
            return 0;
        (void)syscall(SYS_pidfd_send_signal, c->hook_fd, SIGKILL, NULL, 0);
        (void)proc_wait(c->hook, &ws);
        *status = -1;
    } else {
        *status = proc_wait(c->hook, &ws) < 0 ? -1 : proc_exit_status(ws);
    }
    close(c->hook_fd);
    c->hook_fd = -1;
    c->hook_kind = KL_NO_HOOK;
    return 1;
}

void kl_pod_remove(struct kubelet *k, struct kl_pod *p)
{
    char shm[PATH_MAX];

    (void)k;
    joined(shm, sizeof(shm), p->dir, "shm");
    if (umount2(shm, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        warn_errno(errno, "umount %s", shm);
    remove_tree(p->dir);
    remove_cgroup_parent();
}

int kl_wait_fds(const struct kubelet *k, int *fds, int max, long long *deadline)
{
    int n = 0;
    long long now = proc_now_ms();

    *deadline = 0;
    for (int i = 0; i < k->npods; i++) {
        const struct kl_pod *p = k->pods[i];
        for (int j = -1; j < p->nc; j++) {
            const struct kl_container *c = j < 0 ? &p->sandbox : &p->c[j];
            if (c->monitor_fd >= 0 && c->state == KL_RUNNING && n < max)
                fds[n++] = c->monitor_fd;
            if (c->hook_fd >= 0 && n < max)
                fds[n++] = c->hook_fd;
            /* A probe that is due (and can run) is due now; the others
             * count only ahead: what is past was done by this pass. */
            bool probe = c->state == KL_RUNNING && c->spec && c->spec->nliveness &&
                         c->hook_fd < 0 && c->ready && !c->probe_hold;
            const long long when[] = { c->hook_fd >= 0 ? c->hook_deadline : 0, c->kill_at,
                                       p->terminating ? p->grace_deadline : 0 };
            for (size_t w = 0; w < sizeof(when) / sizeof(when[0]); w++)
                if (when[w] > now && (!*deadline || when[w] < *deadline))
                    *deadline = when[w];
            if (probe && (!*deadline || c->next_probe < *deadline))
                *deadline = c->next_probe > now ? c->next_probe : now;
        }
    }
    return n;
}

/* ---- the Pod as the API shows it: status.json -------------------------------- */

static json_object *timestamp(long long ms)
{
    char buf[32];
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_object_new_string(buf);
}

static json_object *terminated(const struct kl_end *e)
{
    json_object *t = json_object_new_object();

    json_object_object_add(t, "exitCode", json_object_new_int(e->exit_code));
    if (e->signal)
        json_object_object_add(t, "signal", json_object_new_int(e->signal));
    json_object_object_add(t, "reason", json_object_new_string(e->reason));
    json_object_object_add(t, "startedAt", timestamp(e->started));
    json_object_object_add(t, "finishedAt", timestamp(e->finished));
    json_object *s = json_object_new_object();
    json_object_object_add(s, "terminated", t);
    return s;
}

static json_object *container_status(const struct kl_container *c)
{
    json_object *s = json_object_new_object(), *state = json_object_new_object();
    char id[400];

    json_object_object_add(s, "name", json_object_new_string(c->spec->name));
    json_object_object_add(s, "image", json_object_new_string(c->spec->image));
    snprintf(id, sizeof(id), "lab://%s", c->id);
    json_object_object_add(s, "containerID", json_object_new_string(id));
    json_object_object_add(s, "ready", json_object_new_boolean(c->ready));
    json_object_object_add(s, "started", json_object_new_boolean(c->state == KL_RUNNING));
    json_object_object_add(s, "restartCount", json_object_new_int(c->restarts));
    if (c->state == KL_RUNNING) {
        json_object *r = json_object_new_object();
        json_object_object_add(r, "startedAt", timestamp(c->started));
        json_object_object_add(state, "running", r);
    } else if (c->state == KL_TERMINATED && c->end.set) {
        json_object_put(state);
        state = terminated(&c->end);
    } else {
        json_object *w = json_object_new_object();
        json_object_object_add(w, "reason", json_object_new_string(c->reason));
        json_object_object_add(state, "waiting", w);
    }
    json_object_object_add(s, "state", state);
    json_object_object_add(s, "lastState",
                           c->last.set ? terminated(&c->last) : json_object_new_object());
    return s;
}

static json_object *condition(const char *type, bool ok)
{
    json_object *c = json_object_new_object();

    json_object_object_add(c, "type", json_object_new_string(type));
    json_object_object_add(c, "status", json_object_new_string(ok ? "True" : "False"));
    return c;
}

static json_object *pod_json(const struct kl_pod *p)
{
    json_object *pod = json_object_new_object(), *meta = json_object_new_object();
    json_object *spec = json_object_new_object(), *status = json_object_new_object();
    json_object *labels = json_object_new_object(), *ann = json_object_new_object();
    static const char *const policies[] = { "Always", "OnFailure", "Never" };
    bool ready = kl_pod_ready(p);

    json_object_object_add(pod, "apiVersion", json_object_new_string("v1"));
    json_object_object_add(pod, "kind", json_object_new_string("Pod"));
    json_object_object_add(meta, "name", json_object_new_string(p->name));
    json_object_object_add(meta, "namespace", json_object_new_string(
                                                  p->spec.k8s_namespace ? p->spec.k8s_namespace
                                                                        : "default"));
    json_object_object_add(meta, "creationTimestamp", timestamp(p->created));
    for (int i = 0; i < p->spec.nlabels; i++) {
        char key[256];
        const char *eq = strchr(p->spec.labels[i], '=');
        snprintf(key, sizeof(key), "%.*s", (int)(eq - p->spec.labels[i]), p->spec.labels[i]);
        json_object_object_add(labels, key, json_object_new_string(eq + 1));
    }
    json_object_object_add(meta, "labels", labels);
    /* The kubelet's own annotations of a static pod (pkg/kubelet/types). */
    json_object_object_add(ann, "kubernetes.io/config.source", json_object_new_string("file"));
    json_object_object_add(ann, "kubernetes.io/config.hash", json_object_new_string(p->hash));
    json_object_object_add(meta, "annotations", ann);
    if (p->owner[0]) {
        json_object *refs = json_object_new_array(), *ref = json_object_new_object();
        json_object_object_add(ref, "apiVersion", json_object_new_string("apps/v1"));
        json_object_object_add(ref, "kind", json_object_new_string("ReplicaSet"));
        json_object_object_add(ref, "name", json_object_new_string(p->owner));
        json_object_array_add(refs, ref);
        json_object_object_add(meta, "ownerReferences", refs);
    }
    if (p->terminating)
        json_object_object_add(meta, "deletionTimestamp", timestamp(kl_wall_ms()));
    json_object_object_add(pod, "metadata", meta);
    json_object_object_add(spec, "restartPolicy",
                           json_object_new_string(policies[p->spec.restart]));
    json_object_object_add(spec, "terminationGracePeriodSeconds",
                           json_object_new_int(p->spec.grace_seconds));
    json_object_object_add(spec, "hostNetwork", json_object_new_boolean(p->spec.host_network));
    json_object *cs = json_object_new_array(), *specs = json_object_new_array();
    for (int i = 0; i < p->nc; i++) {
        const struct k8s_container *s = p->c[i].spec;
        json_object *one = json_object_new_object();
        json_object_object_add(one, "name", json_object_new_string(s->name));
        json_object_object_add(one, "image", json_object_new_string(s->image));
        if (s->ncommand)
            json_object_object_add(one, "command", strings(s->command, s->ncommand));
        if (s->nargs)
            json_object_object_add(one, "args", strings(s->args, s->nargs));
        json_object_array_add(specs, one);
        json_object_array_add(cs, container_status(&p->c[i]));
    }
    json_object_object_add(spec, "containers", specs);
    json_object_object_add(pod, "spec", spec);
    json_object_object_add(status, "phase", json_object_new_string(p->phase));
    json_object *conds = json_object_new_array();
    json_object_array_add(conds, condition("PodScheduled", true));
    json_object_array_add(conds, condition("Initialized", true));
    json_object_array_add(conds, condition("ContainersReady", ready));
    json_object_array_add(conds, condition("Ready", ready));
    json_object_object_add(status, "conditions", conds);
    json_object_object_add(status, "startTime", timestamp(p->created));
    json_object_object_add(status, "containerStatuses", cs);
    json_object_object_add(pod, "status", status);
    return pod;
}

bool kl_pod_ready(const struct kl_pod *p)
{
    for (int i = 0; i < p->nc; i++)
        if (!p->c[i].ready)
            return false;
    return p->nc > 0;
}

int kl_pod_restarts(const struct kl_pod *p)
{
    int n = 0;

    for (int i = 0; i < p->nc; i++)
        n += p->c[i].restarts;
    return n;
}

void kl_pod_save(struct kubelet *k, struct kl_pod *p)
{
    char path[PATH_MAX], tmp[PATH_MAX];

    (void)k;
    pod_record(p);
    save_container(&p->sandbox);
    for (int i = 0; i < p->nc; i++)
        save_container(&p->c[i]);
    json_object *j = pod_json(p);
    joined(path, sizeof(path), p->dir, "status.json");
    joined(tmp, sizeof(tmp), p->dir, ".status.json");
    if (json_object_to_file_ext(tmp, j, JSON_C_TO_STRING_PRETTY) < 0 || rename(tmp, path) < 0)
        warn_errno(errno, "write %s", path);
    json_object_put(j);
}

/* ---- get and logs: what kubectl shows, read from the kubelet's files ----------- */

struct get_args {
    char root[PATH_MAX];
    const char *name, *output, *container;
};

static void parse_get(struct get_args *a, int argc, char *argv[], int first)
{
    snprintf(a->root, sizeof(a->root), "%s", KL_DEFAULT_ROOT);
    a->name = a->output = a->container = NULL;
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if ((strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0) && i + 1 < argc)
            a->output = argv[++i];
        else if (strncmp(arg, "-o", 2) == 0 && arg[2])
            a->output = arg + 2 + (arg[2] == '=');
        else if (strncmp(arg, "--output=", 9) == 0)
            a->output = arg + 9;
        else if ((strcmp(arg, "-c") == 0 || strcmp(arg, "--container") == 0) && i + 1 < argc)
            a->container = argv[++i];
        else if (strcmp(arg, "--root-dir") == 0 && i + 1 < argc)
            snprintf(a->root, sizeof(a->root), "%s", argv[++i]);
        else if (arg[0] == '-')
            die_msg("unknown flag: %s", arg);
        else if (!a->name)
            a->name = arg;
        else
            die_msg("one name only: %s", arg);
    }
}

static json_object *read_pod(const char *root, const char *name)
{
    char path[PATH_MAX];

    if (path_printf(path, sizeof(path), "%s/pods/%s/status.json", root, name) < 0)
        return NULL;
    return json_object_from_file(path);
}

static json_object *field(json_object *o, const char *key)
{
    json_object *v = NULL;

    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *string_field(json_object *o, const char *key)
{
    json_object *v = field(o, key);

    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* apimachinery's duration.HumanDuration, as kubectl prints an AGE: its
 * rules up to 8 days (then it prints days alone, and years). */
static void human(char *buf, size_t len, long long ms)
{
    long long s = ms / 1000, m = s / 60, h = s / 3600;

    if (s < 0)
        snprintf(buf, len, "0s");
    else if (s < 120)
        snprintf(buf, len, "%llds", s);
    else if (m < 10)
        s % 60 ? snprintf(buf, len, "%lldm%llds", m, s % 60) : snprintf(buf, len, "%lldm", m);
    else if (m < 180)
        snprintf(buf, len, "%lldm", m);
    else if (h < 8)
        m % 60 ? snprintf(buf, len, "%lldh%lldm", h, m % 60) : snprintf(buf, len, "%lldh", h);
    else if (h < 48)
        snprintf(buf, len, "%lldh", h);
    else
        h % 24 ? snprintf(buf, len, "%lldd%lldh", h / 24, h % 24)
               : snprintf(buf, len, "%lldd", h / 24);
}

static long long parse_time(const char *t)
{
    struct tm tm = { 0 };

    if (!t || !strptime(t, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return 0;
    return (long long)timegm(&tm) * 1000;
}

/* kubectl's printPod: READY, STATUS (the phase, or a container's reason,
 * or Terminating), RESTARTS (with how long ago the last one was). */
static void pod_row(json_object *pod, char cols[5][64])
{
    json_object *meta = field(pod, "metadata"), *status = field(pod, "status");
    json_object *cs = field(status, "containerStatuses");
    const char *reason = string_field(status, "phase");
    int total = cs ? (int)json_object_array_length(cs) : 0, ready = 0, restarts = 0;
    long long last_restart = 0;
    bool running = false;

    for (int i = total - 1; i >= 0; i--) {
        json_object *c = json_object_array_get_idx(cs, i), *state = field(c, "state");
        json_object *w = field(state, "waiting"), *t = field(state, "terminated");
        json_object *lt = field(field(c, "lastState"), "terminated");
        restarts += json_object_get_int(field(c, "restartCount"));
        long long fin = lt ? parse_time(string_field(lt, "finishedAt")) : 0;
        if (fin > last_restart)
            last_restart = fin;
        if (w && string_field(w, "reason") && *string_field(w, "reason"))
            reason = string_field(w, "reason");
        else if (t && string_field(t, "reason") && *string_field(t, "reason"))
            reason = string_field(t, "reason");
        else if (json_object_get_boolean(field(c, "ready")) && field(state, "running")) {
            running = true;
            ready++;
        }
    }
    if (reason && strcmp(reason, "Completed") == 0 && running)
        reason = "Running";
    if (field(meta, "deletionTimestamp"))
        reason = "Terminating";
    snprintf(cols[0], 64, "%s", string_field(meta, "name"));
    snprintf(cols[1], 64, "%d/%d", ready, total);
    snprintf(cols[2], 64, "%s", reason ? reason : "Unknown");
    char ago[32];
    human(ago, sizeof(ago), kl_wall_ms() - last_restart);
    if (restarts && last_restart)
        snprintf(cols[3], 64, "%d (%s ago)", restarts, ago);
    else
        snprintf(cols[3], 64, "%d", restarts);
    human(cols[4], 64, kl_wall_ms() - parse_time(string_field(meta, "creationTimestamp")));
}

static int print_table(json_object **pods, int n)
{
    static const char *const head[5] = { "NAME", "READY", "STATUS", "RESTARTS", "AGE" };
    char (*rows)[5][64] = zalloc(((size_t)n + 1) * sizeof(*rows));
    size_t width[5] = { 0 };

    for (int c = 0; c < 5; c++)
        snprintf(rows[0][c], 64, "%s", head[c]);
    for (int i = 0; i < n; i++)
        pod_row(pods[i], rows[i + 1]);
    for (int i = 0; i <= n; i++)
        for (int c = 0; c < 5; c++)
            if (strlen(rows[i][c]) > width[c])
                width[c] = strlen(rows[i][c]);
    for (int i = 0; i <= n; i++) /* kubectl's tabwriter: three spaces between */
        printf("%-*s   %-*s   %-*s   %-*s   %s\n", (int)width[0], rows[i][0], (int)width[1],
               rows[i][1], (int)width[2], rows[i][2], (int)width[3], rows[i][3], rows[i][4]);
    free(rows);
    return 0;
}

static int list_pods(const char *root, json_object **pods, int max)
{
    char dir[PATH_MAX];
    struct dirent **names;
    int n = 0;

    if (path_printf(dir, sizeof(dir), "%s/pods", root) < 0)
        return 0;
    int found = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < found; i++) {
        json_object *p = names[i]->d_name[0] != '.' && n < max
                             ? read_pod(root, names[i]->d_name)
                             : NULL;
        if (p)
            pods[n++] = p;
        free(names[i]);
    }
    if (found >= 0)
        free(names);
    return n;
}

int kl_get_command(int argc, char *argv[])
{
    struct get_args a = { 0 };
    json_object *pods[KL_MAX_PODS] = { 0 };
    int n;

    if (argc < 2 || (strcmp(argv[1], "pods") && strcmp(argv[1], "pod") && strcmp(argv[1], "po")))
        die_msg("get: the lab knows one resource type: pods (get pods, get pod NAME)");
    parse_get(&a, argc, argv, 2);
    if (a.output && strcmp(a.output, "json") && strcmp(a.output, "name"))
        die_msg("get: output format %s: the lab prints json, name or the table", a.output);
    if (a.name) {
        if (!(pods[0] = read_pod(a.root, a.name)))
            die_msg("Error from server (NotFound): pods \"%s\" not found", a.name);
        n = 1;
    } else {
        n = list_pods(a.root, pods, KL_MAX_PODS);
    }
    if (a.output && strcmp(a.output, "name") == 0) {
        for (int i = 0; i < n; i++)
            printf("pod/%s\n", string_field(field(pods[i], "metadata"), "name"));
    } else if (a.output) {
        json_object *out = pods[0];
        if (!a.name) { /* kubectl's List of the items */
            out = json_object_new_object();
            json_object *items = json_object_new_array();
            json_object_object_add(out, "apiVersion", json_object_new_string("v1"));
            json_object_object_add(out, "kind", json_object_new_string("List"));
            for (int i = 0; i < n; i++)
                json_object_array_add(items, json_object_get(pods[i]));
            json_object_object_add(out, "items", items);
        }
        printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY));
        if (!a.name)
            json_object_put(out);
    } else if (n == 0) {
        fprintf(stderr, "No resources found in default namespace.\n");
    } else {
        print_table(pods, n);
    }
    for (int i = 0; i < n; i++)
        json_object_put(pods[i]);
    return 0;
}

int kl_logs_command(int argc, char *argv[])
{
    struct get_args a = { 0 };
    char path[PATH_MAX], buf[65536];
    ssize_t got;

    parse_get(&a, argc, argv, 1);
    if (!a.name)
        die_msg("logs: a pod's name is needed: logs NAME [-c CONTAINER]");
    json_object *pod = read_pod(a.root, a.name);
    if (!pod)
        die_msg("Error from server (NotFound): pods \"%s\" not found", a.name);
    json_object *specs = field(field(pod, "spec"), "containers");
    int n = specs ? (int)json_object_array_length(specs) : 0;
    const char *c = a.container;
    if (!c && n == 1)
        c = string_field(json_object_array_get_idx(specs, 0), "name");
    if (!c) {
        char names[1024] = "";
        for (int i = 0; i < n; i++)
            snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? " " : "",
                     string_field(json_object_array_get_idx(specs, i), "name"));
        die_msg("a container name must be specified for pod %s, choose one of: [%s]", a.name,
                names);
    }
    bool known = false;
    for (int i = 0; i < n; i++)
        known = known || strcmp(string_field(json_object_array_get_idx(specs, i), "name"), c) == 0;
    if (!known)
        die_msg("container %s is not valid for pod %s", c, a.name);
    if (path_printf(path, sizeof(path), "%s/pods/%s/%s/log", a.root, a.name, c) < 0)
        die_msg("logs: path too long");
    json_object_put(pod);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* not started yet: nothing written */
    while ((got = read(fd, buf, sizeof(buf))) > 0)
        if (fwrite(buf, 1, (size_t)got, stdout) != (size_t)got)
            break;
    close(fd);
    return 0;
}
