/*
 * points.c - the mount points a volume needs and the image lacks, in the
 * steps before the container has a layer of its own (08-10).
 *
 * A volume's mount point is made where it is missing (step 08's block).
 * From step 11 on it is made in the container's own layer, which goes when
 * the container does; before, it can only be made in the rootfs itself,
 * the image every later container starts from. Docker never changes an
 * image (runc makes a missing mount point inside the container's root, its
 * own layer: pathrs.MkdirAllInRoot, libcontainer/rootfs_linux.go): so the
 * lab plans, before the child exists, which of the target's components are
 * missing, writes them down in
 * LAB_RUN_DIR/points/<pid>, and removes them, deepest first, when the
 * container has ended; a later run removes those of a lab process that was
 * killed. Only what is still empty is removed, and only what no other
 * running container planned too.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab.h"

#define POINTS_DIR LAB_RUN_DIR "/points"

static void add(struct lab_points *p, const char *path)
{
    size_t len = strlen(path);

    if (p->n < LAB_MAX_POINTS && len < sizeof(p->paths[0]))
        memcpy(p->paths[p->n++], path, len + 1);
}

/* The components of one target missing under root, outermost first. */
static void plan_one(struct lab_points *p, const char *root, const char *target)
{
    char path[PATH_MAX], copy[PATH_MAX];
    struct stat st;
    bool missing = false;

    snprintf(copy, sizeof(copy), "%s", target);
    snprintf(path, sizeof(path), "%s", root);
    for (char *save = NULL, *part = strtok_r(copy, "/", &save); part;
         part = strtok_r(NULL, "/", &save)) {
        if (strcmp(part, ".") == 0 || strcmp(part, "..") == 0)
            return; /* step 08 resolves these beneath the root: not planned */
        if (strlen(path) + strlen(part) + 2 > sizeof(path))
            return;
        strcat(strcat(path, "/"), part);
        if (!missing && lstat(path, &st) == 0) {
            if (!S_ISDIR(st.st_mode))
                return; /* a symlink, a file: nothing made here */
            continue;
        }
        missing = true;
        add(p, path);
    }
}

static int record_path(char *buf, size_t len, pid_t pid)
{
    return snprintf(buf, len, "%s/%d", POINTS_DIR, (int)pid) >= (int)len ? -ENAMETOOLONG : 0;
}

int points_plan(struct lab_points *p, const char *root, const struct lab_opts *o)
{
    char file[PATH_MAX];
    FILE *f;

    memset(p, 0, sizeof(*p));
    for (int i = 0; i < o->nvolumes; i++)
        plan_one(p, root, o->volumes[i].container);
    if (p->n == 0)
        return 0;
    if ((mkdir(LAB_RUN_DIR, 0755) < 0 && errno != EEXIST) ||
        (mkdir(POINTS_DIR, 0700) < 0 && errno != EEXIST))
        return -errno;
    if (record_path(file, sizeof(file), getpid()) < 0 || !(f = fopen(file, "we")))
        return -errno;
    fprintf(f, "%llu\n", record_start_time(getpid()));
    for (int i = 0; i < p->n; i++)
        fprintf(f, "%s\n", p->paths[i]);
    if (fclose(f) != 0)
        return -errno;
    p->recorded = true;
    return 0;
}

/* Reads the record of pid into p; its lab process's start time too. */
static int read_record(const char *file, struct lab_points *p, unsigned long long *start)
{
    char line[PATH_MAX + 2];
    FILE *f = fopen(file, "re");

    memset(p, 0, sizeof(*p));
    if (!f)
        return -errno;
    if (!fgets(line, sizeof(line), f) || sscanf(line, "%llu", start) != 1) {
        fclose(f);
        return -EINVAL;
    }
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '/')
            add(p, line);
    }
    fclose(f);
    return 0;
}

/* Whether a running lab process other than `self` planned path too. */
static bool planned_by_another(const char *path, pid_t self)
{
    DIR *d = opendir(POINTS_DIR);
    struct dirent *e;
    bool found = false;

    while (d && !found && (e = readdir(d))) {
        char file[PATH_MAX];
        struct lab_points other;
        unsigned long long start;
        pid_t pid = parse_pid(e->d_name, "");

        if (pid <= 0 || pid == self || record_path(file, sizeof(file), pid) < 0 ||
            read_record(file, &other, &start) < 0 || !record_alive(pid, start))
            continue;
        for (int i = 0; i < other.n && !found; i++)
            found = strcmp(other.paths[i], path) == 0;
    }
    if (d)
        closedir(d);
    return found;
}

/* Deepest first; an empty directory, or the empty file a file's volume
 * was bound on. Anything else was not, or is no longer, only ours. */
static void remove_paths(const struct lab_points *p, pid_t owner)
{
    struct stat st;

    for (int i = p->n - 1; i >= 0; i--) {
        const char *path = p->paths[i];

        if (lstat(path, &st) < 0 || planned_by_another(path, owner))
            continue;
        if (S_ISDIR(st.st_mode))
            (void)rmdir(path);
        else if (S_ISREG(st.st_mode) && st.st_size == 0)
            (void)unlink(path);
    }
}

void points_remove(struct lab_points *p)
{
    char file[PATH_MAX];

    if (!p->recorded)
        return;
    remove_paths(p, getpid());
    if (record_path(file, sizeof(file), getpid()) == 0)
        (void)unlink(file);
    p->recorded = false;
    (void)rmdir(POINTS_DIR); /* the last one out: nothing of ours is left */
    (void)rmdir(LAB_RUN_DIR);
}

int points_sweep(int *removed)
{
    DIR *d = opendir(POINTS_DIR);
    struct dirent *e;

    *removed = 0;
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    while ((e = readdir(d))) {
        char file[PATH_MAX];
        struct lab_points dead;
        unsigned long long start;
        pid_t pid = parse_pid(e->d_name, "");

        if (pid <= 0 || pid == getpid() || record_path(file, sizeof(file), pid) < 0 ||
            read_record(file, &dead, &start) < 0 || record_alive(pid, start))
            continue;
        remove_paths(&dead, pid);
        if (unlink(file) == 0)
            (*removed)++;
    }
    closedir(d);
    (void)rmdir(POINTS_DIR);
    return 0;
}
